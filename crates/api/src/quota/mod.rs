//! The element guarantees (要素保障) of the plan: no key project waits for quota, no cultivated
//! land is taken without an equal offset, and the leading group sees each quarter's start rate.
//!
//! | module | what it holds |
//! |---|---|
//! | [`quotas`] | the construction-quota ledger: yearly amounts, requests, allocation (key projects first), release, transfers, the waiting list |
//! | [`offsets`] | the farmland-offset ledger: indicators, lock, release, consume, transfers |
//! | [`starts`] | key-project starts, what the start-rate report reads, and freezing closed quarters |
//! | [`error`] | [`LedgerError`], the one error of the three, and how the API answers it |
//! | [`guarantees`] | what the case workflow asks of the ledgers: the stage facts, and release on rejection or withdrawal |
//! | [`http`] | the handlers under `/api/v1` ([`routes`]), one module per ledger |
//! | [`report`] | the start-rate report as CSV and .xlsx |
//! | [`cli`] | `landuse quota import` |
//!
//! The SQL the ledgers run is in [`crate::store::ledger`]; the rules they decide by (who may act
//! at which stage, what a case needs, which indicators a lock takes) are the domain's
//! [`landuse_domain::ledger`].

pub mod cli;
pub mod error;
pub mod guarantees;
pub mod http;
pub mod offsets;
pub mod quotas;
pub mod report;
pub mod starts;

use std::{fmt, ops::RangeInclusive};

use chrono::{DateTime, Utc};
use landuse_domain::{ledger::rules::LedgerAction, role::Role};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub use error::LedgerError;

use crate::{app::AppState, http::integral::Integral};

/// The ledger routes under `/api/v1`, each with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    use http::{offsets, quota, starts};
    OpenApiRouter::new()
        .routes(routes!(quota::list_accounts))
        .routes(routes!(quota::waiting))
        .routes(routes!(quota::request_quota))
        .routes(routes!(quota::allocate))
        .routes(routes!(quota::transfer_quota))
        .routes(routes!(quota::get_account, quota::set_yearly))
        .routes(routes!(quota::case_quota))
        .routes(routes!(quota::release_quota))
        .routes(routes!(quota::cancel_request))
        .routes(routes!(offsets::list_indicators, offsets::register_indicator))
        .routes(routes!(offsets::get_indicator))
        .routes(routes!(offsets::transfer_indicator))
        .routes(routes!(offsets::case_offset))
        .routes(routes!(offsets::lock_offset))
        .routes(routes!(offsets::release_offset))
        .routes(routes!(offsets::consume_offset))
        .routes(routes!(starts::record_start))
        .routes(routes!(starts::start_rates))
}

/// A quota or list year the ledgers keep: 2000 to 2100, as the schema's `*_year_range`
/// constraints say. Parsed from request bodies (a whole number, `2026.0` too, as JSON Schema
/// counts integers), paths and the command line alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "Integral")]
pub struct Year(i32);

impl TryFrom<Integral> for Year {
    type Error = InvalidYear;

    fn try_from(year: Integral) -> Result<Self, InvalidYear> {
        Self::parse(year.0)
    }
}

/// A number outside [`Year::RANGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the year must be between 2000 and 2100, got {0}")]
pub struct InvalidYear(pub i32);

impl Year {
    /// The years the ledgers keep.
    pub const RANGE: RangeInclusive<i32> = 2000..=2100;

    /// Parses a year.
    ///
    /// # Errors
    /// [`InvalidYear`] outside [`Year::RANGE`].
    pub fn parse(year: i32) -> Result<Self, InvalidYear> {
        if Self::RANGE.contains(&year) {
            Ok(Self(year))
        } else {
            Err(InvalidYear(year))
        }
    }

    /// The year as a number.
    pub fn get(self) -> i32 {
        self.0
    }
}

impl TryFrom<i32> for Year {
    type Error = InvalidYear;

    fn try_from(year: i32) -> Result<Self, InvalidYear> {
        Self::parse(year)
    }
}

impl fmt::Display for Year {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A release of what a case holds on a ledger ([`quotas::release`], [`offsets::release`]): the
/// action the domain's table decides it as (a reviewer's release before the approval, or the
/// return when a case closes), who asks and in which role, why, and when.
#[derive(Debug, Clone, Copy)]
pub struct Release<'a> {
    /// [`LedgerAction::ReleaseQuota`], [`LedgerAction::ReleaseOffset`] or
    /// [`LedgerAction::ReturnOnClose`].
    pub action: LedgerAction,
    /// Who, as the ledger records them (`None` for the system).
    pub by: Option<Uuid>,
    /// In which role (the domain's table decides on it).
    pub role: Role,
    /// Why, as the movements record it.
    pub reason: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
}
