-- The figures a request for advance use is judged against, as unions (areas are measured by
-- the caller, ellipsoidally): $1 the project, $2 the new request's parcels as WKB (none to
-- measure only what stands).
--   requested:     the new request's parcels;
--   used:          the parcels of the project's requests that are not refused;
--   with_request:  both;
--   pre_reviewed:  the parcels of the project's live cases that passed pre-review: the
--                  pre-review opinion is recorded and the case is at pre_review or later (a case
--                  in correction by the stage it left). Rejected and withdrawn cases are not live.
with new_request as (
    select st_unaryunion(st_collect(st_geomfromwkb(w, 4490))) as geom
      from unnest($2::bytea[]) as w
), used as (
    select st_unaryunion(st_collect(geom)) as geom
      from advance_use_requests
     where project_id = $1 and status <> 'refused'
), pre_reviewed as (
    select st_unaryunion(st_collect(p.geom)) as geom
      from parcels p
      join cases c on c.id = p.case_id
     where c.project_id = $1
       and coalesce(c.returns_to, c.stage) in ('pre_review', 'conversion', 'supply', 'registration', 'completed')
       and btrim(coalesce(c.facts ->> 'pre_review_opinion', '')) <> ''
), unions as (
    select n.geom as requested, u.geom as used,
           st_unaryunion(st_collect(array_remove(array[u.geom, n.geom], null))) as with_request,
           r.geom as pre_reviewed
      from new_request n, used u, pre_reviewed r
)
-- an empty union is no union: nothing to measure
select case when st_isempty(requested) then null else st_asbinary(requested) end as requested,
       case when st_isempty(used) then null else st_asbinary(used) end as used,
       case when st_isempty(with_request) then null else st_asbinary(with_request) end as with_request,
       case when st_isempty(pre_reviewed) then null else st_asbinary(pre_reviewed) end as pre_reviewed
  from unions
