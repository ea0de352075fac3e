//! Getting a tile: control-layer tiles from `layer_tiles`, drawn and kept on the first request
//! (or ahead of time, [`seed`]); parcel and overlap tiles drawn on every request inside the
//! caller's scope.

use std::time::Instant;

use landuse_spatial::tile::{tiles_covering, TileId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use futures_util::StreamExt;

use super::{
    encoding::{CachePolicy, EncodedTile},
    schema::{outline_name, TileSource},
};
use crate::{
    auth::Caller,
    http::error::ApiError,
    ogc::{
        catalog::{self, OVERLAPS, PARCELS},
        error::OgcError,
    },
    reads::{ReadHint, ReadNodes},
    store::{
        tiles::{self as store, LayerNames},
        Doing,
    },
};

/// The tile of control-layer `versions` (sorted) of `kind`: the kept one, or drawn now and
/// kept. A layer version never changes, so neither does a kept tile; every role may read
/// control layers, so one kept copy serves every caller.
///
/// # Errors
/// Database failures (the statement timeout among them).
pub async fn layer_tile(
    conn: &mut PgConnection,
    versions: &[Uuid],
    kind: &str,
    tile: TileId,
) -> Result<EncodedTile, ApiError> {
    match store::kept_layer_tile(conn, versions, tile).await? {
        Some(kept) => Ok(EncodedTile::kept(kept)),
        None => draw_and_keep(conn, versions, kind, tile).await,
    }
}

/// Draws a control-layer tile, keeps it compressed, and returns it.
async fn draw_and_keep(
    conn: &mut PgConnection,
    versions: &[Uuid],
    kind: &str,
    tile: TileId,
) -> Result<EncodedTile, ApiError> {
    let outline = outline_name(kind);
    let names = LayerNames {
        fill: kind,
        outline: &outline,
    };
    let mvt = store::draw_layer_tile(conn, versions, tile, names).await?;
    let kept = tokio::task::spawn_blocking(move || EncodedTile::for_keeping(&mvt))
        .await
        .map_err(|e| ApiError::internal("compressing a tile", e))?
        .map_err(|e| ApiError::internal("compressing a tile", e))?;
    store::keep_layer_tile(conn, versions, tile, &kept).await?;
    Ok(EncodedTile::kept(kept))
}

/// The tile of the control-layer collection `id` and how long clients may keep it.
///
/// A map asks for tiles of a kind's current versions (`permanent_farmland`) far more often than
/// for one version's: for those, one statement finds the current versions and the kept tile
/// together, which is the whole of a kept tile's cost beside the caller's authentication. Other
/// ids (one version, by name or UUID) go through the catalog.
///
/// # Errors
/// 404 when no control layer has that id; database failures.
pub async fn collection_tile(
    conn: &mut PgConnection,
    id: &str,
    tile: TileId,
) -> Result<(EncodedTile, CachePolicy), OgcError> {
    let current = store::current_layer_tile(conn, id, tile).await?;
    if let Some(versions) = current.versions {
        let encoded = match current.kept {
            Some(kept) => EncodedTile::kept(kept),
            None => draw_and_keep(conn, &versions, id, tile).await?,
        };
        return Ok((encoded, CachePolicy::Revalidate));
    }
    let collection = catalog::find(conn, id).await?;
    let TileSource::Layers {
        versions,
        kind,
        one_version,
    } = TileSource::of(&collection)
    else {
        return Err(ApiError::NotFound("collection").into());
    };
    let encoded = layer_tile(conn, &versions, &kind, tile).await?;
    let cache = if one_version {
        CachePolicy::Immutable
    } else {
        CachePolicy::Revalidate
    };
    Ok((encoded, cache))
}

/// The tile of parcels or overlaps (`collection` is [`PARCELS`] or [`OVERLAPS`]) as `caller`
/// may see it, drawn in a transaction scoped to the caller's counties: row-level security and
/// the statement's own county filter both apply, and nothing is kept, so no caller can ever be
/// given a tile drawn for another.
///
/// # Errors
/// Database failures (the statement timeout among them); 404 for another collection.
pub async fn scoped_tile(
    reads: &ReadNodes,
    caller: &Caller,
    hint: &ReadHint,
    collection: &str,
    tile: TileId,
) -> Result<EncodedTile, ApiError> {
    let mut tx = reads
        .begin(&caller.scope(), hint)
        .await
        .doing("starting a scoped transaction")?;
    let counties = caller.county_filter();
    let mvt = match collection {
        PARCELS => store::draw_parcel_tile(&mut tx, tile, counties.as_deref(), PARCELS).await?,
        OVERLAPS => store::draw_overlap_tile(&mut tx, tile, counties.as_deref(), OVERLAPS).await?,
        _ => return Err(ApiError::NotFound("collection")),
    };
    tx.rollback().await.doing("ending a read-only transaction")?;
    Ok(EncodedTile::drawn(mvt))
}

/// What [`seed`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct SeedReport {
    /// Tiles looked at (every tile of every zoom over the layer's extent).
    pub tiles: usize,
    /// Tiles drawn now (the others were kept already).
    pub drawn: usize,
    /// Tiles without features.
    pub empty: usize,
    /// Tiles that failed (the statement timeout on a huge layer's low zooms); drawn on request.
    pub failed: usize,
    /// How long it took.
    pub seconds: f64,
}

/// Draws and keeps every tile of matrices 0 to `up_to` over the extent of the control-layer
/// collections `collection_ids` (a kind, a version's id), so that a map's first views of a new
/// layer version are served from `layer_tiles`. Tiles already kept are not drawn again; two are
/// drawn at a time (PostGIS draws each on one core). Kept tiles no collection reaches any more
/// (an older drawing revision, a superseded set of current versions) are deleted first.
///
/// # Errors
/// Database failures other than one tile's (those are counted in `failed`), or an unknown
/// collection.
pub async fn seed(pool: &PgPool, collection_ids: &[String], up_to: u8) -> Result<SeedReport, OgcError> {
    let started = Instant::now();
    let mut report = SeedReport::default();
    let mut conn = pool.acquire().await.doing("connecting")?;
    store::forget_unreachable(&mut conn).await?;
    for id in collection_ids {
        let collection = catalog::find(&mut conn, id).await?;
        let (TileSource::Layers { versions, kind, .. }, Some(extent)) =
            (TileSource::of(&collection), collection.stored_extent())
        else {
            continue;
        };
        let tiles: Vec<TileId> = (0..=up_to).flat_map(|z| tiles_covering(extent, z)).collect();
        report.tiles += tiles.len();
        let outcomes: Vec<Result<Option<bool>, ApiError>> = futures_util::stream::iter(tiles)
            .map(|tile| seed_one(pool, &versions, &kind, tile))
            .buffer_unordered(2)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Ok(Some(empty)) => {
                    report.drawn += 1;
                    report.empty += usize::from(empty);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "a tile could not be drawn ahead");
                    report.failed += 1;
                }
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Draws and keeps one tile unless it is kept already: `Some(empty)` when drawn now.
async fn seed_one(
    pool: &PgPool,
    versions: &[Uuid],
    kind: &str,
    tile: TileId,
) -> Result<Option<bool>, ApiError> {
    let mut conn = pool.acquire().await.doing("connecting")?;
    if store::kept_layer_tile(&mut conn, versions, tile).await?.is_some() {
        return Ok(None);
    }
    let encoded = draw_and_keep(&mut conn, versions, kind, tile).await?;
    Ok(Some(encoded.is_empty()))
}
