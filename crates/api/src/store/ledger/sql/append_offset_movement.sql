insert into offset_movements (indicator_id, kind, case_id, transfer_id, area_m2, paddy_m2, capacity_kg,
                              actor_id, reason, at)
values ($1, $2, $3, $4, $5::bigint::numeric / 100, $6::bigint::numeric / 100, $7::bigint::numeric / 100,
        $8, $9, $10)
