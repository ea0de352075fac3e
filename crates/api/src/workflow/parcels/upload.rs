//! `PUT` and `POST /cases/{id}/parcels`: replace or add to a case's parcels, from GeoJSON or a
//! boundary-point coordinate file, while the footprint may still change.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use geo_types::MultiPolygon;
use landuse_domain::{role::Role, stage::Stage};
use landuse_spatial::{
    area,
    coordfile::{self, CoordFileWarning},
    geojson_in::{self, LayerGeometry, ParcelsError},
    wkb_io,
};
use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{parcels_collection, ParcelCollection, ParcelSource};
use crate::{
    app::AppState,
    http::{
        error::ApiError,
        etag::etag_header,
        idempotency::Reply,
        write::{Raw, Write},
    },
    store::{self, parcels::NewParcelRow},
    workflow::{
        cases::{
            write::{lock_case, record},
            CaseEvent,
        },
        projects::phases,
    },
};

/// Stages in which the footprint may still change.
const EDITABLE: [Stage; 4] = [Stage::Draft, Stage::Correction, Stage::Accepted, Stage::PreReview];

/// The answer to a parcel upload.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParcelsChanged {
    /// Every parcel of the case now.
    pub parcels: ParcelCollection,
    /// What the coordinate file's reader noticed but accepted, each with its `code` and line.
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<CoordFileWarning>,
    /// Whether the latest check no longer matches the parcels and must be run again.
    pub check_marked_stale: bool,
}

/// One parcel read from an upload, ready to store.
#[derive(Debug)]
pub(crate) struct NewParcel {
    name: String,
    geometry: MultiPolygon,
    area_m2: f64,
    planar_area_m2: Option<f64>,
    stated_area_m2: Option<f64>,
    zone: Option<u8>,
    /// Where it came from.
    pub(crate) source: ParcelSource,
    attributes: Value,
}

fn vertex_count(mp: &MultiPolygon) -> usize {
    mp.0.iter()
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum()
}

/// Reads an upload by its declared type: a coordinate file (`text/plain` or
/// `application/octet-stream`) or GeoJSON (`application/geo+json` or `application/json`).
/// Advance-use requests read their parcels through it too.
pub(crate) fn parse_upload(body: &Raw) -> Result<(Vec<NewParcel>, Vec<CoordFileWarning>), ApiError> {
    match body.content_type.as_deref() {
        Some("text/plain" | "application/octet-stream") => parse_coordinate_file(&body.bytes),
        Some("application/json" | "application/geo+json") => Ok((parse_geojson(&body.bytes)?, Vec::new())),
        _ => Err(ApiError::Invalid {
            slug: "unsupported-media-type",
            detail: "send parcels as GeoJSON (application/geo+json) or as a coordinate file (text/plain)"
                .to_owned(),
            field: None,
        }),
    }
}

fn parse_coordinate_file(body: &[u8]) -> Result<(Vec<NewParcel>, Vec<CoordFileWarning>), ApiError> {
    let import = coordfile::read(body).map_err(|e| ApiError::Invalid {
        slug: "invalid-coordinate-file",
        detail: e.to_string(),
        field: None,
    })?;
    let zone = import.file.zone.number();
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
                zone: Some(zone),
                source: ParcelSource::CoordinateFile,
                attributes: Value::Object(attributes),
            }
        })
        .collect();
    Ok((parcels, import.warnings))
}

/// A refusal of a GeoJSON upload, naming the first refused feature.
fn geojson_refused(e: &ParcelsError) -> ApiError {
    let field = match e {
        ParcelsError::Refused(list) => list
            .first()
            .and_then(|r| serde_json::to_value(r).ok())
            .and_then(|r| r["index"].as_u64())
            .map(|i| format!("features[{i}]")),
        _ => None,
    };
    ApiError::Invalid {
        slug: "invalid-geojson",
        detail: e.to_string(),
        field,
    }
}

fn parse_geojson(body: &[u8]) -> Result<Vec<NewParcel>, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::Invalid {
        slug: "invalid-geojson",
        detail: "GeoJSON must be UTF-8 (RFC 7946)".to_owned(),
        field: None,
    })?;
    let features = geojson_in::read_parcels(text).map_err(|e| geojson_refused(&e))?;
    features
        .into_iter()
        .map(|f| {
            let LayerGeometry::Polygons(geometry) = f.geometry else {
                return Err(ApiError::invalid(
                    "invalid-geojson",
                    format!("features[{}]", f.index),
                    "a parcel must be a Polygon or MultiPolygon",
                ));
            };
            Ok(NewParcel {
                name: f
                    .properties
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                area_m2: area::ellipsoidal_area(&geometry),
                geometry,
                planar_area_m2: None,
                stated_area_m2: None,
                zone: None,
                source: ParcelSource::Geojson,
                attributes: Value::Object(f.properties),
            })
        })
        .collect()
}

/// Refuses (413) an upload that would leave the case with more parcel vertices than `cap`.
pub(crate) fn check_vertex_cap(existing: i64, parcels: &[NewParcel], cap: usize) -> Result<(), ApiError> {
    let existing = usize::try_from(existing).unwrap_or(usize::MAX);
    let added: usize = parcels.iter().map(|p| vertex_count(&p.geometry)).sum();
    if existing.saturating_add(added) > cap {
        return Err(ApiError::TooLarge(format!(
            "a case may have at most {cap} parcel vertices; this would make {}",
            existing.saturating_add(added)
        )));
    }
    Ok(())
}

/// Each parcel's geometry as WKB, to bind.
pub(crate) fn encode(parcels: &[NewParcel]) -> Result<Vec<Vec<u8>>, ApiError> {
    parcels
        .iter()
        .map(|p| {
            wkb_io::multi_polygon_to_wkb(&p.geometry).map_err(|e| ApiError::internal("encoding a parcel", e))
        })
        .collect()
}

/// Stores `parcels` after the case's, each as WKB.
async fn append(conn: &mut sqlx::PgConnection, case_id: Uuid, parcels: &[NewParcel]) -> Result<(), ApiError> {
    let wkbs = encode(parcels)?;
    let rows: Vec<NewParcelRow> = parcels
        .iter()
        .zip(&wkbs)
        .map(|(p, wkb)| NewParcelRow {
            name: &p.name,
            wkb,
            area_m2: p.area_m2,
            planar_area_m2: p.planar_area_m2,
            stated_area_m2: p.stated_area_m2,
            zone: p.zone.map(i32::from),
            source: p.source.code(),
            attributes: &p.attributes,
        })
        .collect();
    Ok(store::parcels::append(conn, case_id, &rows).await?)
}

/// `PUT /api/v1/cases/{id}/parcels`: replaces the case's parcels, from GeoJSON
/// (`application/geo+json`) or a coordinate file (`text/plain`, GBK or UTF-8), under `If-Match`.
#[utoipa::path(put, path = "/cases/{id}/parcels", operation_id = "replace_parcels", tag = "parcels", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body(description = "A GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection, or a boundary-point coordinate file (GBK or UTF-8)", content((Object = "application/geo+json"), (Object = "application/json"), (String = "text/plain"))), responses((status = 200, description = "The parcels replaced", body = ParcelsChanged, headers(("ETag" = String, description = "The case's new version")))))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn replace(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    write: Write<Raw>,
) -> Result<Response, ApiError> {
    upload(&state, id, &headers, write, true).await
}

/// `POST /api/v1/cases/{id}/parcels`: adds parcels to the case's, as `PUT` takes them.
#[utoipa::path(post, path = "/cases/{id}/parcels", operation_id = "add_parcels", tag = "parcels", params(("id" = Uuid, Path, description = "The case id"), ("If-Match" = String, Header, description = "The ETag of the last read")), request_body(description = "A GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection, or a boundary-point coordinate file (GBK or UTF-8)", content((Object = "application/geo+json"), (Object = "application/json"), (String = "text/plain"))), responses((status = 201, description = "The parcels added", body = ParcelsChanged, headers(("ETag" = String, description = "The case's new version")))))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn add(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    write: Write<Raw>,
) -> Result<Response, ApiError> {
    upload(&state, id, &headers, write, false).await
}

/// Replaces (`replace`) or adds to the case's parcels, marks its checks stale, and answers
/// every parcel it now has.
async fn upload(
    state: &AppState,
    id: Uuid,
    headers: &HeaderMap,
    mut write: Write<Raw>,
    replace: bool,
) -> Result<Response, ApiError> {
    write
        .caller
        .require(&[Role::Officer], "change a case's parcels")?;
    let (parcels, warnings) = parse_upload(&write.body)?;
    let case = lock_case(&mut write, id, headers).await?;
    let stage = case.state()?.stage();
    if !EDITABLE.contains(&stage) {
        let detail = format!("the parcels of a case in {stage} can no longer change");
        return Err(ApiError::conflict("parcels-frozen", detail));
    }
    let existing = if replace {
        0
    } else {
        store::parcels::vertex_count(&mut write.tx, id).await?
    };
    check_vertex_cap(existing, &parcels, state.config.serve.max_parcel_vertices)?;
    if replace {
        store::parcels::remove_all(&mut write.tx, id).await?;
    }
    append(&mut write.tx, id, &parcels).await?;
    phases::refuse_overlap(&mut write.tx, id, case.project_id).await?;
    let stale = store::checks::mark_stale(&mut write.tx, id).await?;
    let kind = if replace {
        "parcels_replaced"
    } else {
        "parcels_added"
    };
    let source = parcels.first().map(|p| p.source);
    let details = json!({ "parcels": parcels.len(), "source": source, "checks_marked_stale": stale });
    let version = record(&mut write, id, &CaseEvent::at(stage, kind).with(details)).await?;
    let changed = ParcelsChanged {
        parcels: parcels_collection(&mut write.tx, id).await?,
        warnings,
        check_marked_stale: stale > 0,
    };
    let status = if replace {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let reply = Reply::json(status, &changed)?.header(axum::http::header::ETAG, etag_header(version));
    write.finish(reply).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::body::Bytes;

    use super::*;

    fn raw(content_type: Option<&str>, body: &'static str) -> Raw {
        Raw {
            content_type: content_type.map(str::to_owned),
            bytes: Bytes::from_static(body.as_bytes()),
        }
    }

    fn slug(refusal: Result<impl std::fmt::Debug, ApiError>) -> String {
        match refusal {
            Err(ApiError::Invalid { slug, .. }) => slug.to_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn an_upload_is_read_by_its_declared_type_and_any_other_type_is_refused() {
        let square = r#"{"type": "Polygon", "coordinates": [[[109.0, 32.7], [109.001, 32.7], [109.001, 32.701], [109.0, 32.7]]]}"#;
        let (parcels, warnings) = parse_upload(&raw(Some("application/geo+json"), square)).unwrap();
        assert_eq!((parcels.len(), warnings.len()), (1, 0));
        assert_eq!(parcels[0].source, ParcelSource::Geojson);
        assert_eq!(
            slug(parse_upload(&raw(Some("text/csv"), square))),
            "unsupported-media-type"
        );
        assert_eq!(slug(parse_upload(&raw(None, square))), "unsupported-media-type");
        assert_eq!(
            slug(parse_upload(&raw(Some("text/plain"), "not a coordinate file"))),
            "invalid-coordinate-file"
        );
    }

    #[test]
    fn the_vertex_cap_counts_what_the_case_has_and_what_is_added() {
        let square = r#"{"type": "Polygon", "coordinates": [[[109.0, 32.7], [109.001, 32.7], [109.001, 32.701], [109.0, 32.7]]]}"#;
        let (parcels, _) = parse_upload(&raw(Some("application/json"), square)).unwrap();
        let added = vertex_count(&parcels[0].geometry);
        assert!(check_vertex_cap(0, &parcels, added).is_ok());
        assert!(matches!(
            check_vertex_cap(1, &parcels, added),
            Err(ApiError::TooLarge(_))
        ));
    }
}
