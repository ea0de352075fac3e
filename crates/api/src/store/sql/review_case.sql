-- One case with what its page's header shows. $1: the case.
select c.id, c.title, p.name as project_name, c.county_code, k.name as county_name,
       c.stage, c.returns_to, c.stage_entered_at, c.deadline_at, p.on_key_list, c.green_grant,
       c.version
  from cases c
  join projects p on p.id = c.project_id
  join counties k on k.code = c.county_code
 where c.id = $1
