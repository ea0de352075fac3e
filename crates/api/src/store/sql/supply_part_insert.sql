insert into supply_parts (
    id, case_id, seq, method, document_number, decided_on, price_wan_yuan, geom, area_m2, area_mu,
    source, industrial, agreed_handover_on, agreed_start_on, agreed_completion_on,
    agreed_investment_wan_yuan, agreed_investment_intensity, agreed_floor_area_ratio,
    agreed_tax_per_mu, agreed_energy_per_output, agreed_land_use_standard_met,
    recorded_at, updated_at)
values ($1, $2, (select coalesce(max(seq), 0) + 1 from supply_parts where case_id = $2), $3, $4, $5,
        $6::bigint::numeric / 100, st_geomfromwkb($7, 4490), $8, $9::bigint::numeric / 100,
        $10, $11, $12, $13, $14,
        $15::bigint::numeric / 100, $16::bigint::numeric / 100, $17::bigint::numeric / 100,
        $18::bigint::numeric / 100, $19::bigint::numeric / 100, $20,
        $21, $21)
