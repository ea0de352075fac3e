-- Every hit of a check in one statement: $1 and $3..$9 are one array per column, a hit per index.
insert into check_hits (id, check_id, layer_kind, hit_index, layer_version_id, feature_id,
                        overlap_m2, attributes, geom)
select h.id, $2, h.kind, h.index, h.version, h.feature, h.m2, h.attributes,
       st_geomfromwkb(h.wkb, 4490)
  from unnest($1::uuid[], $3::text[], $4::int4[], $5::uuid[], $6::int8[], $7::float8[],
              $8::jsonb[], $9::bytea[])
       as h (id, kind, index, version, feature, m2, attributes, wkb)
