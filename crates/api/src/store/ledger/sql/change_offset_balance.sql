-- Moves an indicator's available amounts by the signed hundredths $2, $3, $4; the named check
-- constraints (offset_balances_*_not_negative) refuse a result below zero.
update offset_balances
   set area_m2 = area_m2 + $2::bigint::numeric / 100,
       paddy_m2 = paddy_m2 + $3::bigint::numeric / 100,
       capacity_kg = capacity_kg + $4::bigint::numeric / 100,
       version = version + 1
 where indicator_id = $1
