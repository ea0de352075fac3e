-- Per parcel and feature: the overlap of the parcel with a polygon layer, measured on the
-- pieces (each ST_Intersection works on a few hundred vertices) and re-unioned per feature for
-- the overlap geometry. Areas on the CGCS2000 ellipsoid (geography of SRID 4490).
with parcels as (
    select (p.ord - 1)::int4 as parcel, st_geomfromwkb(p.wkb, 4490) as geom
    from unnest($1::bytea[]) with ordinality as p (wkb, ord)
),
cut as (
    select pa.parcel, pc.feature_id,
           st_collectionextract(st_intersection(pc.geom, pa.geom), 3) as g
    from parcels pa
    join layer_pieces pc on pc.geom && pa.geom and st_intersects(pc.geom, pa.geom)
    where pc.version_id = any($2::uuid[])
),
measured as (
    select c.parcel, c.feature_id,
           sum(st_area(c.g::geography)) as overlap_m2,
           st_union(c.g) as g
    from cut c
    where not st_isempty(c.g)
    group by c.parcel, c.feature_id
)
select m.parcel, f.id as feature_id, f.version_id, f.source_id, f.attributes,
       m.overlap_m2, null::float8 as distance_m, st_asbinary(m.g) as overlap_wkb
from measured m
join layer_features f on f.id = m.feature_id
where m.overlap_m2 > $3
order by m.parcel, f.id
