-- Per parcel and feature: geohazard sites (points or polygons) within the radius ($3 metres,
-- geodesic), with the part of the parcel inside the buffered site. The bounding-box pre-filter
-- widens the parcel by at least the radius in degrees so the GiST index can be used.
with parcels as (
    select (p.ord - 1)::int4 as parcel, st_geomfromwkb(p.wkb, 4490) as geom
    from unnest($1::bytea[]) with ordinality as p (wkb, ord)
),
near as (
    select pa.parcel, pa.geom as parcel_geom, f.*
    from parcels pa
    join layer_features f
      on f.geom && st_expand(
             pa.geom,
             $3 / (111000.0 * greatest(cos(radians(greatest(abs(st_ymin(pa.geom)), abs(st_ymax(pa.geom))))), 0.01)) * 1.1,
             $3 / 110000.0 * 1.1)
     and st_dwithin(f.geom::geography, pa.geom::geography, $3)
    where f.version_id = any($2::uuid[])
),
measured as (
    select n.parcel, n.id, n.version_id, n.source_id, n.attributes,
           st_distance(n.geom::geography, n.parcel_geom::geography) as distance_m,
           st_collectionextract(
               -- the geography buffer comes back in EPSG:4326: the SRID is set again explicitly
               st_intersection(n.parcel_geom,
                               st_setsrid(st_buffer(n.geom::geography, $3, 'quad_segs=32')::geometry, 4490)),
               3) as g
    from near n
)
select m.parcel, m.id as feature_id, m.version_id, m.source_id, m.attributes,
       coalesce(st_area(m.g::geography), 0) as overlap_m2, m.distance_m,
       st_asbinary(m.g) as overlap_wkb
from measured m
order by m.parcel, m.id
