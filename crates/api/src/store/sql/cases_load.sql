-- One case with its project's name and list membership (the green channel follows it).
select c.id, c.project_id, p.name as project_name, p.on_key_list, c.county_code, c.title,
       c.stage, c.returns_to, c.stage_entered_at, c.deadline_at, c.green_grant, c.green, c.facts,
       c.declarations, c.phase_kind, c.phase_number, c.phase_name, c.created_at, c.updated_at,
       c.version
  from cases c join projects p on p.id = c.project_id
 where c.id = $1
