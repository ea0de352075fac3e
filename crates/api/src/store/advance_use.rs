//! Requests for advance use (`advance_use_requests`, migration 0021), and the unions their
//! rules are measured on: the project's advance-use parcels, its pre-reviewed parcels, and the
//! part of each approved request its live cases do not cover.
//!
//! Requests are never deleted; a pending one is decided once. Geometry crosses as WKB in
//! CGCS2000 longitude and latitude (SRID 4490); the handlers measure areas with the spatial
//! crate, as every area of the service. Every read runs under the caller's county scope.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

const COLUMNS: &str =
    "id, project_id, st_asbinary(geom) as geom, area_m2, source, parcel_count, controls_schedule,
       reason, requested_by, requested_role, requested_at, status, document_number, decision_reason,
       decided_by, decided_role, decided_at";

/// A stored request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    /// The request's id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// Its parcels, one multipolygon, as WKB.
    pub geom: Vec<u8>,
    /// Their ellipsoidal area in m².
    pub area_m2: f64,
    /// `geojson` or `coordinate_file`.
    pub source: String,
    /// How many parcels were sent.
    pub parcel_count: i32,
    /// Whether the works control the project's schedule.
    pub controls_schedule: bool,
    /// Why it is asked for.
    pub reason: String,
    /// Who asked.
    pub requested_by: Uuid,
    /// Their role's code.
    pub requested_role: String,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// `green::AdvanceUseStatus`'s code.
    pub status: String,
    /// The approval's document number.
    pub document_number: Option<String>,
    /// The leader's reason.
    pub decision_reason: Option<String>,
    /// The leader.
    pub decided_by: Option<Uuid>,
    /// Their role's code.
    pub decided_role: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
}

/// A request to store.
#[derive(Debug)]
pub struct NewRequest<'a> {
    /// Its id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// Its parcels, as WKB; stored as their union.
    pub parcels: &'a [Vec<u8>],
    /// The union's ellipsoidal area in m².
    pub area_m2: f64,
    /// `geojson` or `coordinate_file`.
    pub source: &'static str,
    /// Whether the works control the project's schedule.
    pub controls_schedule: bool,
    /// Why.
    pub reason: &'a str,
    /// Who asks.
    pub requested_by: Uuid,
    /// Their role's code.
    pub requested_role: &'static str,
    /// When.
    pub requested_at: DateTime<Utc>,
}

/// Stores a new, pending request.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip_all, fields(project = %new.project_id))]
pub async fn insert(conn: &mut PgConnection, new: &NewRequest<'_>) -> Result<RequestRow, DbError> {
    sqlx::query_as(&format!(
        "insert into advance_use_requests (id, project_id, geom, area_m2, source, parcel_count, controls_schedule,
                                           reason, requested_by, requested_role, requested_at)
         select $1, $2, st_multi(st_unaryunion(st_collect(st_geomfromwkb(w, 4490)))), $4, $5, cardinality($3),
                $6, $7, $8, $9, $10
           from unnest($3::bytea[]) as w
         returning {COLUMNS}"
    ))
    .bind(new.id)
    .bind(new.project_id)
    .bind(new.parcels)
    .bind(new.area_m2)
    .bind(new.source)
    .bind(new.controls_schedule)
    .bind(new.reason)
    .bind(new.requested_by)
    .bind(new.requested_role)
    .bind(new.requested_at)
    .fetch_one(conn)
    .await
    .doing("storing a request for advance use")
}

/// The requests of a project, in the order they were made.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn of_project(conn: &mut PgConnection, project_id: Uuid) -> Result<Vec<RequestRow>, DbError> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from advance_use_requests where project_id = $1 order by requested_at, id"
    ))
    .bind(project_id)
    .fetch_all(conn)
    .await
    .doing("loading requests for advance use")
}

/// One request of a project, locked for its decision.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn lock(
    conn: &mut PgConnection,
    project_id: Uuid,
    id: Uuid,
) -> Result<Option<RequestRow>, DbError> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from advance_use_requests where project_id = $1 and id = $2 for update"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(conn)
    .await
    .doing("loading a request for advance use")
}

/// A leader's decision, to store on a pending request.
#[derive(Debug)]
pub struct Decision<'a> {
    /// The status after it.
    pub status: &'static str,
    /// The approval's document number.
    pub document_number: Option<&'a str>,
    /// Why.
    pub reason: &'a str,
    /// The leader.
    pub decided_by: Uuid,
    /// Their role's code.
    pub decided_role: &'static str,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// Records the decision on request `id`, which must be pending (the table's trigger refuses
/// to change a decided one).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, d))]
pub async fn decide(conn: &mut PgConnection, id: Uuid, d: &Decision<'_>) -> Result<RequestRow, DbError> {
    sqlx::query_as(&format!(
        "update advance_use_requests
            set status = $2, document_number = $3, decision_reason = $4, decided_by = $5, decided_role = $6,
                decided_at = $7
          where id = $1
          returning {COLUMNS}"
    ))
    .bind(id)
    .bind(d.status)
    .bind(d.document_number)
    .bind(d.reason)
    .bind(d.decided_by)
    .bind(d.decided_role)
    .bind(d.decided_at)
    .fetch_one(conn)
    .await
    .doing("recording the decision on advance use")
}

/// The unions a request is judged against, as WKB; `None` where there is nothing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AreasRow {
    /// The new request's parcels.
    pub requested: Option<Vec<u8>>,
    /// The parcels of the project's requests that are not refused.
    pub used: Option<Vec<u8>>,
    /// Both.
    pub with_request: Option<Vec<u8>>,
    /// The parcels of the project's live cases that passed pre-review.
    pub pre_reviewed: Option<Vec<u8>>,
}

/// The unions of project `project_id` with `parcels` (WKB) as a new request
/// (`sql/advance_use_areas.sql`).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn, parcels))]
pub async fn areas(
    conn: &mut PgConnection,
    project_id: Uuid,
    parcels: &[Vec<u8>],
) -> Result<AreasRow, DbError> {
    sqlx::query_as(include_str!("sql/advance_use_areas.sql"))
        .bind(project_id)
        .bind(parcels)
        .fetch_one(conn)
        .await
        .doing("measuring the project's advance use")
}

/// The part of an approved request its project's live cases do not cover.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UncoveredRow {
    /// The request.
    pub request_id: Uuid,
    /// What is not covered, as WKB; `None` when covered.
    pub uncovered: Option<Vec<u8>>,
}

/// For each approved request of `project_id`, what its live cases' parcels leave uncovered
/// (`sql/advance_use_uncovered.sql`).
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn uncovered(conn: &mut PgConnection, project_id: Uuid) -> Result<Vec<UncoveredRow>, DbError> {
    sqlx::query_as(include_str!("sql/advance_use_uncovered.sql"))
        .bind(project_id)
        .fetch_all(conn)
        .await
        .doing("measuring what the cases leave of the advance use")
}

/// Gives the project a new version: its advance-use figures changed.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn bump_project(conn: &mut PgConnection, project_id: Uuid) -> Result<i64, DbError> {
    sqlx::query_scalar("update projects set version = version + 1 where id = $1 returning version")
        .bind(project_id)
        .fetch_one(conn)
        .await
        .doing("giving the project a new version")
}
