-- The overlap geometries of check reports that pass the filters; every filter is off when its
-- parameter is null (see ogc_layer_filtered.sql for why that costs nothing).
--   $1 the caller's counties (null: all); $2-$4 bounding box as in ogc_layer_filtered.sql;
--   $5-$6 run_at range (inclusive); $7 check_id; $8 case_id; $9 county_code; $10 layer_kind;
--   $11 layer_version_id; $12 dismissed; $13 check_result; $14 one overlap id.
select h.id,
       h.geom,
       jsonb_build_object(
           'check_id', k.id,
           'case_id', k.case_id,
           'county_code', c.county_code,
           'layer_kind', h.layer_kind,
           'layer_version_id', h.layer_version_id,
           'layer_feature_id', h.feature_id,
           'overlap_m2', round(h.overlap_m2::numeric, 2),
           'overlap_mu', round((h.overlap_m2 * 15 / 10000)::numeric, 2),
           'dismissed', h.dismissed_at is not null,
           'dismiss_reason', h.dismiss_reason,
           'check_result', k.result,
           'check_stale', k.stale,
           'run_at', k.run_at,
           'feature_attributes', h.attributes) as properties
from check_hits h
join checks k on k.id = h.check_id
join cases c on c.id = k.case_id
where h.geom is not null
  and ($1::text[] is null or c.county_code = any($1))
  and ($14::uuid is null or h.id = $14)
  and ($2::float8[] is null or (
        h.geom && landuse_bbox($2::float8[], $3::int4, $4::float8)
        and st_intersects(h.geom, landuse_bbox($2::float8[], $3::int4, $4::float8))))
  and ($5::timestamptz is null or k.run_at >= $5)
  and ($6::timestamptz is null or k.run_at <= $6)
  and ($7::uuid is null or k.id = $7)
  and ($8::uuid is null or k.case_id = $8)
  and ($9::text is null or c.county_code = $9)
  and ($10::text is null or h.layer_kind = $10)
  and ($11::uuid is null or h.layer_version_id = $11)
  and ($12::bool is null or (h.dismissed_at is not null) = $12)
  and ($13::text is null or k.result = $13)
