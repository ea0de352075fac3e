-- One batch of features: parallel arrays, geometry as WKB with the SRID set here.
insert into layer_features (version_id, ordinal, source_id, attributes, geom)
select $1, t.ordinal, t.source_id, t.attributes, st_geomfromwkb(t.wkb, 4490)
from unnest($2::int4[], $3::text[], $4::jsonb[], $5::bytea[]) as t (ordinal, source_id, attributes, wkb)
