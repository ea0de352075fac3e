//! `/healthz` (the process is alive) and `/readyz` (it can do its work).

use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde_json::json;

use crate::{app::AppState, db, problem::Problem};

/// Answers 200 while the process runs; it never touches the database.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "alive" }))
}

/// Answers 200 with the PostGIS version when the database is reachable, has PostGIS 3 or later
/// and every migration; 503 with the reason otherwise.
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
