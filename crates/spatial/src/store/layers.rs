//! Reading the stored layers: their versions, the current ones that cover a county, and pages
//! of a version's features.

use chrono::{DateTime, Utc};
use geo_types::Geometry;
use landuse_domain::check::LayerKind;
use landuse_domain::county::CountyCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::{db, DbError};
use crate::wkb_io::{self, WkbError};

const CURRENT_VERSIONS: &str = include_str!("sql/current_versions.sql");

/// One layer version, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerVersion {
    /// The version's id.
    pub id: Uuid,
    /// The layer kind.
    pub kind: LayerKind,
    /// The jurisdiction (6-digit code).
    pub jurisdiction: String,
    /// Its number within kind and jurisdiction (1, 2, …).
    pub version_no: i32,
    /// Whether it is the current one.
    pub is_current: bool,
    /// The source's name.
    pub source_name: String,
    /// The source's CRS code.
    pub source_srid: i32,
    /// Features stored.
    pub feature_count: i32,
    /// Check pieces stored.
    pub piece_count: i32,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
    /// Who imported it.
    pub imported_by: Option<Uuid>,
    /// When a newer version replaced it.
    pub superseded_at: Option<DateTime<Utc>>,
}

/// Why a stored row could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The database refused.
    #[error(transparent)]
    Database(#[from] DbError),
    /// A stored kind the domain does not know.
    #[error("stored layer kind {0:?} is unknown")]
    UnknownKind(String),
    /// Stored geometry that is not WKB.
    #[error(transparent)]
    Wkb(#[from] WkbError),
}

fn version_from_row(row: &sqlx::postgres::PgRow) -> Result<LayerVersion, ReadError> {
    let get = |e| DbError {
        doing: "reading a layer version row",
        source: e,
    };
    let kind: String = row.try_get("kind").map_err(get)?;
    Ok(LayerVersion {
        id: row.try_get("id").map_err(get)?,
        kind: LayerKind::parse(&kind).map_err(|_| ReadError::UnknownKind(kind.clone()))?,
        jurisdiction: row.try_get("jurisdiction").map_err(get)?,
        version_no: row.try_get("version_no").map_err(get)?,
        is_current: row.try_get("is_current").map_err(get)?,
        source_name: row.try_get("source_name").map_err(get)?,
        source_srid: row.try_get("source_srid").map_err(get)?,
        feature_count: row.try_get("feature_count").map_err(get)?,
        piece_count: row.try_get("piece_count").map_err(get)?,
        imported_at: row.try_get("imported_at").map_err(get)?,
        imported_by: row.try_get("imported_by").map_err(get)?,
        superseded_at: row.try_get("superseded_at").map_err(get)?,
    })
}

/// Every version, newest first, optionally of one kind and/or one jurisdiction.
pub async fn list_versions(
    conn: &mut PgConnection,
    kind: Option<LayerKind>,
    jurisdiction: Option<CountyCode>,
) -> Result<Vec<LayerVersion>, ReadError> {
    let rows = sqlx::query(
        "select id, kind, jurisdiction, version_no, is_current, source_name, source_srid, \
                feature_count, piece_count, imported_at, imported_by, superseded_at \
         from layer_versions \
         where ($1::text is null or kind = $1) and ($2::text is null or jurisdiction = $2) \
         order by kind, jurisdiction, version_no desc",
    )
    .bind(kind.map(LayerKind::code))
    .bind(jurisdiction.map(|j| j.as_str().to_owned()))
    .fetch_all(&mut *conn)
    .await
    .map_err(db("listing layer versions"))?;
    rows.iter().map(version_from_row).collect()
}

/// The jurisdictions whose layers cover a county: itself, its city and its province.
pub fn covering_jurisdictions(county: CountyCode) -> Vec<String> {
    let code = county.as_str();
    let mut out = vec![
        code.to_owned(),
        format!("{}00", &code[..4]),
        format!("{}0000", &code[..2]),
    ];
    out.dedup();
    out
}

/// The current versions that cover a county (its own, its city's and its province's).
pub async fn current_versions(
    conn: &mut PgConnection,
    county: CountyCode,
) -> Result<Vec<LayerVersion>, ReadError> {
    let rows = sqlx::query(CURRENT_VERSIONS)
        .bind(covering_jurisdictions(county))
        .fetch_all(&mut *conn)
        .await
        .map_err(db("loading the current layer versions"))?;
    rows.iter().map(version_from_row).collect()
}

/// One stored feature.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFeature {
    /// The feature's id.
    pub id: i64,
    /// Its version.
    pub version_id: Uuid,
    /// Its `id` in the source.
    pub source_id: Option<String>,
    /// Its source attributes.
    pub attributes: Value,
    /// Its geometry in EPSG:4490.
    pub geometry: Geometry,
}

/// A page of a version's features in id order, after `after` (keyset paging: a deep page costs
/// what the first does), optionally within a lon/lat bounding box.
pub async fn features_page(
    conn: &mut PgConnection,
    version_id: Uuid,
    after: Option<i64>,
    limit: i64,
    bbox: Option<[f64; 4]>,
) -> Result<Vec<StoredFeature>, ReadError> {
    let [xmin, ymin, xmax, ymax] = bbox.map_or([None; 4], |b| b.map(Some));
    let rows = sqlx::query(
        "select id, version_id, source_id, attributes, st_asbinary(geom) as wkb \
         from layer_features \
         where version_id = $1 and id > coalesce($2, 0) \
           and ($4::float8 is null or geom && st_makeenvelope($4, $5, $6, $7, 4490)) \
         order by id limit $3",
    )
    .bind(version_id)
    .bind(after)
    .bind(limit.clamp(1, 10_000))
    .bind(xmin)
    .bind(ymin)
    .bind(xmax)
    .bind(ymax)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading layer features"))?;
    rows.iter()
        .map(|row| {
            let get = |e| DbError {
                doing: "reading a layer feature row",
                source: e,
            };
            let wkb: Vec<u8> = row.try_get("wkb").map_err(get)?;
            Ok(StoredFeature {
                id: row.try_get("id").map_err(get)?,
                version_id: row.try_get("version_id").map_err(get)?,
                source_id: row.try_get("source_id").map_err(get)?,
                attributes: row.try_get("attributes").map_err(get)?,
                geometry: wkb_io::from_wkb(&wkb)?,
            })
        })
        .collect()
}
