-- The ledger across the counties in $1 (null: all), or the county $2 names (code or alias),
-- open items only unless $3; green cases first, then the nearest due day.
select li.id, li.case_id, li.county_code, li.stage, li.opened_at, li.due_on, li.cleared_at, li.outcome
  from ledger_items li join cases c on c.id = li.case_id
 where ($1::text[] is null or li.county_code = any($1))
   and ($2::text is null or exists (select 1 from counties k
          where k.code = li.county_code and ($2 = k.code or $2 = any(k.aliases))))
   and ($3 or li.cleared_at is null)
 order by c.green desc, li.due_on, li.id
