//! The element guarantees (要素保障) of the plan: no key project waits for quota, no cultivated
//! land is taken without an equal offset, and the leading group sees each quarter's start rate.
//!
//! | module | what it holds |
//! |---|---|
//! | [`store`] | the construction-quota ledger: yearly amounts, requests, allocation (key projects first), release, transfers, the waiting list |
//! | [`offsets`] | the farmland-offset ledger: indicators, lock, release, consume, transfers |
//! | [`starts`] | key-project starts, what the start-rate report reads, and freezing closed quarters |
//! | [`start_report`] | the start-rate report's handler: closed quarters frozen, corrections beside them |
//! | [`guarantees`] | what the case workflow asks of the ledgers: the stage facts, and release on rejection or withdrawal |
//! | [`http`] | the handlers under `/api/v1` ([`routes`]) |
//! | [`report`] | the start-rate report as CSV and .xlsx |
//! | [`cli`] | `landuse quota import` |

pub mod cli;
pub mod guarantees;
pub mod http;
pub mod offsets;
pub mod report;
pub mod start_report;
pub mod starts;
pub mod store;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::AppState;

/// The ledger routes under `/api/v1`, each with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(http::list_accounts))
        .routes(routes!(http::waiting))
        .routes(routes!(http::request_quota))
        .routes(routes!(http::allocate))
        .routes(routes!(http::transfer_quota))
        .routes(routes!(http::get_account, http::set_yearly))
        .routes(routes!(http::case_quota))
        .routes(routes!(http::release_quota))
        .routes(routes!(http::cancel_request))
        .routes(routes!(http::list_indicators, http::register_indicator))
        .routes(routes!(http::get_indicator))
        .routes(routes!(http::transfer_indicator))
        .routes(routes!(http::case_offset))
        .routes(routes!(http::lock_offset))
        .routes(routes!(http::release_offset))
        .routes(routes!(http::consume_offset))
        .routes(routes!(http::record_start))
        .routes(routes!(start_report::start_rates))
}
