-- The cases waiting for quota: the latest request in force, nothing held, the case at a stage
-- in $3 (those that may still ask). Limited to year $1 and counties $2 when given; key projects
-- first, then by the time of the request.
with latest as (
    select distinct on (case_id) case_id, year, mu, cancelled, requested_at
      from quota_requests order by case_id, id desc),
held as (
    select case_id, sum(delta_mu) as delta from quota_movements
     where case_id is not null group by case_id),
checked as (
    select distinct on (case_id) case_id, stale, confirmed_at, quota_need_mu
      from checks order by case_id, run_at desc, id desc)
select c.id as case_id, c.title, c.county_code, p.id as project_id, p.name as project_name,
       p.on_key_list as key_project, c.stage, l.year,
       (l.mu * 100)::bigint as mu_hundredths,
       l.requested_at,
       coalesce((a.balance_mu * 100)::bigint, 0) as county_balance_hundredths,
       case when k.confirmed_at is not null and not k.stale
            then (k.quota_need_mu * 100)::bigint end as needed_hundredths
  from latest l
  join cases c on c.id = l.case_id
  join projects p on p.id = c.project_id
  left join held h on h.case_id = c.id
  left join checked k on k.case_id = c.id
  left join quota_accounts a on a.holder = c.county_code and a.year = l.year
 where not l.cancelled and coalesce(h.delta, 0) = 0
   and c.stage = any($3)
   and ($1::int is null or l.year = $1)
   and ($2::text[] is null or c.county_code = any($2))
 order by p.on_key_list desc, l.requested_at, c.id
