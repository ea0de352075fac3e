//! The planner's desk: the review queue and a case's review page (server-rendered HTML, Chinese
//! first, sized for a 1366×768 office screen), and the check report PDF.
//!
//! - `GET /review`: the cases waiting for a check or a confirmation, green channel first, then
//!   the nearest deadline.
//! - `GET /review/cases/{id}`: the case's header, a row per rule with its layer version, verdict,
//!   areas, touched features and dismissals, and beside it the map (OpenLayers, vendored and
//!   served from the binary under `/review/assets/…`): parcels, overlaps in their rule's colour,
//!   the control features around them from the OGC API, a scale bar and a legend. A planner runs
//!   a check, dismisses a hit and confirms from the page, through the same `/api/v1` calls a
//!   client makes (`If-Match`, `Idempotency-Key`).
//! - `GET /api/v1/cases/{id}/checks/{check_id}/report.pdf`: the signed report ([`report`]).
//!
//! Sign-in: the pages are fetched by a small script with the token from the tab's session
//! storage (`Authorization: Bearer`), never a cookie, so the browser holds no credential a
//! cross-site page could make it send (docs/security.md).

mod assets;
mod desk;
mod pages;
pub mod report;

use std::sync::Arc;

use axum::{routing::get, Router};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{app::AppState, config::Config};

/// The HTML pages and their assets, mounted at the root (`/review…`).
pub fn routes(config: &Config) -> Router<AppState> {
    let site = Arc::new(pages::Site::new(&config.serve.review));
    Router::new()
        .route("/review", get(pages::queue))
        .route("/review/", get(pages::queue))
        .route("/review/cases/{id}", get(pages::case))
        .route("/review/assets/{version}/{file}", get(assets::serve))
        .layer(axum::Extension(site))
}

/// The report route, under `/api/v1` and described in the OpenAPI document.
pub fn api_routes(config: &Config) -> OpenApiRouter<AppState> {
    let printer = Arc::new(report::Printer::new(&config.serve.review));
    OpenApiRouter::new()
        .routes(routes!(report::report_pdf))
        .layer(axum::Extension(printer))
}
