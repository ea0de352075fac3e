//! Getting a tile: control-layer tiles from `layer_tiles`, drawn and kept on the first request
//! (or ahead of time, [`seed`]); parcel and overlap tiles drawn on every request inside the
//! caller's scope.

use std::time::Instant;

use landuse_spatial::tile::{tiles_covering, TileId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    encoding::EncodedTile,
    schema::{outline_name, TileSource},
};
use crate::{
    auth::Caller,
    db,
    http::error::ApiError,
    ogc::{
        catalog::{self, OVERLAPS, PARCELS},
        error::OgcError,
    },
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
    if let Some(kept) = store::kept_layer_tile(conn, versions, tile).await? {
        return Ok(EncodedTile::kept(kept));
    }
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

/// The tile of parcels or overlaps (`collection` is [`PARCELS`] or [`OVERLAPS`]) as `caller`
/// may see it, drawn in a transaction scoped to the caller's counties: row-level security and
/// the statement's own county filter both apply, and nothing is kept, so no caller can ever be
/// given a tile drawn for another.
///
/// # Errors
/// Database failures (the statement timeout among them); 404 for another collection.
pub async fn scoped_tile(
    pool: &PgPool,
    caller: &Caller,
    collection: &str,
    tile: TileId,
) -> Result<EncodedTile, ApiError> {
    let mut tx = db::begin_scoped(pool, &caller.scope())
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
/// layer version are served from `layer_tiles`. Tiles already kept are not drawn again.
///
/// # Errors
/// Database failures other than one tile's (those are counted in `failed`), or an unknown
/// collection.
pub async fn seed(pool: &PgPool, collection_ids: &[String], up_to: u8) -> Result<SeedReport, OgcError> {
    let started = Instant::now();
    let mut report = SeedReport::default();
    let mut conn = pool.acquire().await.doing("connecting")?;
    store::forget_other_revisions(&mut conn).await?;
    for id in collection_ids {
        let collection = catalog::find(&mut conn, id).await?;
        let (TileSource::Layers { versions, kind, .. }, Some(extent)) =
            (TileSource::of(&collection), collection.stored_extent())
        else {
            continue;
        };
        for z in 0..=up_to {
            for tile in tiles_covering(extent, z) {
                report.tiles += 1;
                if store::kept_layer_tile(&mut conn, &versions, tile)
                    .await?
                    .is_some()
                {
                    continue;
                }
                match layer_tile(&mut conn, &versions, &kind, tile).await {
                    Ok(encoded) => {
                        report.drawn += 1;
                        report.empty += usize::from(encoded.is_empty());
                    }
                    Err(error) => {
                        tracing::warn!(%error, z, x = tile.x(), y = tile.y(), "a tile could not be drawn ahead");
                        report.failed += 1;
                    }
                }
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
