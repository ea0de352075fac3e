//! Key-project starts and the start-rate report.
//!
//! `GET /api/v1/reports/start-rates` first freezes whatever closed quarter of the year has no
//! figure yet for the caller's counties ([`starts::freeze_closed_quarters`], deciding with the
//! injected clock's date), then builds the report from the stored figures and the records as
//! they are ([`start_rate::start_rates_frozen`]), and commits: the sweeper usually froze them
//! already, and a read only fills in what it has not.

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{Datelike, NaiveDate};
use landuse_domain::{calendar::bureau_date, role::Role, start_rate};
use serde::Deserialize;
use uuid::Uuid;

use super::{actor, finish_with, Result};
use crate::{
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::{etag_header, require_if_match},
        idempotency::Reply,
        write::{Json as Body, Write},
    },
    quota::{
        report,
        starts::{self, RecordedStart},
        Year,
    },
    store::{projects, Doing},
    timers::dispatch::{negotiate, ReportFormat, XLSX},
};

/// The body of `POST /api/v1/projects/{id}/start`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// The day works started (the bureau's date), not after today.
    pub started_on: NaiveDate,
}

/// `POST /api/v1/projects/{id}/start`: record a key project's actual start, under `If-Match`
/// with the project's ETag (officers of its county, reviewers, leaders).
#[utoipa::path(post, path = "/projects/{id}/start", tag = "projects", params(("id" = Uuid, Path, description = "The project id"), ("If-Match" = String, Header, description = "The project's ETag")), request_body = StartBody, responses((status = 200, description = "The project's start as recorded, with its new version", body = RecordedStart, headers(("ETag" = String)))))]
#[tracing::instrument(skip_all, fields(user = %write.caller.name, project = %id))]
pub async fn record_start(
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    mut write: Write<Body<StartBody>>,
) -> Result<Response> {
    write.caller.require(
        &[Role::Officer, Role::Reviewer, Role::Leader],
        "record a project's start",
    )?;
    let version = projects::load(&mut write.tx, id, false)
        .await?
        .filter(|project| write.caller.sees(&project.county_code))
        .ok_or(ApiError::NotFound("project"))?
        .version;
    require_if_match(&headers, version)?;
    let (who, now, started_on) = (actor(&write.caller), write.now, write.body.0.started_on);
    let recorded = starts::record_start(
        &mut write.tx,
        id,
        started_on,
        Some(version),
        who,
        bureau_date(now),
        now,
    )
    .await?;
    let reply = Reply::json(StatusCode::OK, &recorded)?.header(header::ETAG, etag_header(recorded.version));
    finish_with(write, reply).await
}

/// Query of `GET /api/v1/reports/start-rates`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StartRateQuery {
    /// The list year; the year of `as_of` when absent.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    /// The day the report describes; today (the bureau's date) when absent.
    pub as_of: Option<NaiveDate>,
    /// `json`, `csv` or `xlsx`; otherwise chosen by `Accept`.
    #[param(pattern = "^(json|csv|xlsx)$")]
    pub format: Option<String>,
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
) -> Result<Response> {
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
    let year = Year::parse(q.year.unwrap_or_else(|| as_of.year()))
        .map_err(|e| ApiError::invalid("invalid-field", "year", e.to_string()))?
        .get();
    let mut tx = state.begin_for(&caller).await?;
    let filter = caller.county_filter();
    let counties = starts::counties_in_scope(&mut tx, filter.as_deref()).await?;
    starts::freeze_closed_quarters(&mut tx, year, today, now, &counties).await?;
    let frozen = starts::frozen_figures(&mut tx, year, &counties).await?;
    let projects = starts::projects_of_year(&mut tx, year, filter.as_deref()).await?;
    let goals = starts::goals(&mut tx).await?;
    let names = starts::county_names(&mut tx).await?;
    tx.commit().await.doing("keeping the frozen start rates")?;
    let report = start_rate::start_rates_frozen(&projects, year, as_of, &goals, &frozen)
        .map_err(|e| ApiError::invalid("invalid-field", "year", e.to_string()))?;
    let name = format!("start-rates-{year}-{as_of}");
    Ok(match format {
        ReportFormat::Json => Json(report).into_response(),
        ReportFormat::Csv => {
            let bytes = report::csv(&report, &names).map_err(|e| ApiError::internal("writing the CSV", e))?;
            attachment("text/csv; charset=utf-8", &format!("{name}.csv"), bytes)?
        }
        ReportFormat::Xlsx => {
            let bytes =
                report::xlsx(&report, &names).map_err(|e| ApiError::internal("writing the workbook", e))?;
            attachment(XLSX, &format!("{name}.xlsx"), bytes)?
        }
    })
}
