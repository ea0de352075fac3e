//! The workflow API under `/api/v1`: counties, projects, cases and their stages, parcels,
//! spatial checks, history and the ledger.
//!
//! Handlers here parse the request into domain types, load through `crate::store`, let the
//! domain decide, persist through the store and answer a typed view; none holds SQL. Every
//! write takes [`crate::http::write::Write`] (caller, idempotency, body, clock, transaction)
//! and a case write shares its lock and its ending through [`cases::write`].

pub mod cases;
pub mod checks;
pub mod guarantees;
pub mod parcels;
pub mod projects;
pub mod reason;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::AppState;

/// The workflow routes under `/api/v1`, each with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(projects::list_counties))
        .routes(routes!(
            projects::list_projects,
            projects::register::create_project
        ))
        .routes(routes!(projects::get_project, projects::edit::edit_project))
        .routes(routes!(projects::designate::designate))
        .routes(routes!(projects::history))
        .routes(routes!(
            projects::advance_use::list_advance_use,
            projects::advance_use::request_advance_use
        ))
        .routes(routes!(projects::advance_use::decide_advance_use))
        .routes(routes!(cases::list::list_cases, cases::create::create_case))
        .routes(routes!(cases::view::get_case))
        .routes(routes!(cases::transition::transition))
        .routes(routes!(cases::documents::record_facts))
        .routes(routes!(
            cases::approvals::list_approvals,
            cases::approvals::record_approval
        ))
        .routes(routes!(
            cases::overlay::list_overlay_queries,
            cases::overlay::open_overlay_query
        ))
        .routes(routes!(cases::overlay::answer_overlay_query))
        .routes(routes!(cases::green::green_channel))
        .routes(routes!(cases::history::history))
        .routes(routes!(
            parcels::download,
            parcels::upload::replace,
            parcels::upload::add
        ))
        .routes(routes!(checks::list_checks, checks::run::run_check))
        .routes(routes!(checks::get_check))
        .routes(routes!(checks::review::confirm))
        .routes(routes!(checks::review::dismiss))
        .routes(routes!(cases::ledger::ledger))
}
