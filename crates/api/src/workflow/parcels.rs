//! The parcels of a case: uploaded as GeoJSON or as the boundary-point coordinate file, read
//! back as either. Every change marks the case's last check stale.

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use geo_types::MultiPolygon;
use landuse_domain::{role::Role, stage::Stage, units::SquareMetres};
use landuse_spatial::{
    area,
    coordfile::{self, CoordFile, ParcelAttributes},
    crs::GkZone,
    geojson_in::{self, LayerGeometry, ParcelsError},
    geojson_out, wkb_io,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::cases::{append_event, load_case};
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::{etag_header, require_if_match},
        idempotency::{IdempotencyKey, Reply},
    },
};

/// Stages in which the footprint may still change.
const EDITABLE: [Stage; 4] = [Stage::Draft, Stage::Correction, Stage::Accepted, Stage::PreReview];

/// One parcel ready to store.
struct NewParcel {
    name: String,
    geometry: MultiPolygon,
    area_m2: f64,
    planar_area_m2: Option<f64>,
    stated_area_m2: Option<f64>,
    zone: Option<u8>,
    source: &'static str,
    attributes: Map<String, Value>,
}

fn vertex_count(mp: &MultiPolygon) -> usize {
    mp.0.iter()
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum()
}

fn is_coordinate_file(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .is_some_and(|m| {
            m.eq_ignore_ascii_case("text/plain") || m.eq_ignore_ascii_case("application/octet-stream")
        })
}

fn parse_upload(headers: &HeaderMap, body: &[u8]) -> Result<(Vec<NewParcel>, Vec<Value>), ApiError> {
    if is_coordinate_file(headers) {
        parse_coordinate_file(body)
    } else {
        Ok((parse_geojson(headers, body)?, Vec::new()))
    }
}

fn parse_coordinate_file(body: &[u8]) -> Result<(Vec<NewParcel>, Vec<Value>), ApiError> {
    let import = coordfile::read(body).map_err(|e| ApiError::Invalid {
        slug: "invalid-coordinate-file",
        detail: e.to_string(),
        field: None,
    })?;
    let warnings = import
        .warnings
        .iter()
        .filter_map(|w| serde_json::to_value(w).ok())
        .collect();
    let parcels = import
        .parcels
        .into_iter()
        .map(|p| {
            let attrs = import
                .file
                .parcels
                .get(p.index)
                .map(|c| c.attributes.clone())
                .unwrap_or_default();
            let mut attributes = Map::new();
            for (key, value) in [
                ("number", &attrs.number),
                ("land_use", &attrs.land_use),
                ("land_class", &attrs.land_class),
                ("sheet", &attrs.sheet),
            ] {
                if !value.is_empty() {
                    attributes.insert(key.to_owned(), Value::String(value.clone()));
                }
            }
            NewParcel {
                name: attrs.name.clone(),
                geometry: p.lonlat,
                area_m2: p.ellipsoidal_area_m2,
                planar_area_m2: Some(p.planar_area_m2),
                stated_area_m2: p.stated_area_m2,
                zone: Some(import.file.zone.number()),
                source: "coordinate_file",
                attributes,
            }
        })
        .collect();
    Ok((parcels, warnings))
}

fn parse_geojson(headers: &HeaderMap, body: &[u8]) -> Result<Vec<NewParcel>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !(mime.eq_ignore_ascii_case("application/json") || mime.eq_ignore_ascii_case("application/geo+json")) {
        return Err(ApiError::Invalid {
            slug: "unsupported-media-type",
            detail: "send parcels as GeoJSON (application/geo+json) or as a coordinate file (text/plain)"
                .to_owned(),
            field: None,
        });
    }
    let text = std::str::from_utf8(body).map_err(|_| ApiError::Invalid {
        slug: "invalid-geojson",
        detail: "GeoJSON must be UTF-8 (RFC 7946)".to_owned(),
        field: None,
    })?;
    let features = geojson_in::read_parcels(text).map_err(|e| {
        let detail = e.to_string();
        let refusals = match &e {
            ParcelsError::Refused(list) => list.iter().filter_map(|r| serde_json::to_value(r).ok()).collect(),
            _ => Vec::new(),
        };
        let mut problem = ApiError::Invalid {
            slug: "invalid-geojson",
            detail,
            field: None,
        };
        if let (ApiError::Invalid { field, .. }, Some(first)) = (&mut problem, refusals.first()) {
            *field = first["index"].as_u64().map(|i| format!("features[{i}]"));
        }
        problem
    })?;
    let parcels = features
        .into_iter()
        .map(|f| {
            let LayerGeometry::Polygons(geometry) = f.geometry else {
                return Err(ApiError::invalid(
                    "invalid-geojson",
                    format!("features[{}]", f.index),
                    "a parcel must be a Polygon or MultiPolygon",
                ));
            };
            let name = f
                .properties
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Ok(NewParcel {
                name,
                area_m2: area::ellipsoidal_area(&geometry),
                geometry,
                planar_area_m2: None,
                stated_area_m2: None,
                zone: None,
                source: "geojson",
                attributes: f.properties,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parcels)
}

/// `PUT /api/v1/cases/{id}/parcels`: replaces the case's parcels, from GeoJSON
/// (`application/geo+json`) or a coordinate file (`text/plain`, GBK or UTF-8), under `If-Match`.
#[utoipa::path(put, path = "/cases/{id}/parcels", operation_id = "replace_parcels", tag = "parcels", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body(description = "A GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection, or a boundary-point coordinate file (GBK or UTF-8)", content((serde_json::Value = "application/geo+json"), (serde_json::Value = "application/json"), (String = "text/plain"))), responses((status = 200, description = "The parcels replaced", body = ParcelsChanged, headers(("ETag" = String, description = "The new version")))))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    upload(&state, &caller, idem, id, &headers, &body, true).await
}

/// `POST /api/v1/cases/{id}/parcels`: adds parcels to the case's, as `PUT` takes them.
#[utoipa::path(post, path = "/cases/{id}/parcels", operation_id = "add_parcels", tag = "parcels", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body(description = "A GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection, or a boundary-point coordinate file (GBK or UTF-8)", content((serde_json::Value = "application/geo+json"), (serde_json::Value = "application/json"), (String = "text/plain"))), responses((status = 201, description = "The parcels added", body = ParcelsChanged, headers(("ETag" = String, description = "The new version")))))]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    upload(&state, &caller, idem, id, &headers, &body, false).await
}

/// Refuses (413) an upload that would leave the case with more parcel vertices than allowed.
async fn check_vertex_cap(
    tx: &mut PgConnection,
    state: &AppState,
    id: Uuid,
    parcels: &[NewParcel],
    replace: bool,
) -> Result<(), ApiError> {
    let existing: i64 = if replace {
        0
    } else {
        sqlx::query_scalar(
            "select coalesce(sum(st_npoints(geom)), 0)::bigint from parcels where case_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| ApiError::db("counting vertices", e))?
    };
    let added: usize = parcels.iter().map(|p| vertex_count(&p.geometry)).sum();
    let cap = state.config.serve.max_parcel_vertices;
    if usize::try_from(existing)
        .unwrap_or(usize::MAX)
        .saturating_add(added)
        > cap
    {
        return Err(ApiError::TooLarge(format!(
            "a case may have at most {cap} parcel vertices; this would make {}",
            usize::try_from(existing).unwrap_or(0) + added
        )));
    }
    Ok(())
}

async fn upload(
    state: &AppState,
    caller: &Caller,
    idem: IdempotencyKey,
    id: Uuid,
    headers: &HeaderMap,
    body: &Bytes,
    replace: bool,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Officer], "change a case's parcels")?;
    let digest: [u8; 32] = Sha256::digest(body).into();
    if let Some(replay) = idem.replay(&state.db, caller, &digest).await? {
        return Ok(replay);
    }
    let (parcels, warnings) = parse_upload(headers, body)?;
    let now = state.clock.now();
    let mut tx = state.begin_for(caller).await?;
    let case = load_case(&mut tx, caller, id, true).await?;
    require_if_match(headers, case.version)?;
    let stage = case.state()?.stage();
    if !EDITABLE.contains(&stage) {
        return Err(ApiError::conflict(
            "parcels-frozen",
            format!("the parcels of a case in {stage} can no longer change"),
        ));
    }
    check_vertex_cap(&mut tx, state, id, &parcels, replace).await?;
    if replace {
        sqlx::query("delete from parcels where case_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| ApiError::db("removing the old parcels", e))?;
    }
    let first_seq: i32 = sqlx::query_scalar("select coalesce(max(seq), 0) from parcels where case_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| ApiError::db("numbering parcels", e))?;
    for (offset, parcel) in parcels.iter().enumerate() {
        insert_parcel(
            &mut tx,
            id,
            first_seq + i32::try_from(offset).unwrap_or(i32::MAX) + 1,
            parcel,
        )
        .await?;
    }
    let stale = sqlx::query("update checks set stale = true where case_id = $1 and not stale")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| ApiError::db("marking the check stale", e))?
        .rows_affected();
    append_event(
        &mut tx,
        id,
        now,
        caller,
        if replace { "parcels_replaced" } else { "parcels_added" },
        (Some(stage), Some(stage)),
        None,
        json!({ "parcels": parcels.len(), "source": parcels.first().map(|p| p.source), "checks_marked_stale": stale }),
    )
    .await?;
    let version: i64 = sqlx::query_scalar(
        "update cases set version = version + 1, updated_at = $2 where id = $1 returning version",
    )
    .bind(id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| ApiError::db("updating the case", e))?;
    let collection = parcels_collection(&mut tx, id).await?;
    let reply = Reply::new(
        if replace {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        json!(ParcelsChanged {
            parcels: collection,
            warnings,
            check_marked_stale: stale > 0,
        }),
    )
    .header(header::ETAG, etag_header(version));
    idem.finish(tx, &state.db, caller, &digest, reply).await
}

async fn insert_parcel(
    conn: &mut PgConnection,
    case_id: Uuid,
    seq: i32,
    parcel: &NewParcel,
) -> Result<(), ApiError> {
    let wkb = wkb_io::multi_polygon_to_wkb(&parcel.geometry)
        .map_err(|e| ApiError::internal("encoding a parcel", e))?;
    sqlx::query(
        "insert into parcels (id, case_id, seq, name, geom, area_m2, planar_area_m2, stated_area_m2, zone, source, attributes)
         values ($1, $2, $3, $4, st_geomfromwkb($5, 4490), $6, $7, $8, $9, $10, $11)",
    )
    .bind(Uuid::now_v7())
    .bind(case_id)
    .bind(seq)
    .bind(&parcel.name)
    .bind(wkb)
    .bind(parcel.area_m2)
    .bind(parcel.planar_area_m2)
    .bind(parcel.stated_area_m2)
    .bind(parcel.zone.map(i32::from))
    .bind(parcel.source)
    .bind(Value::Object(parcel.attributes.clone()))
    .execute(&mut *conn)
    .await
    .map_err(|e| ApiError::db("storing a parcel", e))?;
    Ok(())
}

/// A stored parcel.
#[derive(Debug, sqlx::FromRow)]
pub struct ParcelRow {
    /// Id.
    pub id: Uuid,
    /// Order in the case.
    pub seq: i32,
    /// Name.
    pub name: String,
    /// WKB geometry.
    pub wkb: Vec<u8>,
    /// Ellipsoidal area.
    pub area_m2: f64,
    /// Planar Gauss–Krüger area.
    pub planar_area_m2: Option<f64>,
    /// Stated area.
    pub stated_area_m2: Option<f64>,
    /// Gauss–Krüger zone of the source file.
    pub zone: Option<i32>,
    /// `geojson` or `coordinate_file`.
    pub source: String,
    /// Source attributes.
    pub attributes: Value,
}

/// Loads a case's parcels in order.
///
/// # Errors
/// Database failures.
pub async fn load_parcels(conn: &mut PgConnection, case_id: Uuid) -> Result<Vec<ParcelRow>, ApiError> {
    sqlx::query_as::<_, ParcelRow>(
        "select id, seq, name, st_asbinary(geom) as wkb, area_m2, planar_area_m2, stated_area_m2, zone, source, attributes
           from parcels where case_id = $1 order by seq",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("loading parcels", e))
}

/// The geometry of a stored parcel.
///
/// # Errors
/// A stored geometry that does not decode (a corrupt row).
pub fn parcel_geometry(row: &ParcelRow) -> Result<MultiPolygon, ApiError> {
    wkb_io::from_wkb(&row.wkb)
        .map(wkb_io::polygons_of)
        .map_err(|e| ApiError::internal("decoding a parcel", e))
}

async fn parcels_collection(conn: &mut PgConnection, case_id: Uuid) -> Result<Value, ApiError> {
    let mut features = Vec::new();
    for row in load_parcels(conn, case_id).await? {
        let geometry = parcel_geometry(&row)?;
        let area = SquareMetres::new(row.area_m2).map_err(|e| ApiError::internal("reading an area", e))?;
        let mut properties = Map::new();
        properties.insert("seq".into(), json!(row.seq));
        properties.insert("name".into(), json!(row.name));
        properties.insert("area_m2".into(), json!(row.area_m2));
        properties.insert("area_mu".into(), json!(area.mu_rounded()));
        properties.insert("area_ha".into(), json!(area.hectares_rounded()));
        properties.insert("planar_area_m2".into(), json!(row.planar_area_m2));
        properties.insert("stated_area_m2".into(), json!(row.stated_area_m2));
        properties.insert("zone".into(), json!(row.zone));
        properties.insert("source".into(), json!(row.source));
        properties.insert("attributes".into(), row.attributes);
        features.push(geojson_out::feature(
            Some(row.id.to_string()),
            properties,
            geojson_out::multi_polygon(&geometry),
        ));
    }
    serde_json::to_value(geojson_out::feature_collection(features))
        .map_err(|e| ApiError::internal("writing GeoJSON", e))
}

/// The answer to a parcel upload.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParcelsChanged {
    /// Every parcel of the case now, as a GeoJSON `FeatureCollection`.
    pub parcels: Value,
    /// What the coordinate file's reader noticed but accepted (each with its line).
    pub warnings: Vec<Value>,
    /// The latest check no longer matches the parcels and must be run again.
    pub check_marked_stale: bool,
}

/// Query of `GET /api/v1/cases/{id}/parcels`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ParcelsQuery {
    /// `geojson` (default) or `txt` for the standard coordinate file (GBK, CRLF).
    #[param(pattern = "^(geojson|txt)$")]
    pub format: Option<String>,
}

/// `GET /api/v1/cases/{id}/parcels`: the parcels as GeoJSON, or as the coordinate file with
/// `?format=txt` (or `Accept: text/plain`).
#[utoipa::path(get, path = "/cases/{id}/parcels", tag = "parcels", params(("id" = Uuid, Path, description = "The case id"), ParcelsQuery), responses((status = 200, description = "The parcels", content((serde_json::Value = "application/geo+json"), (String = "text/plain")))))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Query(query): Query<ParcelsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let wants_txt = match query.format.as_deref() {
        Some("txt") => true,
        Some("geojson") => false,
        Some(other) => {
            return Err(ApiError::invalid(
                "invalid-parameter",
                "format",
                format!("format must be geojson or txt, not {other:?}"),
            ))
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("text/plain")),
    };
    let mut conn = state.begin_for(&caller).await?;
    let case = load_case(&mut conn, &caller, id, false).await?;
    if !wants_txt {
        let collection = parcels_collection(&mut conn, id).await?;
        let mut response = axum::Json(collection).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/geo+json"),
        );
        response
            .headers_mut()
            .insert(header::ETAG, etag_header(case.version));
        return Ok(response);
    }
    let rows = load_parcels(&mut conn, id).await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound("parcels of this case"));
    }
    let mut parcels = Vec::with_capacity(rows.len());
    for row in &rows {
        let attributes = ParcelAttributes {
            number: row.seq.to_string(),
            name: if row.name.is_empty() {
                case.title.clone()
            } else {
                row.name.clone()
            },
            shape: "面".to_owned(),
            ..ParcelAttributes::default()
        };
        parcels.push((attributes, parcel_geometry(row)?));
    }
    let zone = if let Some(z) = rows.iter().find_map(|r| r.zone) {
        GkZone::new(i64::from(z))
    } else {
        let lon = parcels
            .first()
            .and_then(|(_, mp)| mp.0.first())
            .and_then(|p| p.exterior().0.first())
            .map_or(109.0, |c| c.x);
        GkZone::for_longitude(lon)
    }
    .map_err(|e| ApiError::internal("choosing the zone", e))?;
    let file = CoordFile::from_lonlat(zone, &parcels)
        .map_err(|e| ApiError::internal("writing the coordinate file", e))?;
    let bytes = file
        .write_gbk()
        .map_err(|e| ApiError::internal("encoding the coordinate file", e))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=GBK"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{id}.txt\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response())
}
