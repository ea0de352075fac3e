-- Every case of project $1 with its phase and its parcels' area (the sum of their ellipsoidal
-- areas, as the case's view and the review desk give it): phases in order, then the rest by age.
select c.id, c.title, c.stage, c.phase_kind, c.phase_number, c.phase_name,
       coalesce((select sum(p.area_m2) from parcels p where p.case_id = c.id), 0)::float8 as area_m2
  from cases c
 where c.project_id = $1
 order by c.phase_kind nulls last, c.phase_number nulls last, c.created_at, c.id
