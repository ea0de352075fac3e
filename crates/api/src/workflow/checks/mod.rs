//! Spatial checks of a case: run against the current control layers ([`run`]), read, confirm,
//! and dismiss a hit with a recorded reason ([`review`]; the case result is then decided again
//! by the domain).
//!
//! A check's answer is its stored row with the report as it was measured, each hit carrying
//! its id and its dismissal beside it.

pub mod review;
pub mod run;

use axum::{
    extract::{Path, State},
    Json,
};
use chrono::{DateTime, Utc};
use landuse_domain::transition::CheckSummary;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::cases::load_case;
use crate::{
    app::AppState,
    auth::Caller,
    http::error::ApiError,
    reads::ReadHint,
    store::{
        self,
        checks::{CheckBrief, CheckRow, HitRow},
    },
};

/// A check in a list: where it stands, and where to read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckLink {
    /// The check's id.
    pub id: Uuid,
    /// When it ran.
    pub run_at: DateTime<Utc>,
    /// The case's result (`ok`, `needs_review`, `prohibited`, …; dismissals applied).
    pub result: String,
    /// Whether a parcel changed after it ran (it must be run again).
    pub stale: bool,
    /// Whether a planner confirmed it.
    pub confirmed: bool,
    /// Where the full report is.
    pub href: String,
}

impl CheckLink {
    /// The link to a check.
    pub fn of(check: &CheckBrief) -> Self {
        Self {
            id: check.id,
            run_at: check.run_at,
            result: check.result.clone(),
            stale: check.stale,
            confirmed: check.confirmed_at.is_some(),
            href: format!("/api/v1/cases/{}/checks/{}", check.case_id, check.id),
        }
    }
}

/// A check with its report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckView {
    /// The check's id.
    pub id: Uuid,
    /// The case checked.
    pub case_id: Uuid,
    /// When it ran.
    pub run_at: DateTime<Utc>,
    /// The planner who ran it.
    pub run_by: Option<Uuid>,
    /// The case's result (the worst of the layers, dismissals applied).
    pub result: String,
    /// What the stage rules read of it: `worst` (the result), `cultivated_land_found`,
    /// `unchecked_layers`.
    #[schema(value_type = Object)]
    pub summary: CheckSummary,
    /// Whether a parcel changed after it ran.
    pub stale: bool,
    /// When a planner confirmed it.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Who confirmed it.
    pub confirmed_by: Option<Uuid>,
    /// The report as measured: `jurisdiction`, `parcels`, `case_area`, `layers` (each with its
    /// `hits`, every hit with its `id` and `dismissal`), `result`, `unchecked`, `input`, `rules`.
    #[schema(value_type = Object)]
    pub report: Value,
}

/// A planner's dismissal of a hit, as the report shows it beside the hit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DismissalView {
    /// When.
    pub at: DateTime<Utc>,
    /// The planner.
    pub by: Option<Uuid>,
    /// Why the hit does not hold.
    pub reason: Option<String>,
}

/// The check as the API shows it: its row, and its report with each hit's id and dismissal.
///
/// # Errors
/// A stored summary that does not parse (a corrupt row).
fn render_check(case_id: Uuid, row: CheckRow, hits: &[HitRow]) -> Result<CheckView, ApiError> {
    let mut report = row.report;
    let layers = report
        .get_mut("layers")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten();
    for layer in layers {
        let kind = layer["kind"].as_str().unwrap_or_default().to_owned();
        let layer_hits = layer
            .get_mut("hits")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten();
        for (index, hit) in layer_hits.enumerate() {
            let place =
                |h: &&HitRow| h.layer_kind == kind && usize::try_from(h.hit_index).ok() == Some(index);
            let Some(stored) = hits.iter().find(place) else {
                continue;
            };
            let dismissal = stored.dismissed_at.map(|at| DismissalView {
                at,
                by: stored.dismissed_by,
                reason: stored.dismiss_reason.clone(),
            });
            hit["id"] = Value::String(stored.id.to_string());
            hit["dismissal"] =
                serde_json::to_value(dismissal).map_err(|e| ApiError::internal("writing a dismissal", e))?;
        }
    }
    Ok(CheckView {
        summary: CheckSummary::deserialize(&row.summary)
            .map_err(|e| ApiError::internal("reading the check summary", e))?,
        id: row.id,
        case_id,
        run_at: row.run_at,
        run_by: row.run_by,
        result: row.result,
        stale: row.stale,
        confirmed_at: row.confirmed_at,
        confirmed_by: row.confirmed_by,
        report,
    })
}

/// Loads check `check_id` of case `case_id`.
///
/// # Errors
/// 404 when the case has no such check; database failures.
async fn load_check(conn: &mut PgConnection, case_id: Uuid, check_id: Uuid) -> Result<CheckRow, ApiError> {
    store::checks::load(conn, case_id, check_id)
        .await?
        .ok_or(ApiError::NotFound("check"))
}

/// The stored check with each hit's id and dismissal beside it.
async fn check_view(conn: &mut PgConnection, case_id: Uuid, check_id: Uuid) -> Result<CheckView, ApiError> {
    let row = load_check(conn, case_id, check_id).await?;
    let hits = store::checks::hits(conn, check_id).await?;
    render_check(case_id, row, &hits)
}

/// `GET /api/v1/cases/{id}/checks`: the case's checks, newest first.
#[utoipa::path(get, path = "/cases/{id}/checks", tag = "checks", params(("id" = Uuid, Path, description = "The case id")), responses((status = 200, description = "The case's checks, newest first", body = [CheckLink])))]
#[tracing::instrument(skip_all, fields(case = %id))]
pub async fn list_checks(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<CheckLink>>, ApiError> {
    let mut conn = state.read_for(&caller, &hint).await?;
    load_case(&mut conn, &caller, id, false).await?;
    let checks = store::checks::of_case(&mut conn, id).await?;
    Ok(Json(checks.iter().map(CheckLink::of).collect()))
}

/// `GET /api/v1/cases/{id}/checks/{check_id}`: one report, with dismissals beside the hits.
#[utoipa::path(get, path = "/cases/{id}/checks/{check_id}", tag = "checks", params(("id" = Uuid, Path, description = "The case id"), ("check_id" = Uuid, Path, description = "The check id")), responses((status = 200, description = "The report with its hits and dismissals", body = CheckView)))]
#[tracing::instrument(skip_all, fields(case = %id, check = %check_id))]
pub async fn get_check(
    State(state): State<AppState>,
    caller: Caller,
    hint: ReadHint,
    Path((id, check_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<CheckView>, ApiError> {
    let mut conn = state.read_for(&caller, &hint).await?;
    load_case(&mut conn, &caller, id, false).await?;
    Ok(Json(check_view(&mut conn, id, check_id).await?))
}
