//! OGC API – Tiles under `/ogc`: vector tiles (Mapbox Vector Tile) of every collection in the
//! `WebMercatorQuad` tile matrix set, for `MapLibre`, `OpenLayers`, QGIS and GDAL.
//!
//! - `/tileMatrixSets`, `/tileMatrixSets/WebMercatorQuad`: the tile matrix set (open, like the
//!   landing page).
//! - `/collections/{id}/tiles`: the collection's tilesets; `…/tiles/WebMercatorQuad` the tileset
//!   (`?f=tilejson` gives `TileJSON` 3.0.0); `…/tiles/WebMercatorQuad/{z}/{y}/{x}` a tile. The
//!   path is matrix, **row**, column: z/y/x, not the XYZ order z/x/y.
//!
//! Control layers' tiles are drawn once per set of layer versions and kept (see
//! [`source::layer_tile`]); parcels and overlaps are drawn on every request in the caller's
//! scope. Empty tiles are 204; every tile has a strong ETag and `If-None-Match` gets 304; gzip
//! when the client accepts it; a tile address outside the matrix set is 400 naming the path
//! parameter, an unknown tile matrix set or collection 404, both as problem+json.

pub mod documents;
pub mod encoding;
pub mod schema;
pub mod source;

use axum::{
    extract::{rejection::QueryRejection, Path, Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use landuse_domain::calendar::bureau_date;
use landuse_spatial::tile::{TileError, TileId};
use serde::Deserialize;

use self::{
    documents::{
        TileJson, TileMatrixSet, TileMatrixSets, Tileset, TilesetFacts, Tilesets, WEB_MERCATOR_QUAD,
    },
    encoding::{CachePolicy, Wanted},
    schema::TileSource,
};
use super::{
    catalog::{self, OVERLAPS, PARCELS},
    error::OgcError,
    links::ExternalBase,
    params::{unknown, QueryParams},
    JSON,
};
use crate::{app::AppState, auth::Caller, http::error::ApiError, reads::ReadHint, store::Doing};

type RawQuery = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The routes, relative to `/ogc`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tileMatrixSets", get(tile_matrix_sets))
        .route("/tileMatrixSets/{tile_matrix_set_id}", get(tile_matrix_set))
        .route("/collections/{collection_id}/tiles", get(tilesets))
        .route(
            "/collections/{collection_id}/tiles/{tile_matrix_set_id}",
            get(tileset),
        )
        .route(
            "/collections/{collection_id}/tiles/{tile_matrix_set_id}/{tile_matrix}/{tile_row}/{tile_col}",
            get(tile),
        )
}

fn json_document(value: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => ([(header::CONTENT_TYPE, HeaderValue::from_static(JSON))], body).into_response(),
        Err(e) => ApiError::internal("writing a JSON document", e).into_response(),
    }
}

fn known_matrix_set(id: &str) -> Result<(), OgcError> {
    if id == WEB_MERCATOR_QUAD {
        Ok(())
    } else {
        Err(ApiError::NotFound("tile matrix set").into())
    }
}

/// `GET /ogc/tileMatrixSets`.
#[tracing::instrument(skip_all)]
pub async fn tile_matrix_sets(base: ExternalBase, query: RawQuery) -> Result<Response, OgcError> {
    QueryParams::new(query)?.metadata_only()?;
    Ok(json_document(&TileMatrixSets::offered(&base)))
}

/// `GET /ogc/tileMatrixSets/{tileMatrixSetId}`: only `WebMercatorQuad`.
#[tracing::instrument(skip_all, fields(tms = %id))]
pub async fn tile_matrix_set(
    base: ExternalBase,
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<Response, OgcError> {
    QueryParams::new(query)?.metadata_only()?;
    known_matrix_set(&id)?;
    Ok(json_document(&TileMatrixSet::web_mercator_quad(&base)))
}

/// `GET /ogc/collections/{collectionId}/tiles`.
#[tracing::instrument(skip_all, fields(user = %caller.name, collection = %id))]
pub async fn tilesets(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    base: ExternalBase,
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<Response, OgcError> {
    QueryParams::new(query)?.metadata_only()?;
    let described = describe(&state, &caller, &hint, &id).await?;
    Ok(json_document(&Tilesets::of(&described.facts(), &base)))
}

/// `GET /ogc/collections/{collectionId}/tiles/{tileMatrixSetId}`: the tileset's metadata, or
/// `TileJSON` 3.0.0 with `f=tilejson`.
#[tracing::instrument(skip_all, fields(user = %caller.name, collection = %id))]
pub async fn tileset(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    base: ExternalBase,
    Path((id, tms)): Path<(String, String)>,
    query: RawQuery,
) -> Result<Response, OgcError> {
    let params = QueryParams::new(query)?;
    let mut tilejson = false;
    for (name, value) in params.pairs() {
        match (name.as_str(), value.as_str()) {
            ("f", "json" | "application/json") => tilejson = false,
            ("f", "tilejson") => tilejson = true,
            ("f", other) => {
                return Err(OgcError::parameter(
                    "f",
                    format!(
                        "{other:?} is not offered; use f=json (the tileset) or f=tilejson (TileJSON 3.0.0)"
                    ),
                ))
            }
            _ => return Err(unknown(name, &["f"])),
        }
    }
    known_matrix_set(&tms)?;
    let described = describe(&state, &caller, &hint, &id).await?;
    let facts = described.facts();
    Ok(if tilejson {
        json_document(&TileJson::of(&facts, &base))
    } else {
        json_document(&Tileset::of(&facts, &base))
    })
}

/// A collection as its tile documents describe it.
struct Described {
    collection: catalog::Collection,
    bbox: Option<[f64; 4]>,
}

impl Described {
    fn facts(&self) -> TilesetFacts<'_> {
        TilesetFacts {
            collection_id: &self.collection.id,
            title: &self.collection.title,
            description: &self.collection.description,
            bbox: self.bbox,
            layers: TileSource::of(&self.collection).layers(),
        }
    }
}

/// Finds the collection and the extent of what `caller` sees of it, in the caller's scope.
async fn describe(
    state: &AppState,
    caller: &Caller,
    hint: &ReadHint,
    id: &str,
) -> Result<Described, OgcError> {
    let mut tx = state
        .reads
        .begin(&caller.scope(), hint)
        .await
        .doing("starting a scoped transaction")?;
    let collection = catalog::find(&mut tx, id).await?;
    if !collection.has_tiles() {
        return Err(ApiError::NotFound("collection").into());
    }
    let extent = catalog::extent(&mut tx, caller, &collection, bureau_date(state.clock.now())).await?;
    Ok(Described {
        collection,
        bbox: extent.bbox,
    })
}

/// The path of a tile: collection, tile matrix set, matrix, row, column.
#[derive(Debug, Deserialize)]
pub struct TilePath {
    collection_id: String,
    tile_matrix_set_id: String,
    tile_matrix: String,
    tile_row: String,
    tile_col: String,
}

/// A path parameter of a tile address: decimal digits without a sign or leading zeros, as the
/// matrix set writes its ids.
fn tile_number(name: &'static str, noun: &str, text: &str) -> Result<u32, OgcError> {
    let canonical = !text.is_empty()
        && text.len() <= 9
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical
        .then(|| text.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| OgcError::parameter(name, format!("{text:?} is not a {noun} of WebMercatorQuad")))
}

impl TilePath {
    /// The tile it names.
    ///
    /// # Errors
    /// 404 for a tile matrix set other than `WebMercatorQuad`; 400 naming the parameter for a
    /// matrix, row or column that is not a number or lies outside the matrix set.
    pub fn tile(&self) -> Result<TileId, OgcError> {
        known_matrix_set(&self.tile_matrix_set_id)?;
        let z = tile_number("tileMatrix", "tile matrix", &self.tile_matrix)?;
        let y = tile_number("tileRow", "tile row", &self.tile_row)?;
        let x = tile_number("tileCol", "tile column", &self.tile_col)?;
        TileId::new(z, x, y).map_err(|e| {
            let name = match e {
                TileError::Matrix { .. } => "tileMatrix",
                TileError::Row { .. } => "tileRow",
                TileError::Column { .. } => "tileCol",
            };
            OgcError::parameter(name, e.to_string())
        })
    }
}

/// `GET /ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}`.
#[tracing::instrument(skip_all, fields(user = %caller.name, collection = %path.collection_id,
    z = %path.tile_matrix, y = %path.tile_row, x = %path.tile_col))]
pub async fn tile(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    Path(path): Path<TilePath>,
    headers: HeaderMap,
    query: RawQuery,
) -> Result<Response, OgcError> {
    for (name, value) in QueryParams::new(query)?.pairs() {
        if name != "f" {
            return Err(unknown(name, &["f"]));
        }
        if !matches!(value.as_str(), "mvt" | encoding::MVT) {
            return Err(OgcError::parameter(
                "f",
                format!("{value:?} is not offered; tiles are f=mvt"),
            ));
        }
    }
    let tile = path.tile()?;
    let id = path.collection_id.as_str();
    let (encoded, cache) = if id == PARCELS || id == OVERLAPS {
        let encoded = source::scoped_tile(&state.reads, &caller, &hint, id, tile).await?;
        (encoded, CachePolicy::Revalidate)
    } else {
        // Control layers hold no county's rows: one pooled connection, no scoped transaction.
        // It is the primary's: a tile drawn for the first time is kept in layer_tiles.
        let mut conn = state.db.acquire().await.doing("connecting")?;
        source::collection_tile(&mut conn, id, tile).await?
    };
    Ok(encoded.respond(&Wanted::from_headers(&headers), cache).await?)
}
