//! The land-supply reports, each as JSON (the domain's report as it is), CSV or .xlsx,
//! negotiated as the start-rate report is (`?format=` or `Accept`):
//!
//! - `GET /api/v1/reports/land-supply`: 批而未供 by county, batch and age, 供地率 per county and
//!   over the last five years (`supply::unsupplied`);
//! - `GET /api/v1/reports/idle-land`: every supplied land's idle-land status (`supply::idle`);
//! - `GET /api/v1/reports/standard-land`: the standard-land share of the year's new industrial
//!   land inside development zones and elsewhere, and agreed against achieved indicators
//!   (`supply::standard`);
//! - `GET /api/v1/reports/handover-certificate`: 交地即交证 lag per key-project handover
//!   (`supply::certificate`).
//!
//! Each takes `as_of` (today, the bureau's date, when absent) and `county` (every county the
//! caller sees when absent), reads under the caller's county scope and computes with the domain.

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{Datelike, NaiveDate};
use landuse_domain::{
    calendar::bureau_date,
    county::CountyCode,
    role::Role,
    supply::{
        certificate::{self, HandoverCertificateReport},
        idle::{self, IdleReport, IdleRules},
        standard::{self, IndicatorReview, StandardLandGoals, StandardLandReport},
        unsupplied::{self, LandSupplyReport},
    },
};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    figures,
    tables::{self, Names, Sheet},
    terms_of,
};
use crate::{
    app::AppState,
    auth::Caller,
    http::error::ApiError,
    quota::{starts::county_names, Year},
    timers::dispatch::{negotiate, ReportFormat, XLSX},
};

/// Query of the land-supply reports.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SupplyReportQuery {
    /// The day the report describes; today (the bureau's date) when absent.
    pub as_of: Option<NaiveDate>,
    /// One county's code (six digits); every county the caller sees when absent.
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
    /// `json`, `csv` or `xlsx`; otherwise chosen by `Accept`.
    #[param(pattern = "^(json|csv|xlsx)$")]
    pub format: Option<String>,
}

/// Query of the standard-land report: the report's query and the year of the supplies.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StandardLandQuery {
    /// The year of the supply decisions; the year of `as_of` when absent.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    /// The day the report describes; today (the bureau's date) when absent.
    pub as_of: Option<NaiveDate>,
    /// One county's code (six digits); every county the caller sees when absent.
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
    /// `json`, `csv` or `xlsx`; otherwise chosen by `Accept`.
    #[param(pattern = "^(json|csv|xlsx)$")]
    pub format: Option<String>,
}

/// The agreed standard-land indicators of one completed supply against those achieved.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Acceptance {
    /// The supply part.
    pub supply: Uuid,
    /// Its county.
    pub county: CountyCode,
    /// The comparison, indicator by indicator.
    pub review: IndicatorReview,
}

/// The standard-land report with the acceptance of the supplies completed by its date.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardLandAnswer {
    /// The shares against the goals.
    pub report: StandardLandReport,
    /// Every standard-land supply of the caller's counties completed by `as_of` with achieved
    /// indicators, agreed against achieved.
    pub acceptance: Vec<Acceptance>,
}

const READERS: [Role; 5] = [
    Role::Officer,
    Role::Planner,
    Role::Reviewer,
    Role::Leader,
    Role::Admin,
];

/// The counties a report covers: the one asked for (when the caller sees it), or the caller's.
fn counties(caller: &Caller, county: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
    match county {
        None => Ok(caller.county_filter()),
        Some(code) => {
            let code = CountyCode::parse(code)
                .map_err(|e| ApiError::invalid("invalid-parameter", "county", e.to_string()))?;
            if !caller.sees(code.as_str()) {
                return Err(ApiError::Forbidden(format!(
                    "a {} of other counties may not read the figures of {code}",
                    caller.role.code()
                )));
            }
            Ok(Some(vec![code.as_str().to_owned()]))
        }
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

/// The answer in the negotiated format: the JSON as it is, or its sheets.
fn answer<T: Serialize>(
    format: ReportFormat,
    name: &str,
    report: &T,
    sheets: impl FnOnce() -> Vec<Sheet>,
) -> Result<Response, ApiError> {
    match format {
        ReportFormat::Json => Ok(Json(report).into_response()),
        ReportFormat::Csv => {
            let bytes = tables::csv(&sheets()).map_err(|e| ApiError::internal("writing the CSV", e))?;
            attachment("text/csv; charset=utf-8", &format!("{name}.csv"), bytes)
        }
        ReportFormat::Xlsx => {
            let bytes = tables::xlsx(&sheets()).map_err(|e| ApiError::internal("writing the workbook", e))?;
            attachment(XLSX, &format!("{name}.xlsx"), bytes)
        }
    }
}

async fn names(conn: &mut PgConnection) -> Result<Names, ApiError> {
    county_names(conn)
        .await
        .map_err(|e| ApiError::internal("loading the county names", e))
}

/// The shared start of every report: the role, the format, the date, the counties, the
/// scoped transaction and the parts.
struct Prelude {
    format: ReportFormat,
    as_of: NaiveDate,
    counties: Option<Vec<String>>,
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    parts: Vec<crate::store::supply::FigurePartRow>,
}

async fn prelude(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    format: Option<&str>,
    as_of: Option<NaiveDate>,
    county: Option<&str>,
) -> Result<Prelude, ApiError> {
    caller.require(&READERS, "read the land-supply reports")?;
    let format = negotiate(format, headers)?;
    let as_of = as_of.unwrap_or_else(|| bureau_date(state.clock.now()));
    let counties = counties(caller, county)?;
    let mut tx = state.begin_for(caller).await?;
    let parts = figures::parts(&mut tx, counties.as_deref()).await?;
    Ok(Prelude {
        format,
        as_of,
        counties,
        tx,
        parts,
    })
}

/// `GET /api/v1/reports/land-supply`: 批而未供 and 供地率. Per approval batch (a case whose
/// conversion was approved by `as_of`), the approved area, the area supplied within it (the
/// union of its parts decided by `as_of`, clipped to the approved parcels, so overlapping parts
/// count once and land outside the approval not at all) and the rest unsupplied, by age; per
/// county and for the city, over every batch and the last five years.
#[utoipa::path(get, path = "/reports/land-supply", tag = "reports", params(SupplyReportQuery), responses((status = 200, description = "批而未供 and 供地率 at the date", content((LandSupplyReport = "application/json"), (String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn land_supply(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SupplyReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut p = prelude(
        &state,
        &caller,
        &headers,
        q.format.as_deref(),
        q.as_of,
        q.county.as_deref(),
    )
    .await?;
    let batches = figures::batches(&mut p.tx, p.counties.as_deref(), &p.parts, p.as_of).await?;
    let names = names(&mut p.tx).await?;
    let lands: Vec<_> = batches.into_iter().map(|b| b.land).collect();
    let report = unsupplied::land_supply(&lands, p.as_of)
        .map_err(|e| ApiError::internal("computing the land-supply figures", e))?;
    let name = format!("land-supply-{}", p.as_of);
    answer(p.format, &name, &report, || tables::land_supply(&report, &names))
}

/// `GET /api/v1/reports/idle-land`: every land supplied by `as_of` with its idle-land status
/// (闲置土地处置办法): due soon, idle (with the 20% fee), reclaimable, partial-start idle,
/// government-caused delays marked and excluded; totals per county and for the city.
#[utoipa::path(get, path = "/reports/idle-land", tag = "reports", params(SupplyReportQuery), responses((status = 200, description = "Idle land at the date", content((IdleReport = "application/json"), (String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn idle_land(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SupplyReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut p = prelude(
        &state,
        &caller,
        &headers,
        q.format.as_deref(),
        q.as_of,
        q.county.as_deref(),
    )
    .await?;
    let names = names(&mut p.tx).await?;
    let lands = figures::supplied_lands(&p.parts)?;
    let report = idle::idle_land(&lands, p.as_of, &IdleRules::default())
        .map_err(|e| ApiError::internal("computing the idle-land figures", e))?;
    let name = format!("idle-land-{}", p.as_of);
    answer(p.format, &name, &report, || tables::idle_land(&report, &names))
}

/// `GET /api/v1/reports/standard-land`: of the industrial land supplied in `year` (decisions
/// dated in the year, by `as_of`), the share supplied as standard land by area, inside the
/// current `development_zone` layer against 100% and elsewhere against 40%; and every
/// standard-land supply completed by `as_of`, agreed against achieved indicators.
#[utoipa::path(get, path = "/reports/standard-land", tag = "reports", params(StandardLandQuery), responses((status = 200, description = "The standard-land share and acceptance", content((StandardLandAnswer = "application/json"), (String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn standard_land(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<StandardLandQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut p = prelude(
        &state,
        &caller,
        &headers,
        q.format.as_deref(),
        q.as_of,
        q.county.as_deref(),
    )
    .await?;
    let year = Year::parse(q.year.unwrap_or_else(|| p.as_of.year()))
        .map_err(|e| ApiError::invalid("invalid-parameter", "year", e.to_string()))?
        .get();
    let names = names(&mut p.tx).await?;
    let supplies = figures::industrial_supplies(&mut p.tx, &p.parts).await?;
    let report = standard::standard_land_shares(&supplies, year, p.as_of, &StandardLandGoals::default())
        .map_err(|e| ApiError::internal("computing the standard-land figures", e))?;
    let mut acceptance = Vec::new();
    for part in p.parts.iter().map(|f| &f.part) {
        let terms = terms_of(part)?;
        let development = super::development_of(part)?;
        let completed = development.completed_on.is_some_and(|d| d <= p.as_of);
        if let (true, Some(agreed), Some(achieved)) = (
            completed,
            terms.agreed_indicators,
            development.achieved_indicators,
        ) {
            acceptance.push(Acceptance {
                supply: part.id,
                county: CountyCode::parse(&part.county_code)
                    .map_err(|e| ApiError::internal("reading a county code", e))?,
                review: standard::compare(&agreed, &achieved),
            });
        }
    }
    let answer_body = StandardLandAnswer { report, acceptance };
    let name = format!("standard-land-{year}-{}", p.as_of);
    answer(p.format, &name, &answer_body, || {
        tables::standard_land(&answer_body, &names)
    })
}

/// `GET /api/v1/reports/handover-certificate`: 交地即交证. Every handover of a provincial or
/// municipal key project by `as_of`, with the days from handover to certificate (0 is the goal),
/// those not on the same day (or still pending), and the share on the same day per county.
#[utoipa::path(get, path = "/reports/handover-certificate", tag = "reports", params(SupplyReportQuery), responses((status = 200, description = "交地即交证 at the date", content((HandoverCertificateReport = "application/json"), (String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn handover_certificate(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SupplyReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut p = prelude(
        &state,
        &caller,
        &headers,
        q.format.as_deref(),
        q.as_of,
        q.county.as_deref(),
    )
    .await?;
    let names = names(&mut p.tx).await?;
    let records = figures::handover_records(&p.parts)?;
    let report = certificate::handover_certificate(&records, p.as_of);
    let name = format!("handover-certificate-{}", p.as_of);
    answer(p.format, &name, &report, || {
        tables::handover_certificate(&report, &names)
    })
}
