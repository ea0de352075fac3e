a.holder, a.year,
       (a.granted_mu * 100)::bigint as granted_hundredths,
       (a.balance_mu * 100)::bigint as balance_hundredths,
       coalesce((select (-sum(m.delta_mu) * 100)::bigint
                   from quota_movements m
                  where m.holder = a.holder and m.year = a.year and m.kind in ('allocate', 'release')), 0)
           as allocated_hundredths,
       a.updated_at, a.version
