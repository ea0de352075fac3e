//! `GET /api/v1/reports/start-rates`: the start-rate report, with each closed quarter's figure
//! frozen when the quarter closed and later changes shown beside it as corrections.
//!
//! A read first freezes whatever closed quarter of the year has no figure yet for the caller's
//! counties ([`starts::freeze_closed_quarters`], deciding with the injected clock's date), then
//! builds the report from the stored figures and the records as they are
//! ([`start_rate::start_rates_frozen`]), and commits: the sweeper usually froze them already,
//! and a read only fills in what it has not.

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{Datelike, NaiveDate};
use landuse_domain::{calendar::bureau_date, role::Role, start_rate};
use serde::Deserialize;

use super::{
    report,
    starts::{self, StartError},
};
use crate::{
    app::AppState,
    auth::Caller,
    http::error::ApiError,
    timers::dispatch::{negotiate, ReportFormat, XLSX},
};

/// Query of `GET /api/v1/reports/start-rates`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StartRateQuery {
    /// The list year; the year of `as_of` when absent.
    pub year: Option<i32>,
    /// The day the report describes; today (the bureau's date) when absent.
    pub as_of: Option<NaiveDate>,
    /// `json`, `csv` or `xlsx`; otherwise chosen by `Accept`.
    #[param(pattern = "^(json|csv|xlsx)$")]
    pub format: Option<String>,
}

/// The report's reads fail only on the database or on stored data that does not parse: both
/// are 500s, logged with the trace id.
fn failed(e: StartError) -> ApiError {
    match e {
        StartError::Db { doing, source } => ApiError::db(doing, source),
        other => ApiError::internal("making the start-rate report", other),
    }
}

fn attachment(content_type: &'static str, name: &str, body: Vec<u8>) -> Result<Response, ApiError> {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|e| ApiError::internal("naming the download", e))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// `GET /api/v1/reports/start-rates` (formats negotiated as for the dispatch report): per
/// quarter and county, the municipal new-start key projects started by the quarter's end
/// against the goals, with those not started and their responsible leaders. A closed quarter
/// shows the figure taken when it closed (`frozen`, `frozen_on`); a start recorded or changed
/// later, or a project put on or taken off the list later, shows beside it as a `correction`.
/// JSON, CSV (`?format=csv` or `Accept: text/csv`) or .xlsx; the tabular forms carry the frozen
/// figures.
#[utoipa::path(get, path = "/reports/start-rates", tag = "reports", params(StartRateQuery), responses((status = 200, description = "Per quarter and county, the new-start key projects started against the goals", content((start_rate::StartRateReport = "application/json"), (String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn start_rates(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StartRateQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(
        &[
            Role::Officer,
            Role::Planner,
            Role::Reviewer,
            Role::Leader,
            Role::Admin,
        ],
        "read the start-rate report",
    )?;
    let format = negotiate(q.format.as_deref(), &headers)?;
    let now = state.clock.now();
    let today = bureau_date(now);
    let as_of = q.as_of.unwrap_or(today);
    let year = q.year.unwrap_or_else(|| as_of.year());
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::invalid(
            "invalid-field",
            "year",
            "the year must be between 2000 and 2100",
        ));
    }
    let mut tx = state.begin_for(&caller).await?;
    let filter = caller.county_filter();
    let counties = starts::counties_in_scope(&mut tx, filter.as_deref())
        .await
        .map_err(failed)?;
    starts::freeze_closed_quarters(&mut tx, year, today, now, &counties)
        .await
        .map_err(failed)?;
    let frozen = starts::frozen_figures(&mut tx, year, &counties)
        .await
        .map_err(failed)?;
    let projects = starts::projects_of_year(&mut tx, year, filter.as_deref())
        .await
        .map_err(failed)?;
    let goals = starts::goals(&mut tx).await.map_err(failed)?;
    let names = starts::county_names(&mut tx).await.map_err(failed)?;
    tx.commit()
        .await
        .map_err(|e| ApiError::db("keeping the frozen start rates", e))?;
    let report = start_rate::start_rates_frozen(&projects, year, as_of, &goals, &frozen)
        .map_err(|e| ApiError::invalid("invalid-field", "year", e.to_string()))?;
    match format {
        ReportFormat::Json => Ok(Json(report).into_response()),
        ReportFormat::Csv => attachment(
            "text/csv; charset=utf-8",
            &format!("start-rates-{year}-{as_of}.csv"),
            report::csv(&report, &names).into_bytes(),
        ),
        ReportFormat::Xlsx => {
            let bytes =
                report::xlsx(&report, &names).map_err(|e| ApiError::internal("writing the workbook", e))?;
            attachment(XLSX, &format!("start-rates-{year}-{as_of}.xlsx"), bytes)
        }
    }
}
