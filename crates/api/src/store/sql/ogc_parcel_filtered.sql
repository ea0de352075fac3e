-- The parcels that pass the filters; every filter is off when its parameter is null (see
-- ogc_layer_filtered.sql for why that costs nothing).
--   $1 the caller's counties (null: all); $2-$4 bounding box as in ogc_layer_filtered.sql;
--   $5-$6 created_at range (inclusive); $7 case_id; $8 county_code; $9 stage; $10 source;
--   $11 seq; $12 name; $13 zone; $14 one parcel id.
-- Areas: 1 mu = 10000/15 m², 1 ha = 10000 m²; m² and mu to 2 decimals, ha to 4.
select p.id,
       p.geom,
       jsonb_build_object(
           'case_id', p.case_id,
           'case_title', c.title,
           'county_code', c.county_code,
           'stage', c.stage,
           'seq', p.seq,
           'name', p.name,
           'area_m2', round(p.area_m2::numeric, 2),
           'area_mu', round((p.area_m2 * 15 / 10000)::numeric, 2),
           'area_ha', round((p.area_m2 / 10000)::numeric, 4),
           'planar_area_m2', round(p.planar_area_m2::numeric, 2),
           'stated_area_m2', round(p.stated_area_m2::numeric, 2),
           'zone', p.zone,
           'source', p.source,
           'created_at', p.created_at) as properties
from parcels p
join cases c on c.id = p.case_id
where ($1::text[] is null or c.county_code = any($1))
  and ($14::uuid is null or p.id = $14)
  and ($2::float8[] is null or (
        p.geom && landuse_bbox($2::float8[], $3::int4, $4::float8)
        and st_intersects(p.geom, landuse_bbox($2::float8[], $3::int4, $4::float8))))
  and ($5::timestamptz is null or p.created_at >= $5)
  and ($6::timestamptz is null or p.created_at <= $6)
  and ($7::uuid is null or p.case_id = $7)
  and ($8::text is null or c.county_code = $8)
  and ($9::text is null or c.stage = $9)
  and ($10::text is null or p.source = $10)
  and ($11::int4 is null or p.seq = $11)
  and ($12::text is null or p.name = $12)
  and ($13::int4 is null or p.zone = $13)
