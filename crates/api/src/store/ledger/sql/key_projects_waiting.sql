-- Key-project cases of county $1 whose request for year $2 is in force and unmet, other than
-- case $3, among the cases still at a stage in $4 (those that may ask for quota).
with latest as (
    select distinct on (r.case_id) r.case_id, r.year, r.cancelled
      from quota_requests r
      join cases c on c.id = r.case_id
     where c.county_code = $1
     order by r.case_id, r.id desc)
select c.id
  from latest l
  join cases c on c.id = l.case_id
  join projects p on p.id = c.project_id
 where not l.cancelled and l.year = $2 and p.on_key_list and c.id <> $3
   and c.stage = any($4)
   and not exists (select 1 from quota_movements m
                    where m.case_id = c.id and m.kind in ('allocate', 'release')
                   having sum(m.delta_mu) <> 0)
 order by c.id
