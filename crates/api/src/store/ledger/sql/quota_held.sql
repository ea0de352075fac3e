-- What a case holds: allocations less releases and consumptions, per account. At most one
-- account is non-zero (a case is allocated from its county's account of one year).
select holder, year,
       ((-sum(delta_mu) - coalesce(sum(consumed_mu), 0)) * 100)::bigint as held_hundredths
  from quota_movements
 where case_id = $1 and kind in ('allocate', 'release', 'consume')
 group by holder, year
having -sum(delta_mu) - coalesce(sum(consumed_mu), 0) <> 0
 order by year desc
 limit 1
