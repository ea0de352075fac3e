-- The planner's queue: cases at a stage where a check matters (accepted, pre-review,
-- conversion), with parcels, whose latest check is missing, stale or not yet confirmed. Green
-- channel first, then the nearest deadline, as every queue of the service sorts.
-- $1: the caller's counties (null: every county); $2: how many.
select c.id, c.title, p.name as project_name, c.county_code, k.name as county_name,
       c.stage, c.returns_to, c.stage_entered_at, c.deadline_at, p.on_key_list, c.green_grant,
       lc.id as check_id, lc.result as check_result, lc.stale as check_stale,
       lc.confirmed_at as check_confirmed_at,
       pa.parcels, pa.area_m2
  from cases c
  join projects p on p.id = c.project_id
  join counties k on k.code = c.county_code
  join lateral (select count(*) as parcels, sum(area_m2) as area_m2
                  from parcels where case_id = c.id) pa on pa.parcels > 0
  left join lateral (select ch.id, ch.result, ch.stale, ch.confirmed_at
                       from checks ch where ch.case_id = c.id
                      order by ch.run_at desc, ch.id desc limit 1) lc on true
 where c.stage in ('accepted', 'pre_review', 'conversion')
   and ($1::text[] is null or c.county_code = any($1))
   and (lc.id is null or lc.stale or lc.confirmed_at is null)
 order by case when c.green then 0 else 1 end, c.deadline_at asc nulls last, c.id
 limit $2
