-- Every supply part the figures count, with its case's project (交地即交证 is about key projects).
select p.id, p.case_id, c.county_code, p.seq, p.method, p.document_number, p.decided_on,
       (p.price_wan_yuan * 100)::bigint as price_hundredths,
       st_asbinary(p.geom) as wkb, p.area_m2, (p.area_mu * 100)::bigint as area_hundredths,
       p.source, p.industrial, p.agreed_handover_on, p.agreed_start_on, p.agreed_completion_on,
       (p.agreed_investment_wan_yuan * 100)::bigint as agreed_investment_hundredths,
       (p.agreed_investment_intensity * 100)::bigint as agreed_investment_intensity_hundredths,
       (p.agreed_floor_area_ratio * 100)::bigint as agreed_floor_area_ratio_hundredths,
       (p.agreed_tax_per_mu * 100)::bigint as agreed_tax_per_mu_hundredths,
       (p.agreed_energy_per_output * 100)::bigint as agreed_energy_per_output_hundredths,
       p.agreed_land_use_standard_met,
       p.handed_over_on, p.certificate_number, p.certificate_issued_on, p.started_on,
       (p.developed_mu * 100)::bigint as developed_hundredths,
       (p.invested_wan_yuan * 100)::bigint as invested_hundredths,
       p.halted_since, p.completed_on,
       (p.achieved_investment_intensity * 100)::bigint as achieved_investment_intensity_hundredths,
       (p.achieved_floor_area_ratio * 100)::bigint as achieved_floor_area_ratio_hundredths,
       (p.achieved_tax_per_mu * 100)::bigint as achieved_tax_per_mu_hundredths,
       (p.achieved_energy_per_output * 100)::bigint as achieved_energy_per_output_hundredths,
       p.achieved_land_use_standard_met,
       p.idle_status, p.recorded_at, p.updated_at, p.version,
       j.id as project_id, j.name as project_name, j.level as project_level, j.on_key_list,
       j.responsible_leader, c.stage as case_stage, c.title as case_title, c.officer_id
  from supply_parts p
  join cases c on c.id = p.case_id
  join projects j on j.id = c.project_id
 where $1::text[] is null or c.county_code = any ($1)
 order by c.county_code, p.case_id, p.seq
