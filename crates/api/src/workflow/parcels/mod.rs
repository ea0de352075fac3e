//! The parcels of a case: uploaded as GeoJSON or as the boundary-point coordinate file
//! ([`upload`]), read back as either (`GET /cases/{id}/parcels`). Every change marks the case's
//! latest check stale.

pub mod upload;

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use geo_types::MultiPolygon;
use landuse_domain::units::SquareMetres;
use landuse_spatial::{
    coordfile::{CoordFile, ParcelAttributes},
    crs::GkZone,
    geojson_out, wkb_io,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::cases::load_case;
use crate::{
    app::AppState,
    auth::Caller,
    http::{error::ApiError, etag::etag_header},
    reads::ReadHint,
    store::{self, parcels::ParcelRow},
};

/// The parcels of a case as a GeoJSON `FeatureCollection` (RFC 7946, longitude and latitude).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParcelCollection {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    /// One feature per parcel, in the case's order.
    pub features: Vec<ParcelFeature>,
}

/// The GeoJSON type of a [`ParcelCollection`].
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub enum FeatureCollectionType {
    /// The only value.
    FeatureCollection,
}

/// The GeoJSON type of a [`ParcelFeature`].
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub enum FeatureType {
    /// The only value.
    Feature,
}

/// One parcel as a GeoJSON `Feature`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParcelFeature {
    /// Always `Feature`.
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// The parcel's id.
    pub id: Uuid,
    /// Its geometry, a GeoJSON `MultiPolygon` wound as RFC 7946 asks.
    #[schema(value_type = Object)]
    pub geometry: Value,
    /// Its number, name, areas and where it came from.
    pub properties: ParcelProperties,
}

/// Where a parcel came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParcelSource {
    /// A GeoJSON upload.
    Geojson,
    /// A boundary-point coordinate file.
    CoordinateFile,
}

impl ParcelSource {
    /// The code stored with the parcel.
    pub fn code(self) -> &'static str {
        match self {
            Self::Geojson => "geojson",
            Self::CoordinateFile => "coordinate_file",
        }
    }
}

/// A parcel's properties.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParcelProperties {
    /// Its place in the case, from 1.
    pub seq: i32,
    /// Its name (empty when the upload gave none).
    pub name: String,
    /// Its ellipsoidal area (CGCS2000) in square metres.
    pub area_m2: f64,
    /// The same in mu, rounded as the bureau rounds.
    pub area_mu: f64,
    /// The same in hectares, to four places.
    pub area_ha: f64,
    /// Its planar Gauss–Krüger area, for a parcel read from a coordinate file.
    pub planar_area_m2: Option<f64>,
    /// The area the coordinate file stated.
    pub stated_area_m2: Option<f64>,
    /// The Gauss–Krüger zone of the coordinate file.
    pub zone: Option<i32>,
    /// Where it came from.
    pub source: ParcelSource,
    /// The attributes the upload carried (GeoJSON properties, or the coordinate file's number,
    /// land use, land class and sheet).
    #[schema(value_type = Object)]
    pub attributes: Value,
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

fn parcel_feature(row: ParcelRow) -> Result<ParcelFeature, ApiError> {
    let geometry = serde_json::to_value(geojson_out::multi_polygon(&parcel_geometry(&row)?))
        .map_err(|e| ApiError::internal("writing GeoJSON", e))?;
    let area = SquareMetres::new(row.area_m2).map_err(|e| ApiError::internal("reading an area", e))?;
    let source = ParcelSource::deserialize(Value::String(row.source))
        .map_err(|e| ApiError::internal("reading a parcel's source", e))?;
    Ok(ParcelFeature {
        kind: FeatureType::Feature,
        id: row.id,
        geometry,
        properties: ParcelProperties {
            seq: row.seq,
            name: row.name,
            area_m2: row.area_m2,
            area_mu: area.mu_rounded(),
            area_ha: area.hectares_rounded(),
            planar_area_m2: row.planar_area_m2,
            stated_area_m2: row.stated_area_m2,
            zone: row.zone,
            source,
            attributes: row.attributes,
        },
    })
}

/// Every parcel of a case, as GeoJSON.
///
/// # Errors
/// Database failures; a corrupt row.
pub async fn parcels_collection(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<ParcelCollection, ApiError> {
    let features = store::parcels::of_case(conn, case_id)
        .await?
        .into_iter()
        .map(parcel_feature)
        .collect::<Result<_, _>>()?;
    Ok(ParcelCollection {
        kind: FeatureCollectionType::FeatureCollection,
        features,
    })
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

/// Whether the caller asked for the coordinate file rather than GeoJSON.
fn wants_coordinate_file(query: &ParcelsQuery, headers: &HeaderMap) -> Result<bool, ApiError> {
    match query.format.as_deref() {
        Some("txt") => Ok(true),
        Some("geojson") => Ok(false),
        Some(other) => Err(ApiError::invalid(
            "invalid-parameter",
            "format",
            format!("format must be geojson or txt, not {other:?}"),
        )),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("text/plain"))),
    }
}

/// `GET /api/v1/cases/{id}/parcels`: the parcels as GeoJSON, or as the coordinate file with
/// `?format=txt` (or `Accept: text/plain`).
#[utoipa::path(get, path = "/cases/{id}/parcels", tag = "parcels", params(("id" = Uuid, Path, description = "The case id"), ParcelsQuery), responses((status = 200, description = "The parcels", content((ParcelCollection = "application/geo+json"), (String = "text/plain")), headers(("ETag" = String, description = "The case's version (GeoJSON only)")))))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    Path(id): Path<Uuid>,
    Query(query): Query<ParcelsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let wants_txt = wants_coordinate_file(&query, &headers)?;
    let mut conn = state.read_for(&caller, &hint).await?;
    let case = load_case(&mut conn, &caller, id, false).await?;
    if !wants_txt {
        let collection = parcels_collection(&mut conn, id).await?;
        let geojson = HeaderValue::from_static("application/geo+json");
        let etag = etag_header(case.version);
        return Ok((
            [(header::CONTENT_TYPE, geojson), (header::ETAG, etag)],
            Json(collection),
        )
            .into_response());
    }
    let rows = store::parcels::of_case(&mut conn, id).await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound("parcels of this case"));
    }
    let bytes = coordinate_file(&rows, &case.title)?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{id}.txt\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let text = HeaderValue::from_static("text/plain; charset=GBK");
    Ok((
        [
            (header::CONTENT_TYPE, text),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The parcels as the standard coordinate file (GBK), in their source zone when they came from
/// one, else the zone of their first vertex; a parcel without a name takes the case's title.
fn coordinate_file(rows: &[ParcelRow], title: &str) -> Result<Vec<u8>, ApiError> {
    let mut parcels = Vec::with_capacity(rows.len());
    for row in rows {
        let attributes = ParcelAttributes {
            number: row.seq.to_string(),
            name: if row.name.is_empty() {
                title.to_owned()
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
    file.write_gbk()
        .map_err(|e| ApiError::internal("encoding the coordinate file", e))
}
