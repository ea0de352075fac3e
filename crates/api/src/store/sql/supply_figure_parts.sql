-- Every supply part the figures count, with its case's project (交地即交证 is about key projects).
-- Follows the part's columns (supply_part_columns.sql).
     , j.id as project_id, j.name as project_name, j.level as project_level, j.on_key_list,
       j.responsible_leader, c.stage as case_stage, c.title as case_title, c.officer_id
  from supply_parts p
  join cases c on c.id = p.case_id
  join projects j on j.id = c.project_id
 where $1::text[] is null or c.county_code = any ($1)
 order by c.county_code, p.case_id, p.seq
