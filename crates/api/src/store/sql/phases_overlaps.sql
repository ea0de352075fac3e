-- The overlap of case $1's parcels with the parcels of each other live case (neither rejected
-- nor withdrawn) of project $2 that they meet, as WKB (SRID 4490 implied); the caller measures
-- it on the ellipsoid and applies the sliver rule. Parcels that only touch come back with an
-- empty overlap (no polygon part), which measures 0 m².
with mine as (
    select st_union(geom) as g from parcels where case_id = $1
), others as (
    select c.id as case_id, st_union(p.geom) as g
      from cases c
      join parcels p on p.case_id = c.id
      cross join mine
     where c.project_id = $2 and c.id <> $1 and c.stage not in ('rejected', 'withdrawn')
       and st_intersects(p.geom, mine.g)
     group by c.id
)
select o.case_id as other_case_id,
       st_asbinary(st_multi(st_collectionextract(st_intersection(m.g, o.g), 3))) as overlap_wkb
  from mine m cross join others o
 order by o.case_id
