-- One vector tile of case parcels, drawn for the transaction's caller: row-level security admits
-- only the counties of its scope, and $5 filters the same counties again (the handlers' wall).
--
-- The box is transformed to EPSG:4490 so that parcels_geom chooses the rows. A parcel's id is a
-- UUID; a vector tile's feature id is an unsigned integer, so the id is the UUID's last 52 bits
-- (random in v4 and v7 UUIDs, and exact in a JavaScript number) and the whole UUID is the
-- parcel_id property.
--
--   $1 tile matrix (z), $2 column (x), $3 row (y); $4 the buffer as a share of the tile's width;
--   $5 the caller's counties (null: every county); $6 the layer's name; $7 the tile's extent,
--   $8 its buffer (grid units).
-- Properties (ogc::tiles::schema keeps the list): parcel_id, case_id, case_title, county_code,
-- stage, seq, name, area_mu.
with bounds as materialized (
    select st_tileenvelope($1, $2, $3) as tile,
           st_transform(st_tileenvelope($1, $2, $3, margin => $4), 4490) as clip
)
select coalesce((
    select st_asmvt(t, $6, $7, 'geom', 'id')
      from (select ('x' || right(replace(p.id::text, '-', ''), 13))::bit(52)::bigint as id,
                   p.id::text as parcel_id,
                   p.case_id::text as case_id,
                   c.title as case_title,
                   c.county_code,
                   c.stage,
                   p.seq,
                   p.name,
                   round((p.area_m2 * 15 / 10000)::numeric, 2)::float8 as area_mu,
                   st_asmvtgeom(st_transform(p.geom, 3857), b.tile, $7, $8, true) as geom
              from bounds b
              join parcels p on p.geom && b.clip
              join cases c on c.id = p.case_id
             where $5::text[] is null or c.county_code = any($5)) t
     where t.geom is not null), '') as tile
