-- Vector tiles of control layers (OGC API – Tiles), kept once drawn.
--
-- A layer version never changes after its import commits, so a tile drawn from a set of
-- versions stays right for as long as those versions exist: it is keyed by the versions it was
-- drawn from (sorted), by the revision of the drawing code that made it (a release that draws
-- differently bumps it and old rows are no longer read), and by its place in the
-- WebMercatorQuad matrix. When a new version becomes current, the collection's key changes and
-- the old rows still serve the older version's own collection.
--
-- Only control layers are kept here. They hold no county's rows and every role may read them,
-- so one copy serves every caller. Case parcels and check overlaps are drawn on each request
-- inside the caller's scope and never stored.
--
-- Unlogged: a cache, not a record. Writing it costs no WAL flush on a cache miss, and after a
-- crash PostgreSQL empties it and tiles are drawn again. Like rate_windows (0009) it lives on
-- the primary only: a hot standby cannot read unlogged tables.
create unlogged table layer_tiles (
    -- the layer versions drawn, sorted ascending
    versions uuid[] not null,
    -- the drawing code's revision (crate::store::tiles::REVISION)
    revision smallint not null,
    z smallint not null,
    x integer not null,
    y integer not null,
    -- the Mapbox Vector Tile, gzip-compressed; empty when the tile has no features
    tile bytea not null,
    -- the strong ETag of the uncompressed tile, without quotes
    etag text not null,
    rendered_at timestamptz not null default now(),
    constraint layer_tiles_pkey primary key (versions, revision, z, x, y),
    constraint layer_tiles_versions_present check (cardinality(versions) > 0),
    constraint layer_tiles_in_matrix check (
        z between 0 and 24
        and x >= 0 and x < (1::bigint << z)
        and y >= 0 and y < (1::bigint << z))
);

-- The tiles are already compressed: TOAST would spend CPU compressing them again for nothing.
alter table layer_tiles alter column tile set storage external;

grant select, insert, delete on layer_tiles to landuse_app;
