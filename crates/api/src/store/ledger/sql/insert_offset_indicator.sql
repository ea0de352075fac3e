with indicator as (
    insert into offset_indicators (id, county_code, source_project, source_ref, transferred_from,
                                   area_m2, paddy_m2, capacity_kg, registered_at, registered_by)
    values ($1, $2, $3, $4, $5, $6::bigint::numeric / 100, $7::bigint::numeric / 100,
            $8::bigint::numeric / 100, $9, $10)
    returning id, county_code, area_m2, paddy_m2, capacity_kg)
insert into offset_balances (indicator_id, county_code, area_m2, paddy_m2, capacity_kg)
select id, county_code, area_m2, paddy_m2, capacity_kg from indicator
