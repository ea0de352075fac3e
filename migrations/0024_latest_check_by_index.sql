-- The latest check of a case, found by one index probe instead of reading all its checks.
--
-- `latest_checks` (0017) was a `distinct on (case_id)` over every check, ordered by a key the
-- index did not cover (`id desc` breaks ties): a filter on a few cases still read and sorted
-- every check of those cases. In the benchmark, whose cases carry about 180 checks each, the
-- two statements of a case list that read it took 8 ms of the list's 20. Now the index holds the
-- whole order, and the view takes each case's first row of it (`limit 1` in a lateral subquery),
-- keyed by the case's own id so that a filter on `case_id` narrows the cases before any check is
-- read. Same columns, same rows; `security_invoker` as before, so row-level security applies to
-- `cases` and `checks` as the caller's.
create index checks_latest on checks (case_id, run_at desc, id desc);
drop index checks_case;

create or replace view latest_checks with (security_invoker = true) as
select c.id as case_id, k.id, k.run_at, k.result, k.stale, k.confirmed_at, k.summary, k.quota_need_mu
  from cases c
 cross join lateral (select id, run_at, result, stale, confirmed_at, summary, quota_need_mu
                       from checks
                      where checks.case_id = c.id
                      order by run_at desc, id desc
                      limit 1) k;
