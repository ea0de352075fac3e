update supply_parts
   set handed_over_on = $2,
       certificate_number = $3,
       certificate_issued_on = $4,
       started_on = $5,
       developed_mu = $6::bigint::numeric / 100,
       invested_wan_yuan = $7::bigint::numeric / 100,
       halted_since = $8,
       completed_on = $9,
       achieved_investment_intensity = $10::bigint::numeric / 100,
       achieved_floor_area_ratio = $11::bigint::numeric / 100,
       achieved_tax_per_mu = $12::bigint::numeric / 100,
       achieved_energy_per_output = $13::bigint::numeric / 100,
       achieved_land_use_standard_met = $14,
       updated_at = $15,
       version = version + 1
 where id = $1
returning version
