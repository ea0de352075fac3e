id, indicator_id, kind, case_id, transfer_id,
       (area_m2 * 100)::bigint as area_hundredths,
       (paddy_m2 * 100)::bigint as paddy_hundredths,
       (capacity_kg * 100)::bigint as capacity_hundredths,
       actor_id, reason, at
