-- Per parcel: the part outside the union of a polygon layer's features (the urban boundary, the
-- mineral whitelist). A parcel that touches no piece lies wholly outside.
with parcels as (
    select (p.ord - 1)::int4 as parcel, st_geomfromwkb(p.wkb, 4490) as geom
    from unnest($1::bytea[]) with ordinality as p (wkb, ord)
),
inside as (
    select pa.parcel,
           st_union(st_collectionextract(st_intersection(pc.geom, pa.geom), 3)) as g
    from parcels pa
    join layer_pieces pc on pc.geom && pa.geom and st_intersects(pc.geom, pa.geom)
    where pc.version_id = any($2::uuid[])
    group by pa.parcel
),
outside as (
    select pa.parcel,
           case when i.g is null or st_isempty(i.g) then pa.geom
                else st_collectionextract(st_difference(pa.geom, i.g), 3) end as g
    from parcels pa
    left join inside i on i.parcel = pa.parcel
)
select o.parcel, coalesce(st_area(o.g::geography), 0) as outside_m2, st_asbinary(o.g) as outside_wkb
from outside o
order by o.parcel
