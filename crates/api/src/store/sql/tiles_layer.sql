-- One vector tile of control-layer versions: two layers, the fills and the outlines.
--
-- The tile's box is transformed to the layers' CGCS2000 (EPSG:4490), never the geometry
-- column, so the spatial indexes of layer_features and layer_pieces choose the rows; only those
-- rows are then projected to Web Mercator.
--
-- A feature of at most $9 vertices is drawn whole: projected once, its clipped polygon is the
-- fill and that polygon's rings are the outline (the rings' clip edges lie in the buffer, which
-- no client draws). A larger feature is filled from its subdivided pieces that touch the tile,
-- so a 200,000-vertex polygon costs a tile only the pieces near it; its outline comes from the
-- whole feature's boundary, clipped to the tile first, so the cuts between pieces (seams) never
-- show as lines. Everything is simplified by half a tile unit ($6, degrees) before projecting:
-- finer detail cannot show.
--
--   $1 tile matrix (z), $2 column (x), $3 row (y); $4 the buffer as a share of the tile's width;
--   $5 the layer versions; $6 simplification tolerance in degrees; $7 the fill layer's name,
--   $8 the outline layer's name; $9 the most vertices a feature drawn whole may have;
--   $10 the tile's extent (grid units), $11 its buffer (grid units).
-- Fill properties: source_id, kind, name, jurisdiction, version (ogc::tiles::schema keeps the
-- list); outlines carry the feature id only. Feature ids are layer_features.id. Points (geohazard
-- sites) are fills and have no outline.
with bounds as materialized (
    select st_tileenvelope($1, $2, $3) as tile,
           st_transform(st_tileenvelope($1, $2, $3, margin => $4), 4490) as clip
),
hit as materialized (
    select f.id, f.source_id, v.kind, k.name_zh as name, v.jurisdiction, v.version_no as version,
           st_npoints(f.geom) <= $9 as whole, f.geom
      from bounds b
      join layer_features f on f.geom && b.clip
      join layer_versions v on v.id = f.version_id
      join layer_kinds k on k.code = v.kind
     where f.version_id = any($5)
),
fills as materialized (
    select h.id, h.source_id, h.kind, h.name, h.jurisdiction, h.version, h.whole,
           st_asmvtgeom(
               st_transform(st_simplify(
                   case when h.whole then h.geom
                        else (select st_collect(p.geom)
                                from layer_pieces p
                               where p.feature_id = h.id and p.geom && b.clip) end, $6), 3857),
               b.tile, $10, $11, true) as geom
      from hit h cross join bounds b
),
outlines as (
    select f.id, st_boundary(f.geom) as geom
      from fills f
     where f.whole and st_dimension(f.geom) = 2
    union all
    select h.id,
           st_asmvtgeom(
               st_transform(st_simplify(st_clipbybox2d(st_boundary(h.geom), b.clip::box2d), $6), 3857),
               b.tile, $10, $11, true)
      from hit h cross join bounds b
     where not h.whole
)
select coalesce((select st_asmvt(q, $7, $10, 'geom', 'id')
                   from (select id, source_id, kind, name, jurisdiction, version, geom
                           from fills where geom is not null) q), '')
    || coalesce((select st_asmvt(o, $8, $10, 'geom', 'id')
                   from outlines o where o.geom is not null), '') as tile
