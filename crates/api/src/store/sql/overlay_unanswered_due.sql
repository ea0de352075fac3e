-- Every overlay query still unanswered whose due day is $1 (the bureau's today) or earlier, of a
-- case that is still live, with the case and project an alert names and the alert kinds already
-- raised about the query (the sweep raises each kind once).
select q.id, q.case_id, q.check_id, q.sent_on, q.due_on, q.due_provisional, q.opened_by,
       q.opened_role, q.opened_at,
       null::text as document_number, null::date as answered_on, null::text as conclusion,
       null::text as note, null::uuid as answered_by, null::timestamptz as answered_at,
       c.stage, c.county_code, c.title, c.officer_id, p.id as project_id, p.name as project_name,
       p.responsible_leader,
       array(select a.kind from alerts a where a.overlay_query_id = q.id) as alerted
  from case_overlay_queries q
  join cases c on c.id = q.case_id
  join projects p on p.id = c.project_id
 where q.due_on <= $1
   and not exists (select 1 from case_overlay_answers a where a.query_id = q.id)
   and c.stage not in ('rejected', 'withdrawn', 'completed')
 order by q.due_on, q.id
