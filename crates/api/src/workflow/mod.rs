//! The workflow API under `/api/v1`: counties, projects, cases and their stages, history and
//! the ledger.

pub mod cases;
pub mod checks;
pub mod guarantees;
pub mod parcels;
pub mod projects;

use axum::{
    routing::{get, post},
    Router,
};

use crate::app::AppState;

/// The workflow routes, relative to `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/counties", get(projects::list_counties))
        .route(
            "/projects",
            get(projects::list_projects).post(projects::create_project),
        )
        .route("/projects/{id}", get(projects::get_project))
        .route("/cases", get(cases::list_cases).post(cases::create_case))
        .route("/cases/{id}", get(cases::get_case))
        .route("/cases/{id}/transitions", post(cases::transition))
        .route("/cases/{id}/facts", post(cases::record_facts))
        .route("/cases/{id}/green-channel", post(cases::green_channel))
        .route("/cases/{id}/history", get(cases::history))
        .route(
            "/cases/{id}/parcels",
            get(parcels::download).put(parcels::upload).post(parcels::upload),
        )
        .route(
            "/cases/{id}/checks",
            get(checks::list_checks).post(checks::run_check),
        )
        .route("/cases/{id}/checks/{check_id}", get(checks::get_check))
        .route("/cases/{id}/checks/{check_id}/confirm", post(checks::confirm))
        .route(
            "/cases/{id}/checks/{check_id}/hits/{hit_id}/dismiss",
            post(checks::dismiss),
        )
        .route("/ledger", get(cases::ledger))
}
