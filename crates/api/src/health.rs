//! `/healthz` (the process is alive) and `/readyz` (it can do its work).

use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde::Serialize;

use crate::{
    app::AppState,
    db::{self, Readiness},
    problem::Problem,
    reads::ReplicaReport,
};

/// The answer of `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Alive {
    /// Always `alive`: any answer at all means the process runs.
    pub status: AliveStatus,
}

/// The one status `/healthz` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AliveStatus {
    /// The process answers.
    Alive,
}

/// The answer of `/readyz` when the service can do its work.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// Always `ready` (a service that is not answers 503 with a problem document).
    pub status: ReadyStatus,
    /// What was checked.
    #[serde(flatten)]
    pub checked: Readiness,
    /// Each replica of `DATABASE_READ_URL`: whether reads go to it now, and its replay lag
    /// (empty when none is configured).
    pub replicas: Vec<ReplicaReport>,
}

/// The one status a 200 from `/readyz` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    /// The database answers, with PostGIS and every migration.
    Ready,
}

/// Answers 200 while the process runs; it never touches the database.
#[utoipa::path(get, path = "/healthz", tag = "service", security(()), responses((status = 200, description = "The process is alive", body = Alive)))]
pub async fn healthz() -> Json<Alive> {
    Json(Alive {
        status: AliveStatus::Alive,
    })
}

/// Answers 200 with the PostGIS version when the database is reachable, has PostGIS 3 or later
/// and every migration; 503 with the reason otherwise. Both list the replicas: whether each is
/// used and how far its replay lags (a replica left out is not a reason to answer 503: reads
/// then go to the primary).
#[utoipa::path(get, path = "/readyz", tag = "service", security(()), responses((status = 200, description = "Ready: the PostGIS version and the applied migrations", body = Ready), (status = 503, description = "Not ready, with the reason", body = Problem, content_type = "application/problem+json")))]
pub async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    match db::readiness(&state.db).await {
        Ok(checked) => Json(Ready {
            status: ReadyStatus::Ready,
            checked,
            replicas: state.reads.report(),
        })
        .into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", "Service not ready")
                .with_detail(reason.to_string())
                .with(
                    "replicas",
                    serde_json::to_value(state.reads.report()).unwrap_or_default(),
                )
                .retry_after(5)
                .into_response()
        }
    }
}
