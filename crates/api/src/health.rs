//! `/healthz` (the process is alive) and `/readyz` (it can do its work).

use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde_json::json;

use crate::{app::AppState, db, problem::Problem};

/// Answers 200 while the process runs; it never touches the database.
#[utoipa::path(get, path = "/healthz", tag = "service", security(()), responses((status = 200, description = "The process is alive", body = serde_json::Value)))]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "alive" }))
}

/// Answers 200 with the PostGIS version when the database is reachable, has PostGIS 3 or later
/// and every migration; 503 with the reason otherwise.
#[utoipa::path(get, path = "/readyz", tag = "service", security(()), responses((status = 200, description = "Ready: the PostGIS version and the applied migrations", body = serde_json::Value), (status = 503, description = "Not ready, with the reason", body = Problem, content_type = "application/problem+json")))]
pub async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    match db::readiness(&state.db).await {
        Ok(ready) => Json(json!({
            "status": "ready",
            "postgis": ready.postgis,
            "migrations": ready.migrations,
        }))
        .into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", "Service not ready")
                .with_detail(reason.to_string())
                .retry_after(5)
                .into_response()
        }
    }
}
