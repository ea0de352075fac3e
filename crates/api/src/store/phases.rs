//! Phased and segmented cases of one project (migration 0022): the live cases a new case is
//! weighed against, the overlap of a case's parcels with the other live cases of its project,
//! and the cases the project view sums. Callers lock the project row first
//! ([`super::projects::load`] with `lock`), so two writes to one project's cases are decided
//! one after the other.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// A live case (neither rejected nor withdrawn) of a project, as the phase rules weigh it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveCaseRow {
    /// The case.
    pub id: Uuid,
    /// `phase::PhaseKind`'s code, when the case states a phase.
    pub phase_kind: Option<String>,
    /// Its phase number.
    pub phase_number: Option<i32>,
    /// A leader's green-channel grant, with its revocation (a domain `Grant`).
    pub green_grant: Option<Value>,
}

/// The live cases of project `project_id`, oldest first.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn live_cases(conn: &mut PgConnection, project_id: Uuid) -> Result<Vec<LiveCaseRow>, DbError> {
    sqlx::query_as(
        "select id, phase_kind, phase_number, green_grant from cases
          where project_id = $1 and stage not in ('rejected', 'withdrawn')
          order by created_at, id",
    )
    .bind(project_id)
    .fetch_all(conn)
    .await
    .doing("reading the project's live cases")
}

/// Where a case's parcels meet those of another live case of its project.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverlapRow {
    /// The other case.
    pub other_case_id: Uuid,
    /// The overlap, a `MultiPolygon` as WKB (empty when the parcels only touch).
    pub overlap_wkb: Vec<u8>,
}

/// The overlaps of case `case_id`'s parcels (as the transaction holds them) with every other
/// live case of project `project_id`, by case id.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn overlaps(
    conn: &mut PgConnection,
    case_id: Uuid,
    project_id: Uuid,
) -> Result<Vec<OverlapRow>, DbError> {
    sqlx::query_as(include_str!("sql/phases_overlaps.sql"))
        .bind(case_id)
        .bind(project_id)
        .fetch_all(conn)
        .await
        .doing("measuring the overlap with the project's other cases")
}

/// A case of a project, for the project view.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectCaseRow {
    /// The case.
    pub id: Uuid,
    /// Its title.
    pub title: String,
    /// Its stage code.
    pub stage: String,
    /// `phase::PhaseKind`'s code, when it states a phase.
    pub phase_kind: Option<String>,
    /// Its phase number.
    pub phase_number: Option<i32>,
    /// Its phase name.
    pub phase_name: Option<String>,
    /// The sum of its parcels' ellipsoidal areas, in m².
    pub area_m2: f64,
}

/// Every case of project `project_id`, phases in order.
///
/// # Errors
/// Database failures.
#[tracing::instrument(level = "debug", skip(conn))]
pub async fn project_cases(
    conn: &mut PgConnection,
    project_id: Uuid,
) -> Result<Vec<ProjectCaseRow>, DbError> {
    sqlx::query_as(include_str!("sql/phases_project_cases.sql"))
        .bind(project_id)
        .fetch_all(conn)
        .await
        .doing("listing the project's cases")
}
