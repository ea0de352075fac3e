//! The handlers of `/ogc`. Thin: parse the query strictly, find the collection, hand the rest
//! to [`super::items`] and [`super::catalog`].

use axum::{
    extract::{rejection::QueryRejection, Path, Query, State},
    http::{header, HeaderName, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};
use landuse_domain::calendar::bureau_date;
use serde::Serialize;
use sqlx::{Postgres, Transaction};

use super::{
    catalog::{self, Source},
    crs::OgcCrs,
    error::OgcError,
    items::{self, Filters, PageContext},
    links::{ExternalBase, Link},
    openapi,
    params::{unknown, FeatureKey, ItemsQuery, QueryParams},
    settings, CONFORMANCE, GEOJSON, HTML, JSON, OPENAPI_JSON, REL_CONFORMANCE, REL_DATA,
};
use crate::{app::AppState, auth::Caller, db::Scope, http::error::ApiError, reads::ReadHint, store::Doing};

/// The header that names the CRS of the coordinates in a response (Part 2).
pub const CONTENT_CRS: HeaderName = HeaderName::from_static("content-crs");

type RawQuery = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The landing page (`/req/core/root-success`).
#[derive(Debug, Serialize)]
struct Landing {
    title: &'static str,
    description: &'static str,
    links: Vec<Link>,
}

/// The conformance declaration.
#[derive(Debug, Serialize)]
struct Conformance {
    #[serde(rename = "conformsTo")]
    conforms_to: &'static [&'static str],
}

/// The collections document: each collection's metadata, and the CRSs every one offers.
#[derive(Debug, Serialize)]
struct CollectionList {
    links: Vec<Link>,
    /// Built by [`catalog::metadata`], whose members depend on the collection's kind.
    collections: Vec<serde_json::Value>,
    crs: Vec<String>,
}

fn document(value: &impl serde::Serialize, media_type: &'static str) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(media_type))],
            body,
        )
            .into_response(),
        Err(e) => ApiError::internal("writing a JSON document", e).into_response(),
    }
}

/// A transaction that sees what `scope` allows of the county-owned collections.
/// It runs on a replica in use or the primary, as `hint` allows ([`crate::reads`]).
async fn connection(
    state: &AppState,
    hint: &ReadHint,
    scope: &Scope,
) -> Result<Transaction<'static, Postgres>, OgcError> {
    Ok(state.reads.begin(scope, hint).await.doing("connecting")?)
}

/// The scope of documents that describe collections without reading any county's rows.
fn no_county() -> Scope {
    Scope::Counties(Vec::new())
}

/// `GET /ogc`: the landing page.
#[tracing::instrument(skip_all)]
pub async fn landing(base: ExternalBase, query: RawQuery) -> Result<Response, OgcError> {
    QueryParams::new(query)?.metadata_only()?;
    let links = vec![
        Link::new(base.ogc(""), "self", JSON, "This document"),
        Link::new(
            base.ogc("/api"),
            "service-desc",
            OPENAPI_JSON,
            "The API definition (OpenAPI 3.0)",
        ),
        Link::new(
            base.ogc("/api.html"),
            "service-doc",
            HTML,
            "The API documentation",
        ),
        Link::new(
            base.ogc("/conformance"),
            "conformance",
            JSON,
            "The conformance classes this service implements",
        ),
        Link::new(
            base.ogc("/conformance"),
            REL_CONFORMANCE,
            JSON,
            "The conformance classes this service implements",
        ),
        Link::new(base.ogc("/collections"), "data", JSON, "The collections"),
        Link::new(base.ogc("/collections"), REL_DATA, JSON, "The collections"),
        Link::new(
            base.ogc("/tileMatrixSets"),
            super::REL_TILING_SCHEMES,
            JSON,
            "The tile matrix sets of the vector tiles",
        ),
    ];
    Ok(document(
        &Landing {
            title: "用地报批 OGC API – Features",
            description: "Control layers, case parcels, check overlaps, approved-but-unsupplied land and idle land of the land-use approval service, for QGIS, ArcGIS Pro and GDAL. Sign in with an API token: as a bearer token, or as the password of HTTP Basic (any user name).",
            links,
        },
        JSON,
    ))
}

/// `GET /ogc/conformance`.
#[tracing::instrument(skip_all)]
pub async fn conformance(query: RawQuery) -> Result<Response, OgcError> {
    QueryParams::new(query)?.metadata_only()?;
    Ok(document(
        &Conformance {
            conforms_to: &CONFORMANCE,
        },
        JSON,
    ))
}

/// `GET /ogc/api`: the OpenAPI 3.0 definition of these endpoints, with each collection's items
/// path and the properties it can be filtered by.
#[tracing::instrument(skip_all)]
pub async fn api(
    State(state): State<AppState>,
    base: ExternalBase,
    query: RawQuery,
) -> Result<Response, OgcError> {
    QueryParams::new(query)?.metadata_only()?;
    let mut conn = connection(&state, &ReadHint::any(), &no_county()).await?;
    let limits = settings::limits(&mut conn).await?;
    let mut collections = Vec::new();
    for collection in catalog::list(&mut conn).await? {
        let properties = collection.properties(&mut conn).await?;
        collections.push((collection, properties));
    }
    Ok(document(
        &openapi::document(&base, &collections, limits),
        OPENAPI_JSON,
    ))
}

/// `GET /ogc/api.html`: the API documentation for people.
#[tracing::instrument(skip_all)]
pub async fn api_html(base: ExternalBase, query: RawQuery) -> Result<Response, OgcError> {
    let params = QueryParams::new(query)?;
    if let Some((name, _)) = params.pairs().first() {
        return Err(unknown(name, &[]));
    }
    Ok(Html(openapi::html(&base)).into_response())
}

/// `GET /ogc/collections`.
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn collections(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    base: ExternalBase,
    query: RawQuery,
) -> Result<Response, OgcError> {
    QueryParams::new(query)?.metadata_only()?;
    let mut conn = connection(&state, &hint, &caller.scope()).await?;
    let today = bureau_date(state.clock.now());
    let mut entries = Vec::new();
    for collection in catalog::list(&mut conn).await? {
        let extent = catalog::extent(&mut conn, &caller, &collection, today).await?;
        entries.push(catalog::metadata(&collection, &extent, None, &base));
    }
    Ok(document(
        &CollectionList {
            links: vec![Link::new(base.ogc("/collections"), "self", JSON, "This document")],
            collections: entries,
            crs: OgcCrs::offered().iter().map(|c| c.uri()).collect(),
        },
        JSON,
    ))
}

/// `GET /ogc/collections/{collectionId}`.
#[tracing::instrument(skip_all, fields(user = %caller.name, collection = %id))]
pub async fn collection(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    base: ExternalBase,
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<Response, OgcError> {
    QueryParams::new(query)?.metadata_only()?;
    let mut conn = connection(&state, &hint, &caller.scope()).await?;
    let collection = catalog::find(&mut conn, &id).await?;
    let today = bureau_date(state.clock.now());
    let extent = catalog::extent(&mut conn, &caller, &collection, today).await?;
    let all_versions = match &collection.source {
        Source::Layer { kind, .. } => Some(catalog::versions_of_kind(&mut conn, kind).await?),
        _ => None,
    };
    Ok(document(
        &catalog::metadata(&collection, &extent, all_versions.as_deref(), &base),
        JSON,
    ))
}

/// `GET /ogc/collections/{collectionId}/schema`: the features' properties (`describedby`).
#[tracing::instrument(skip_all, fields(user = %caller.name, collection = %id))]
pub async fn schema(
    State(state): State<AppState>,
    caller: Caller,
    base: ExternalBase,
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<Response, OgcError> {
    properties_document(state, base, id, query, false).await
}

/// `GET /ogc/collections/{collectionId}/queryables`: the properties `name=value` filters by.
#[tracing::instrument(skip_all, fields(user = %caller.name, collection = %id))]
pub async fn queryables(
    State(state): State<AppState>,
    caller: Caller,
    base: ExternalBase,
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<Response, OgcError> {
    properties_document(state, base, id, query, true).await
}

async fn properties_document(
    state: AppState,
    base: ExternalBase,
    id: String,
    query: RawQuery,
    queryables_only: bool,
) -> Result<Response, OgcError> {
    QueryParams::new(query)?.metadata_only()?;
    let mut conn = connection(&state, &ReadHint::any(), &no_county()).await?;
    let collection = catalog::find(&mut conn, &id).await?;
    let properties = collection.properties(&mut conn).await?;
    Ok(document(
        &catalog::properties_schema(&collection, &properties, &base, queryables_only),
        super::SCHEMA_JSON,
    ))
}

fn crs_header(crs: OgcCrs) -> HeaderValue {
    HeaderValue::from_str(&crs.content_crs()).unwrap_or_else(|_| HeaderValue::from_static("<>"))
}

/// A 200 with features in `media_type`, their coordinates in `crs` (`Content-Crs`).
fn features(media_type: &'static str, crs: OgcCrs, body: impl IntoResponse) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (CONTENT_CRS, crs_header(crs)),
        ],
        body,
    )
        .into_response()
}

/// `GET /ogc/collections/{collectionId}/items`: a page of features, streamed.
#[tracing::instrument(skip_all, fields(user = %caller.name, collection = %id))]
pub async fn items(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    base: ExternalBase,
    Path(id): Path<String>,
    query: RawQuery,
) -> Result<Response, OgcError> {
    let params = QueryParams::new(query)?;
    let mut conn = connection(&state, &hint, &caller.scope()).await?;
    let collection = catalog::find(&mut conn, &id).await?;
    let limits = settings::limits(&mut conn).await?;
    let items_query = ItemsQuery::parse(
        &params,
        limits,
        collection.temporal_property().is_some(),
        collection.key_kind(),
    )?;
    let today = bureau_date(state.clock.now());
    let filters = Filters::build(&mut conn, &collection, &caller, &items_query, today).await?;
    // numberMatched on the first page only: clients read it there, and counting again on every
    // deeper page would make deep pages cost more than the first.
    let matched = if items_query.cursor.is_none() {
        Some(filters.count(&mut conn, &collection).await?)
    } else {
        None
    };
    drop(conn);
    let media_type = items_query.format.media_type();
    let crs = items_query.crs;
    let context = PageContext {
        collection,
        query: items_query,
        request_pairs: params.pairs().to_vec(),
        base,
        matched,
        now: state.clock.now(),
    };
    let body = items::page_body(&state.reads, hint, caller.scope(), context, filters);
    Ok(features(media_type, crs, body))
}

/// `GET /ogc/collections/{collectionId}/items/{featureId}`.
#[tracing::instrument(skip_all, fields(user = %caller.name, collection = %id, feature = %feature))]
pub async fn item(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    base: ExternalBase,
    Path((id, feature)): Path<(String, String)>,
    query: RawQuery,
) -> Result<Response, OgcError> {
    let params = QueryParams::new(query)?;
    let mut crs = OgcCrs::Crs84;
    let mut media_type = GEOJSON;
    for (name, value) in params.pairs() {
        match name.as_str() {
            "crs" => crs = OgcCrs::parse(value).map_err(|e| OgcError::parameter("crs", e.to_string()))?,
            "f" => {
                media_type = match value.as_str() {
                    "geojson" | "application/geo+json" => GEOJSON,
                    "json" | "application/json" => JSON,
                    other => {
                        return Err(OgcError::parameter(
                            "f",
                            format!("{other:?} is not offered; use f=geojson (the default) or f=json"),
                        ))
                    }
                }
            }
            _ => return Err(unknown(name, &["crs", "f"])),
        }
    }
    let mut conn = connection(&state, &hint, &caller.scope()).await?;
    let collection = catalog::find(&mut conn, &id).await?;
    let key = FeatureKey::from_path(&feature, collection.key_kind()).ok_or(ApiError::NotFound("feature"))?;
    let today = bureau_date(state.clock.now());
    let found = items::single_feature(&mut conn, &collection, &caller, key, crs, &base, today)
        .await?
        .ok_or(ApiError::NotFound("feature"))?;
    Ok(features(media_type, crs, found))
}
