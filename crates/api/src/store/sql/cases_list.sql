-- A page of the queue: green first, then nearest deadline, then id (the cursor's order).
--  $1 counties the caller serves (null: all)      $2 county code or alias asked for
--  $3 stage code                                  $4 green only / not green
--  $5 overdue or not, at $6                       $7 ledger status: open, due_soon, overdue
--  $8 today (bureau date)                         $9 last day that is still "due soon"
-- $10 text in the title or project name, LIKE-escaped
-- $11..$13 the cursor: (green group, deadline, id) of the last row of the previous page
-- $14 the page size plus one (the extra row says there is a next page)
select c.id, c.project_id, p.name as project_name, p.on_key_list, c.county_code, c.title,
       c.stage, c.returns_to, c.stage_entered_at, c.deadline_at, c.green_grant, c.green, c.facts,
       c.declarations, c.phase_kind, c.phase_number, c.phase_name, c.created_at, c.updated_at,
       c.version
  from cases c
  join projects p on p.id = c.project_id
  left join ledger_items li on li.case_id = c.id and li.cleared_at is null
 where ($1::text[] is null or c.county_code = any($1))
   and ($2::text is null or exists (select 1 from counties k
          where k.code = c.county_code and ($2 = k.code or $2 = any(k.aliases))))
   and ($3::text is null or c.stage = $3)
   and ($4::bool is null or c.green = $4)
   and ($5::bool is null or (c.deadline_at is not null and c.deadline_at <= $6) = $5)
   and ($7::text is null
        or ($7 = 'overdue' and li.due_on < $8)
        or ($7 = 'due_soon' and li.due_on >= $8 and li.due_on <= $9)
        or ($7 = 'open' and li.due_on > $9))
   and ($10::text is null or c.title ilike '%' || $10 || '%' or p.name ilike '%' || $10 || '%')
   and ($11::int is null
        or (case when c.green then 0 else 1 end, coalesce(c.deadline_at, 'infinity'::timestamptz), c.id)
           > ($11, coalesce($12, 'infinity'::timestamptz), $13))
 order by case when c.green then 0 else 1 end, c.deadline_at asc nulls last, c.id
 limit $14
