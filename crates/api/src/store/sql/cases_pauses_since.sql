-- The clock's pauses of each case in $1 that reach past its instant in $2 (the arrays pair up),
-- in the order they began.
select p.case_id, p.paused_at, p.resumed_at
  from case_pauses p
  join unnest($1::uuid[], $2::timestamptz[]) as s (case_id, since) on s.case_id = p.case_id
 where p.resumed_at is null or p.resumed_at > s.since
 order by p.case_id, p.paused_at
