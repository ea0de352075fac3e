-- What each case in $1 holds and has consumed of the construction quota, in hundredths of a mu:
-- held is allocated less released and consumed; consumed is what its approval used.
select case_id,
       ((-sum(delta_mu) - coalesce(sum(consumed_mu), 0)) * 100)::bigint as held_hundredths,
       (coalesce(sum(consumed_mu), 0) * 100)::bigint as consumed_hundredths
  from quota_movements
 where case_id = any($1) and kind in ('allocate', 'release', 'consume')
 group by case_id
