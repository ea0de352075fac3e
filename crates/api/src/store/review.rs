//! What the planner's review page and the check report read: the queue, a case's header, a
//! check with its hits and their overlaps, the parcels, the layer versions used, the recorded
//! documents, and the control features around the parcels.
//!
//! Every function reads; none writes (the page's actions go through the `/api/v1` handlers).
//! Callers read inside `AppState::begin_for(caller)`, so row-level security holds a county
//! officer to their counties here as everywhere.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// A case waiting for a check or a confirmation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRow {
    /// The case.
    pub id: Uuid,
    /// Its title.
    pub title: String,
    /// Its project's name.
    pub project_name: String,
    /// Its county's code.
    pub county_code: String,
    /// Its county's name.
    pub county_name: String,
    /// Its stage's code.
    pub stage: String,
    /// Where a case in correction returns.
    pub returns_to: Option<String>,
    /// When the stage's clock started.
    pub stage_entered_at: DateTime<Utc>,
    /// The stored deadline of the stage.
    pub deadline_at: Option<DateTime<Utc>>,
    /// Whether the project is on a key-project list.
    pub on_key_list: bool,
    /// A leader's green-channel grant, as stored.
    pub green_grant: Option<Value>,
    /// The latest check, if any.
    pub check_id: Option<Uuid>,
    /// Its result.
    pub check_result: Option<String>,
    /// Whether a parcel changed after it ran.
    pub check_stale: Option<bool>,
    /// When it was confirmed.
    pub check_confirmed_at: Option<DateTime<Utc>>,
    /// How many parcels the case has.
    pub parcels: i64,
    /// Their area on the ellipsoid, m².
    pub area_m2: Option<f64>,
}

/// The cases waiting for a planner (a check or a confirmation), green channel first, then the
/// nearest deadline; `counties` limits them (`None`: every county).
pub async fn queue(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
    limit: i64,
) -> Result<Vec<QueueRow>, DbError> {
    sqlx::query_as::<_, QueueRow>(include_str!("sql/review_queue.sql"))
        .bind(counties)
        .bind(limit)
        .fetch_all(conn)
        .await
        .doing("loading the review queue")
}

/// A case's header: what the page shows above its check.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseHeader {
    /// The case.
    pub id: Uuid,
    /// Its title.
    pub title: String,
    /// Its project's name.
    pub project_name: String,
    /// Its county's code.
    pub county_code: String,
    /// Its county's name.
    pub county_name: String,
    /// Its stage's code.
    pub stage: String,
    /// Where a case in correction returns.
    pub returns_to: Option<String>,
    /// When the stage's clock started.
    pub stage_entered_at: DateTime<Utc>,
    /// The stored deadline of the stage.
    pub deadline_at: Option<DateTime<Utc>>,
    /// Whether the project is on a key-project list.
    pub on_key_list: bool,
    /// A leader's green-channel grant, as stored.
    pub green_grant: Option<Value>,
    /// Its version: the ETag a change must send back.
    pub version: i64,
}

/// A case the transaction may see, or `None`.
pub async fn case_header(conn: &mut PgConnection, id: Uuid) -> Result<Option<CaseHeader>, DbError> {
    sqlx::query_as::<_, CaseHeader>(include_str!("sql/review_case.sql"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .doing("loading the case")
}

/// A correction interval of a case.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PauseRow {
    /// The case.
    pub case_id: Uuid,
    /// When the clock stopped.
    pub paused_at: DateTime<Utc>,
    /// When it resumed; `None` while paused.
    pub resumed_at: Option<DateTime<Utc>>,
}

/// The pauses of `cases` that reach past the matching `since` (when each case's stage began):
/// what the deadline's clock leaves out.
pub async fn pauses(
    conn: &mut PgConnection,
    cases: &[Uuid],
    since: &[DateTime<Utc>],
) -> Result<Vec<PauseRow>, DbError> {
    sqlx::query_as::<_, PauseRow>(
        "select p.case_id, p.paused_at, p.resumed_at
           from case_pauses p join unnest($1::uuid[], $2::timestamptz[]) as s (case_id, since)
             on s.case_id = p.case_id
          where p.resumed_at is null or p.resumed_at > s.since
          order by p.case_id, p.paused_at",
    )
    .bind(cases)
    .bind(since)
    .fetch_all(conn)
    .await
    .doing("loading the cases' pauses")
}

/// A check as the page and the report show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckRow {
    /// The check.
    pub id: Uuid,
    /// When it ran.
    pub run_at: DateTime<Utc>,
    /// The case's result after dismissals.
    pub result: String,
    /// The stored report (the spatial crate's `CheckReport`).
    pub report: Value,
    /// Whether a parcel changed after it ran.
    pub stale: bool,
    /// When it was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Who ran it.
    pub run_by: Option<String>,
    /// Who confirmed it.
    pub confirmed_by: Option<String>,
    /// Whether it is the case's latest check (only the latest can be confirmed).
    pub is_latest: bool,
}

/// The check `check` of `case`, or its latest when `check` is `None`.
pub async fn check(
    conn: &mut PgConnection,
    case: Uuid,
    check: Option<Uuid>,
) -> Result<Option<CheckRow>, DbError> {
    sqlx::query_as::<_, CheckRow>(include_str!("sql/review_check.sql"))
        .bind(case)
        .bind(check)
        .fetch_optional(conn)
        .await
        .doing("loading the check")
}

/// A check of a case, as its history lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckBrief {
    /// The check.
    pub id: Uuid,
    /// When it ran.
    pub run_at: DateTime<Utc>,
    /// Its result.
    pub result: String,
    /// Stale.
    pub stale: bool,
    /// Confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// The case's checks, newest first.
pub async fn checks(conn: &mut PgConnection, case: Uuid) -> Result<Vec<CheckBrief>, DbError> {
    sqlx::query_as::<_, CheckBrief>(
        "select id, run_at, result, stale, confirmed_at from checks
          where case_id = $1 order by run_at desc, id desc",
    )
    .bind(case)
    .fetch_all(conn)
    .await
    .doing("listing the case's checks")
}

/// One hit of a check, with its overlap.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HitRow {
    /// The hit.
    pub id: Uuid,
    /// Its layer's code.
    pub layer_kind: String,
    /// Its place among the layer's hits in the report.
    pub hit_index: i32,
    /// The feature touched; `None` for a part outside a layer.
    pub feature_id: Option<i64>,
    /// The overlap, m².
    pub overlap_m2: f64,
    /// The feature's source attributes.
    pub attributes: Value,
    /// When a planner dismissed it.
    pub dismissed_at: Option<DateTime<Utc>>,
    /// Who dismissed it.
    pub dismissed_by: Option<String>,
    /// Why.
    pub dismiss_reason: Option<String>,
    /// The overlap as GeoJSON (lon/lat), for the page.
    pub geojson: Option<String>,
    /// The overlap as WKB (lon/lat), for the report's map.
    pub wkb: Option<Vec<u8>>,
}

/// Every hit of `check`, by layer and place.
pub async fn hits(conn: &mut PgConnection, check: Uuid) -> Result<Vec<HitRow>, DbError> {
    sqlx::query_as::<_, HitRow>(include_str!("sql/review_hits.sql"))
        .bind(check)
        .fetch_all(conn)
        .await
        .doing("loading the check's hits")
}

/// A parcel of a case.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ParcelRow {
    /// Its number within the case.
    pub seq: i32,
    /// Its name.
    pub name: String,
    /// Its area on the ellipsoid, m².
    pub area_m2: f64,
    /// The geometry as GeoJSON (lon/lat), for the page.
    pub geojson: String,
    /// The geometry as WKB (lon/lat), for the report's map.
    pub wkb: Vec<u8>,
}

/// The case's parcels, in order.
pub async fn parcels(conn: &mut PgConnection, case: Uuid) -> Result<Vec<ParcelRow>, DbError> {
    sqlx::query_as::<_, ParcelRow>(
        "select seq, name, area_m2, st_asgeojson(geom, 7) as geojson, st_asbinary(geom) as wkb
           from parcels where case_id = $1 order by seq",
    )
    .bind(case)
    .fetch_all(conn)
    .await
    .doing("loading the parcels")
}

/// A layer kind's Chinese name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LayerName {
    /// The kind's code.
    pub code: String,
    /// Its name.
    pub name_zh: String,
}

/// Every layer kind's name, as seeded.
pub async fn layer_names(conn: &mut PgConnection) -> Result<Vec<LayerName>, DbError> {
    sqlx::query_as::<_, LayerName>("select code, name_zh from layer_kinds order by code")
        .fetch_all(conn)
        .await
        .doing("loading the layer names")
}

/// A layer version a check used.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    /// The version.
    pub id: Uuid,
    /// Its layer's code.
    pub kind: String,
    /// Its jurisdiction.
    pub jurisdiction: String,
    /// Its number.
    pub version_no: i32,
    /// Its source file.
    pub source_name: String,
    /// When it was imported.
    pub imported_at: DateTime<Utc>,
    /// Whether it is still the current one.
    pub is_current: bool,
}

/// The versions `ids`, by layer and jurisdiction.
pub async fn versions(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<VersionRow>, DbError> {
    sqlx::query_as::<_, VersionRow>(
        "select id, kind, jurisdiction, version_no, source_name, imported_at, is_current
           from layer_versions where id = any($1) order by kind, jurisdiction, version_no",
    )
    .bind(ids)
    .fetch_all(conn)
    .await
    .doing("loading the layer versions used")
}

/// A document recorded on the case, with who recorded it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DocumentEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: Option<String>,
    /// What was recorded (the fields of the case's documents).
    pub data: Value,
}

/// The `documents_recorded` events of a case, oldest first.
pub async fn documents(conn: &mut PgConnection, case: Uuid) -> Result<Vec<DocumentEvent>, DbError> {
    sqlx::query_as::<_, DocumentEvent>(
        "select e.at, u.name as actor, e.data
           from case_events e left join users u on u.id = e.actor_id
          where e.case_id = $1 and e.kind = 'documents_recorded'
          order by e.id",
    )
    .bind(case)
    .fetch_all(conn)
    .await
    .doing("loading the case's recorded documents")
}

/// A control feature near the parcels, clipped and simplified for the report's map.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeatureAround {
    /// Its layer's code.
    pub kind: String,
    /// The geometry as WKB (lon/lat).
    pub wkb: Vec<u8>,
}

/// The features of `versions` within `bbox` (west, south, east, north, EPSG:4490), clipped to
/// it and simplified by `tolerance` degrees; at most `limit`.
pub async fn features_around(
    conn: &mut PgConnection,
    versions: &[Uuid],
    bbox: [f64; 4],
    tolerance: f64,
    limit: i64,
) -> Result<Vec<FeatureAround>, DbError> {
    sqlx::query_as::<_, FeatureAround>(include_str!("sql/review_features_around.sql"))
        .bind(versions)
        .bind(bbox[0])
        .bind(bbox[1])
        .bind(bbox[2])
        .bind(bbox[3])
        .bind(tolerance)
        .bind(limit)
        .fetch_all(conn)
        .await
        .doing("loading the control features around the parcels")
}
