i.id, i.county_code, i.source_project, i.source_ref, i.transferred_from,
       (i.area_m2 * 100)::bigint as registered_area_hundredths,
       (i.paddy_m2 * 100)::bigint as registered_paddy_hundredths,
       (i.capacity_kg * 100)::bigint as registered_capacity_hundredths,
       (b.area_m2 * 100)::bigint as available_area_hundredths,
       (b.paddy_m2 * 100)::bigint as available_paddy_hundredths,
       (b.capacity_kg * 100)::bigint as available_capacity_hundredths,
       i.registered_at, b.version
