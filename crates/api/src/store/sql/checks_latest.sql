-- The latest check of each case in $1 (the view `latest_checks` says which is the latest).
-- Without its report, which only the check's own page needs.
select case_id, id, run_at, result, stale, confirmed_at, summary,
       (quota_need_mu * 100)::bigint as need_hundredths
  from latest_checks
 where case_id = any($1)
