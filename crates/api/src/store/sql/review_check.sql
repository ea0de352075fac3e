-- One check of a case (the latest when $2 is null), with the names of who ran and confirmed
-- it. $1: the case; $2: the check or null.
select ch.id, ch.run_at, ch.result, ch.report, ch.stale, ch.confirmed_at,
       ru.name as run_by, cu.name as confirmed_by,
       ch.id = (select id from checks where case_id = $1 order by run_at desc, id desc limit 1)
         as is_latest
  from checks ch
  left join users ru on ru.id = ch.run_by
  left join users cu on cu.id = ch.confirmed_by
 where ch.case_id = $1 and ($2::uuid is null or ch.id = $2)
 order by ch.run_at desc, ch.id desc
 limit 1
