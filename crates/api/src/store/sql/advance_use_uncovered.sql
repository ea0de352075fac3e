-- For each approved advance-use request of project $1, the part of its parcels outside every
-- parcel of the project's live cases (not rejected or withdrawn), as WKB; none when covered.
with covering as (
    select st_unaryunion(st_collect(p.geom)) as geom
      from parcels p
      join cases c on c.id = p.case_id
     where c.project_id = $1 and c.stage not in ('rejected', 'withdrawn')
)
select a.id as request_id,
       case when st_isempty(d.geom) then null else st_asbinary(d.geom) end as uncovered
  from advance_use_requests a
 cross join covering cv
 cross join lateral (select case when cv.geom is null then a.geom else st_difference(a.geom, cv.geom) end as geom) d
 where a.project_id = $1 and a.status = 'approved'
 order by a.requested_at, a.id
