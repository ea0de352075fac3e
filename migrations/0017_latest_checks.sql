-- The latest check of each case: the newest run, ties broken by the newer id. One definition
-- for every reader (a case's view, the case lists, the quota waiting list) instead of a
-- `distinct on` repeated in each. `security_invoker` keeps the county scope: the view reads
-- `checks` with the caller's rights, so row-level security applies as it does to the table.
create view latest_checks with (security_invoker = true) as
select distinct on (case_id)
       case_id, id, run_at, result, stale, confirmed_at, summary, quota_need_mu
  from checks
 order by case_id, run_at desc, id desc;

grant select on latest_checks to landuse_app;
