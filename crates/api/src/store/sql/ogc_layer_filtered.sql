-- The features of layer versions $1 that pass the filters; every filter is off when its
-- parameter is null. Statements are sent unprepared, so PostgreSQL plans each with the actual
-- values: an off filter folds away and the bounding box becomes a constant for the GiST index.
--   $2 bbox corners (x/y, float8[4]) in SRID $3, densified to edges of $4 (landuse_bbox,
--   migration 0011, which also reads a box across the antimeridian); $5 source_id; $6 layer
--   version; $7 attribute equalities as a jsonb object compared as text; $8 one feature id.
select f.id,
       f.geom,
       jsonb_build_object('source_id', f.source_id, 'layer_version', f.version_id) || f.attributes as properties
from layer_features f
where f.version_id = any($1::uuid[])
  and ($8::int8 is null or f.id = $8)
  and ($2::float8[] is null or (
        f.geom && landuse_bbox($2::float8[], $3::int4, $4::float8)
        and st_intersects(f.geom, landuse_bbox($2::float8[], $3::int4, $4::float8))))
  and ($5::text is null or f.source_id = $5)
  and ($6::uuid is null or f.version_id = $6)
  and ($7::jsonb is null or not exists (
        select 1 from jsonb_each_text($7) q where (f.attributes ->> q.key) is distinct from q.value))
