-- One vector tile of the overlap geometries of check reports, drawn for the transaction's
-- caller: row-level security admits only the counties of its scope, and $5 filters the same
-- counties again (the handlers' wall). Every report's overlaps are drawn, as the collection's
-- items list them; check_stale and dismissed let a map leave out what no longer counts.
--
-- Ids as in tiles_parcels.sql: the UUID's last 52 bits, with the whole UUID as hit_id.
--
--   $1 tile matrix (z), $2 column (x), $3 row (y); $4 the buffer as a share of the tile's width;
--   $5 the caller's counties (null: every county); $6 the layer's name; $7 the tile's extent,
--   $8 its buffer (grid units).
-- Properties (ogc::tiles::schema keeps the list): hit_id, check_id, case_id, county_code,
-- layer_kind, overlap_mu, dismissed, check_result, check_stale.
with bounds as materialized (
    select st_tileenvelope($1, $2, $3) as tile,
           st_transform(st_tileenvelope($1, $2, $3, margin => $4), 4490) as clip
)
select coalesce((
    select st_asmvt(t, $6, $7, 'geom', 'id')
      from (select ('x' || right(replace(h.id::text, '-', ''), 13))::bit(52)::bigint as id,
                   h.id::text as hit_id,
                   k.id::text as check_id,
                   k.case_id::text as case_id,
                   c.county_code,
                   h.layer_kind,
                   round((h.overlap_m2 * 15 / 10000)::numeric, 2)::float8 as overlap_mu,
                   h.dismissed_at is not null as dismissed,
                   k.result as check_result,
                   k.stale as check_stale,
                   st_asmvtgeom(st_transform(h.geom, 3857), b.tile, $7, $8, true) as geom
              from bounds b
              join check_hits h on h.geom && b.clip
              join checks k on k.id = h.check_id
              join cases c on c.id = k.case_id
             where $5::text[] is null or c.county_code = any($5)) t
     where t.geom is not null), '') as tile
