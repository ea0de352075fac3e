-- The control features of the check's layer versions within a box around the parcels, clipped
-- to the box and simplified to what a printed map shows, for the report's map.
-- $1: the versions; $2..$5: west, south, east, north (EPSG:4490); $6: tolerance in degrees;
-- $7: the most features drawn.
with box as (select st_makeenvelope($2, $3, $4, $5, 4490) as env)
select v.kind,
       st_asbinary(case when geometrytype(f.geom) = 'POINT' then f.geom
                        else st_simplifypreservetopology(st_clipbybox2d(f.geom, box.env), $6) end) as wkb
  from layer_features f
  join layer_versions v on v.id = f.version_id
  cross join box
 where f.version_id = any($1)
   and f.geom && box.env
 order by v.kind, f.id
 limit $7
