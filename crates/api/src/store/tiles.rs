//! Vector tiles: drawing them with `ST_AsMVT` and keeping control-layer tiles in `layer_tiles`
//! (migration 0016).
//!
//! Every statement transforms the tile's box to the stored CRS (EPSG:4490) so that the spatial
//! indexes choose the rows (transforming the geometry column instead would read every row).
//! Tiles of control layers depend only on the layer versions drawn, which never change, so they
//! are kept; tiles of parcels and overlaps depend on the caller's counties and on cases that do
//! change, so they are drawn on each request in the caller's scoped transaction.

use landuse_spatial::tile::{TileId, BUFFER, EXTENT};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

const DRAW_LAYER: &str = include_str!("sql/tiles_layer.sql");
const DRAW_PARCELS: &str = include_str!("sql/tiles_parcels.sql");
const DRAW_OVERLAPS: &str = include_str!("sql/tiles_overlaps.sql");

/// The revision of the drawing code, part of every kept tile's key: a release that draws tiles
/// differently (other properties, other simplification) bumps it, and tiles kept by an older
/// release are no longer served.
pub const REVISION: i16 = 1;

/// The most vertices a control-layer feature may have to be filled from its own geometry; a
/// larger one is filled from its subdivided pieces (the import cuts pieces of at most 256).
pub const WHOLE_MAX_VERTICES: i32 = 256;

/// A kept control-layer tile.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeptTile {
    /// The tile, gzip-compressed; empty when it has no features.
    pub tile: Vec<u8>,
    /// Its strong ETag (of the uncompressed tile), without quotes.
    pub etag: String,
}

/// The current versions of a layer kind (sorted) and, when kept, their tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentTile {
    /// The kind's current versions, sorted; `None` when the name is no kind with a current
    /// version.
    pub versions: Option<Vec<Uuid>>,
    /// The kept tile of those versions.
    pub kept: Option<KeptTile>,
}

#[derive(sqlx::FromRow)]
struct CurrentRow {
    versions: Option<Vec<Uuid>>,
    tile: Option<Vec<u8>>,
    etag: Option<String>,
}

/// The names of the two layers of a control-layer tile.
#[derive(Debug, Clone, Copy)]
pub struct LayerNames<'a> {
    /// Polygons (and points), with the features' properties.
    pub fill: &'a str,
    /// The features' boundaries, as lines.
    pub outline: &'a str,
}

fn margin() -> f64 {
    f64::from(BUFFER) / f64::from(EXTENT)
}

/// The tile of `versions` (sorted) kept by this revision, if any.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip_all, fields(z = tile.z(), x = tile.x(), y = tile.y()))]
pub async fn kept_layer_tile(
    conn: &mut PgConnection,
    versions: &[Uuid],
    tile: TileId,
) -> Result<Option<KeptTile>, DbError> {
    sqlx::query_as(
        "select tile, etag from layer_tiles
          where versions = $1 and revision = $2 and z = $3 and x = $4 and y = $5",
    )
    .bind(versions)
    .bind(REVISION)
    .bind(i16::from(tile.z()))
    .bind(tile.x() as i32)
    .bind(tile.y() as i32)
    .fetch_optional(conn)
    .await
    .doing("reading a kept tile")
}

/// The current versions of layer kind `kind` and their kept tile, in one statement: what a
/// kept tile of a kind's collection costs.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip_all, fields(z = tile.z(), x = tile.x(), y = tile.y()))]
pub async fn current_layer_tile(
    conn: &mut PgConnection,
    kind: &str,
    tile: TileId,
) -> Result<CurrentTile, DbError> {
    let row: CurrentRow = sqlx::query_as(
        "select v.versions, t.tile, t.etag
           from (select array_agg(id order by id) as versions
                   from layer_versions
                  where is_current and kind = $1) v
           left join layer_tiles t
             on t.versions = v.versions and t.revision = $2 and t.z = $3 and t.x = $4 and t.y = $5",
    )
    .bind(kind)
    .bind(REVISION)
    .bind(i16::from(tile.z()))
    .bind(tile.x() as i32)
    .bind(tile.y() as i32)
    .fetch_one(conn)
    .await
    .doing("finding a kind's current versions and their kept tile")?;
    Ok(CurrentTile {
        versions: row.versions,
        kept: row.tile.zip(row.etag).map(|(tile, etag)| KeptTile { tile, etag }),
    })
}

/// Keeps a drawn tile of `versions` (sorted); a tile another request kept first stays.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip_all, fields(z = tile.z(), x = tile.x(), y = tile.y()))]
pub async fn keep_layer_tile(
    conn: &mut PgConnection,
    versions: &[Uuid],
    tile: TileId,
    kept: &KeptTile,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into layer_tiles (versions, revision, z, x, y, tile, etag)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict on constraint layer_tiles_pkey do nothing",
    )
    .bind(versions)
    .bind(REVISION)
    .bind(i16::from(tile.z()))
    .bind(tile.x() as i32)
    .bind(tile.y() as i32)
    .bind(&kept.tile)
    .bind(&kept.etag)
    .execute(conn)
    .await
    .doing("keeping a drawn tile")?;
    Ok(())
}

/// Draws one tile of control-layer `versions`: the uncompressed Mapbox Vector Tile, empty when
/// nothing of the versions touches the tile.
///
/// # Errors
/// Database failures, among them the statement timeout (SQLSTATE 57014).
#[tracing::instrument(skip_all, fields(z = tile.z(), x = tile.x(), y = tile.y()))]
pub async fn draw_layer_tile(
    conn: &mut PgConnection,
    versions: &[Uuid],
    tile: TileId,
    names: LayerNames<'_>,
) -> Result<Vec<u8>, DbError> {
    sqlx::query_scalar(DRAW_LAYER)
        .bind(i32::from(tile.z()))
        .bind(tile.x() as i32)
        .bind(tile.y() as i32)
        .bind(margin())
        .bind(versions)
        .bind(tile.half_unit_degrees())
        .bind(names.fill)
        .bind(names.outline)
        .bind(WHOLE_MAX_VERTICES)
        .bind(EXTENT as i32)
        .bind(BUFFER as i32)
        .fetch_one(conn)
        .await
        .doing("drawing a control-layer tile")
}

/// Draws one tile of case parcels as layer `name`: what the transaction's scope and `counties`
/// (`None`: every county) both admit.
///
/// # Errors
/// Database failures, among them the statement timeout (SQLSTATE 57014).
#[tracing::instrument(skip_all, fields(z = tile.z(), x = tile.x(), y = tile.y()))]
pub async fn draw_parcel_tile(
    conn: &mut PgConnection,
    tile: TileId,
    counties: Option<&[String]>,
    name: &str,
) -> Result<Vec<u8>, DbError> {
    draw_scoped(conn, DRAW_PARCELS, tile, counties, name)
        .await
        .doing("drawing a parcel tile")
}

/// Draws one tile of check-report overlaps as layer `name`: what the transaction's scope and
/// `counties` (`None`: every county) both admit.
///
/// # Errors
/// Database failures, among them the statement timeout (SQLSTATE 57014).
#[tracing::instrument(skip_all, fields(z = tile.z(), x = tile.x(), y = tile.y()))]
pub async fn draw_overlap_tile(
    conn: &mut PgConnection,
    tile: TileId,
    counties: Option<&[String]>,
    name: &str,
) -> Result<Vec<u8>, DbError> {
    draw_scoped(conn, DRAW_OVERLAPS, tile, counties, name)
        .await
        .doing("drawing an overlap tile")
}

async fn draw_scoped(
    conn: &mut PgConnection,
    sql: &'static str,
    tile: TileId,
    counties: Option<&[String]>,
    name: &str,
) -> Result<Vec<u8>, sqlx::Error> {
    sqlx::query_scalar(sql)
        .bind(i32::from(tile.z()))
        .bind(tile.x() as i32)
        .bind(tile.y() as i32)
        .bind(margin())
        .bind(counties)
        .bind(name)
        .bind(EXTENT as i32)
        .bind(BUFFER as i32)
        .fetch_one(conn)
        .await
}

/// Deletes the tiles no request can reach any more; returns how many.
///
/// Those are the tiles kept by other revisions of the drawing code, and the tiles of a set of
/// several versions that is no longer any kind's current set: such a set is only ever asked for
/// as a kind's collection, so once one of its versions is superseded its tiles are dead weight.
/// A single version's tiles stay, as they serve that version's own collection for as long as the
/// version exists.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip_all)]
pub async fn forget_unreachable(conn: &mut PgConnection) -> Result<u64, DbError> {
    let done = sqlx::query(
        "delete from layer_tiles t
          where t.revision <> $1
             or (cardinality(t.versions) > 1
                 and not exists (select 1
                                   from layer_versions v
                                  where v.is_current
                                  group by v.kind
                                 having array_agg(v.id order by v.id) = t.versions))",
    )
    .bind(REVISION)
    .execute(conn)
    .await
    .doing("deleting kept tiles no collection reaches")?;
    Ok(done.rows_affected())
}
