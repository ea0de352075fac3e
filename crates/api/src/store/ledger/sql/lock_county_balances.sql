-- Every balance row of county $1, locked in registration order: concurrent locks in one county
-- take turns, and each sees what the previous one left.
select b.indicator_id,
       (b.area_m2 * 100)::bigint as area_hundredths,
       (b.paddy_m2 * 100)::bigint as paddy_hundredths,
       (b.capacity_kg * 100)::bigint as capacity_hundredths
  from offset_balances b join offset_indicators i on i.id = b.indicator_id
 where b.county_code = $1
 order by i.registered_at, i.id
   for update of b
