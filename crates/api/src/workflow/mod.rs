//! The workflow API under `/api/v1`: counties, projects, cases and their stages, history and
//! the ledger.

pub mod cases;
pub mod checks;
pub mod guarantees;
pub mod parcels;
pub mod project_store;
pub mod projects;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::AppState;

/// The workflow routes under `/api/v1`, each with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(projects::list_counties))
        .routes(routes!(projects::list_projects, projects::create_project))
        .routes(routes!(projects::get_project, projects::edit_project))
        .routes(routes!(projects::designate))
        .routes(routes!(projects::history))
        .routes(routes!(cases::list_cases, cases::create_case))
        .routes(routes!(cases::get_case))
        .routes(routes!(cases::transition))
        .routes(routes!(cases::record_facts))
        .routes(routes!(cases::green_channel))
        .routes(routes!(cases::history))
        .routes(routes!(parcels::download, parcels::replace, parcels::add))
        .routes(routes!(checks::list_checks, checks::run_check))
        .routes(routes!(checks::get_check))
        .routes(routes!(checks::confirm))
        .routes(routes!(checks::dismiss))
        .routes(routes!(cases::ledger))
}
