//! OGC API – Features under `/ogc`: the control layers, case parcels and check overlaps as
//! collections QGIS, ArcGIS Pro and GDAL read without a plug-in.
//!
//! - Part 1 (Core, GeoJSON, OpenAPI 3.0): landing page, conformance, collections, items with
//!   `limit` (clamped to a configurable maximum), `bbox`, `datetime`, property filters and
//!   keyset paging behind an opaque `cursor`; unknown parameters and invalid values get 400.
//! - Part 2 (CRS by reference): `crs` and `bbox-crs`, the `Content-Crs` header, `storageCrs`.
//! - The land-supply collections `approved_unsupplied` and `idle_land` ([`figures`]): the
//!   reports' figures on the map, at `as_of` (today by default).
//! - Auth: the API's tokens, as bearer tokens or as the HTTP Basic password. Every role may
//!   read; county officers see only their counties' parcels and overlaps.

pub mod catalog;
pub mod crs;
pub mod error;
pub mod figures;
pub mod handlers;
pub mod items;
pub mod links;
pub mod openapi;
pub mod params;
pub mod settings;
pub mod tiles;

use axum::{routing::get, Router};

use crate::app::AppState;

/// Where the router is nested (see `app::app`); links are built under it.
pub const MOUNT: &str = "/ogc";

/// GeoJSON.
pub const GEOJSON: &str = "application/geo+json";
/// JSON.
pub const JSON: &str = "application/json";
/// A JSON Schema.
pub const SCHEMA_JSON: &str = "application/schema+json";
/// An OpenAPI 3.0 definition, as OGC API – Features names it.
pub const OPENAPI_JSON: &str = "application/vnd.oai.openapi+json;version=3.0";
/// HTML.
pub const HTML: &str = "text/html";
/// A problem document.
pub const PROBLEM_JSON: &str = crate::problem::PROBLEM_JSON;

/// The OGC relation of the conformance declaration.
pub const REL_CONFORMANCE: &str = "http://www.opengis.net/def/rel/ogc/1.0/conformance";
/// The OGC relation of the collections.
pub const REL_DATA: &str = "http://www.opengis.net/def/rel/ogc/1.0/data";

/// The relation of a link to the tile matrix sets (OGC API – Tiles).
pub const REL_TILING_SCHEMES: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes";
/// The relation of a collection's link to its vector tilesets (OGC API – Tiles, requirement
/// `/req/geodata-tilesets/desc-links`): how GDAL and the OGC test suite find a collection's tiles.
pub const REL_TILESETS_VECTOR: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";

/// The conformance classes implemented.
pub const CONFORMANCE: [&str; 9] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    // OGC API – Tiles (see `tiles`)
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    // tilesets of collections: /collections/{collectionId}/tiles, linked from each collection
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
];

/// The routes, relative to [`MOUNT`]; [`openapi::ROUTES`] describes the same table.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(handlers::landing))
        .route("/conformance", get(handlers::conformance))
        .route("/api", get(handlers::api))
        .route("/api.html", get(handlers::api_html))
        .route("/collections", get(handlers::collections))
        .route("/collections/{collection_id}", get(handlers::collection))
        .route("/collections/{collection_id}/schema", get(handlers::schema))
        .route(
            "/collections/{collection_id}/queryables",
            get(handlers::queryables),
        )
        .route("/collections/{collection_id}/items", get(handlers::items))
        .route(
            "/collections/{collection_id}/items/{feature_id}",
            get(handlers::item),
        )
        .merge(tiles::routes())
}
