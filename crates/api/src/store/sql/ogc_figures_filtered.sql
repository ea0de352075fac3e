-- The features of a land-supply collection (approved_unsupplied, idle_land). Their geometry and
-- figures were computed by the reports' own functions (ogc::figures) and arrive as arrays; this
-- statement adds what every collection has: the caller's scope (row-level security on cases and
-- the county filter), the bounding box and one feature's id. Every filter is off when its
-- parameter is null (see ogc_layer_filtered.sql).
--   $1 the caller's counties (null: all); $2-$4 bounding box as in ogc_layer_filtered.sql;
--   $5 feature ids; $6 the case of each; $7 each geometry (WKB, EPSG:4490); $8 each feature's
--   properties (JSON text); $9 one feature id.
select f.id,
       f.geom,
       f.properties
from (select u.id, u.case_id, st_setsrid(st_geomfromwkb(u.wkb), 4490) as geom,
             u.properties::jsonb as properties
        from unnest($5::uuid[], $6::uuid[], $7::bytea[], $8::text[]) as u(id, case_id, wkb, properties)) f
join cases c on c.id = f.case_id
where ($1::text[] is null or c.county_code = any($1))
  and ($9::uuid is null or f.id = $9)
  and ($2::float8[] is null or (
        f.geom && landuse_bbox($2::float8[], $3::int4, $4::float8)
        and st_intersects(f.geom, landuse_bbox($2::float8[], $3::int4, $4::float8))))
