-- The parcels' ellipsoidal areas in request order, and the area of their union (the case area).
with p as (
    select st_geomfromwkb(w, 4490) as g
    from unnest($1::bytea[]) with ordinality as t (w, ord)
    order by ord
)
select array_agg(st_area(g::geography)) as parcel_m2, st_area(st_union(g)::geography) as case_m2
from p
