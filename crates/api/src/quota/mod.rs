//! The element guarantees (要素保障) of the plan: no key project waits for quota, no cultivated
//! land is taken without an equal offset, and the leading group sees each quarter's start rate.
//!
//! | module | what it holds |
//! |---|---|
//! | [`amount`] | exact two-decimal amounts (mu, m², kg) |
//! | [`store`] | the construction-quota ledger: yearly amounts, requests, allocation (key projects first), release, transfers, the waiting list |
//! | [`plan`] | which offset indicators a lock takes from (pure) |
//! | [`offsets`] | the farmland-offset ledger: indicators, lock, release, consume, transfers |
//! | [`starts`] | key-project starts and what the start-rate report reads |
//! | [`guarantees`] | what the case workflow asks of the ledgers: the stage facts, and release on rejection or withdrawal |
//! | [`http`] | the handlers under `/api/v1` ([`routes`]) |
//! | [`report`] | the start-rate report as CSV and .xlsx |
//! | [`cli`] | `landuse quota import` |

pub mod amount;
pub mod cli;
pub mod guarantees;
pub mod http;
pub mod offsets;
pub mod plan;
pub mod report;
pub mod starts;
pub mod store;

use axum::{
    routing::{get, post},
    Router,
};

use crate::app::AppState;

/// The ledgers' routes, relative to `/api/v1` (merge them beside the workflow's).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/quotas", get(http::list_accounts))
        .route("/quotas/waiting", get(http::waiting))
        .route("/quotas/requests", post(http::request_quota))
        .route("/quotas/allocations", post(http::allocate))
        .route("/quotas/transfers", post(http::transfer_quota))
        .route(
            "/quotas/{year}/{holder}",
            get(http::get_account).put(http::set_yearly),
        )
        .route("/cases/{id}/quota", get(http::case_quota))
        .route("/cases/{id}/quota/release", post(http::release_quota))
        .route("/cases/{id}/quota/cancel", post(http::cancel_request))
        .route(
            "/offsets",
            get(http::list_indicators).post(http::register_indicator),
        )
        .route("/offsets/{id}", get(http::get_indicator))
        .route("/offsets/{id}/transfers", post(http::transfer_indicator))
        .route("/cases/{id}/offset", get(http::case_offset))
        .route("/cases/{id}/offset/lock", post(http::lock_offset))
        .route("/cases/{id}/offset/release", post(http::release_offset))
        .route("/cases/{id}/offset/consume", post(http::consume_offset))
        .route("/projects/{id}/start", post(http::record_start))
        .route("/reports/start-rates", get(http::start_rates))
}
