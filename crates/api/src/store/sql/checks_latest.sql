-- The latest check of each case in $1: the newest run, ties broken by the newer id. Without its
-- report, which only the check's own page needs.
select distinct on (case_id)
       case_id, id, run_at, result, stale, confirmed_at, summary,
       (quota_need_mu * 100)::bigint as need_hundredths
  from checks
 where case_id = any($1)
 order by case_id, run_at desc, id desc
