//! The working-day calendar as data: `GET`/`PUT /api/v1/calendar/{year}` and the
//! `landuse calendar import` command, both loading a year through [`load_year`].
//!
//! Loading a year is one decision in one transaction: the year is checked whole by the domain
//! ([`landuse_domain::notice`]), stored with a new version, and every stored stage deadline is
//! computed again with the extended calendar ([`landuse_domain::recompute`]). Each deadline that
//! changes (it reached into the year: it becomes final, and moves where the year's holidays or
//! adjusted working days fall before it) is written with an event in the case's history, and
//! each deadline alert raised for the old instant is corrected: its new due instant recorded
//! and, when its status no longer holds, withdrawn. A refusal leaves nothing written.
//!
//! Ledger items are not touched: the three-week clearing counts calendar days, so a working-day
//! calendar never moves their due day.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    alerts::{self, AlertKind, DeadlineStatus},
    calendar::CalendarYear,
    clock::StageClock,
    limits::{self, Channel},
    notice::{self, NoticeError},
    recompute::{self, DeadlineChange, StoredDeadline},
    role::Role,
    stage::{CaseState, Stage},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    admin,
    app::AppState,
    auth::Caller,
    http::{
        error::ApiError,
        etag::{etag_header, require_if_match},
        idempotency::{IdempotencyKey, Reply},
        json::JsonBody,
    },
    timers::{self, sweep},
    workflow::cases::append_event_as,
};

/// The advisory lock a calendar load holds for its transaction, so two loads never recompute
/// the deadlines at once. "landuse" in ASCII with a 2 for this lock.
const CALENDAR_LOCK: i64 = 0x006c_616e_6475_7302;

/// The years a calendar may cover: the People's Republic's, to four digits (the table's
/// constraint says the same).
const YEARS: std::ops::RangeInclusive<i32> = 1949..=9999;

/// One loaded year as stored and served.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CalendarYearView {
    /// The year.
    pub year: i32,
    /// Public holidays on weekdays, in order.
    pub holidays: Vec<NaiveDate>,
    /// Saturdays and Sundays that are working days, in order.
    pub adjusted_workdays: Vec<NaiveDate>,
    /// The version (the ETag is `"v{version}"`).
    pub version: i64,
    /// When it was last loaded.
    pub updated_at: DateTime<Utc>,
}

/// The body of `PUT /api/v1/calendar/{year}`: the year's notice, as one year of
/// `seeds/cn-workdays-2023-2026.json`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarYearBody {
    /// Public holidays that fall on weekdays, `YYYY-MM-DD`.
    #[schema(value_type = Vec<String>, example = json!(["2027-01-01"]))]
    pub holidays: Vec<String>,
    /// Saturdays and Sundays that are working days (调休上班), `YYYY-MM-DD`.
    #[schema(value_type = Vec<String>, example = json!(["2027-02-07"]))]
    pub adjusted_workdays: Vec<String>,
}

/// A case whose stored deadline the load changed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecomputedDeadline {
    /// The case.
    pub case_id: Uuid,
    /// The stage whose limit runs.
    pub stage: Stage,
    /// From what to what.
    #[serde(flatten)]
    pub change: DeadlineChange,
}

/// A deadline alert the load corrected.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CorrectedAlert {
    /// The alert.
    pub alert_id: i64,
    /// Its case.
    pub case_id: Uuid,
    /// `deadline_near` or `deadline_passed`.
    pub kind: String,
    /// The deadline as now computed.
    pub due_at: DateTime<Utc>,
    /// Its status no longer holds: it does not stand.
    pub withdrawn: bool,
}

/// What loading a year did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoadReport {
    /// The year as now stored.
    pub calendar: CalendarYearView,
    /// The last day the calendar now covers.
    pub covered_until: NaiveDate,
    /// Every stored deadline that changed.
    pub deadlines: Vec<RecomputedDeadline>,
    /// Every alert corrected.
    pub alerts: Vec<CorrectedAlert>,
}

/// Who loads a year, as the case history records it: an API caller, or the operator's command
/// line (no user).
#[derive(Debug, Clone, Copy)]
pub struct Loader {
    /// The user, when there is one.
    pub user_id: Option<Uuid>,
    /// The role recorded with the events.
    pub role: Role,
}

impl From<&Caller> for Loader {
    fn from(caller: &Caller) -> Self {
        Self {
            user_id: Some(caller.user_id),
            role: caller.role,
        }
    }
}

/// The 422 for a refused notice: the field and the reason.
pub fn notice_refused(error: &NoticeError) -> ApiError {
    ApiError::invalid("invalid-calendar-year", error.field.clone(), error.to_string())
}

fn check_year_number(year: i32) -> Result<(), ApiError> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "invalid-field",
            "year",
            format!(
                "{year} is not a year the calendar can cover ({}–{})",
                YEARS.start(),
                YEARS.end()
            ),
        ))
    }
}

/// The stored year, optionally locked for a change.
///
/// # Errors
/// Database failures.
pub async fn stored_year(
    conn: &mut PgConnection,
    year: i32,
    lock: bool,
) -> Result<Option<CalendarYearView>, ApiError> {
    let sql = if lock {
        "select year, holidays, adjusted_workdays, version, updated_at from calendar_years where year = $1 for update"
    } else {
        "select year, holidays, adjusted_workdays, version, updated_at from calendar_years where year = $1"
    };
    sqlx::query_as(sql)
        .bind(year)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| ApiError::db("loading the calendar year", e))
}

/// A case with a stored running deadline, and what computing it again needs.
#[derive(Debug, sqlx::FromRow)]
struct DeadlineRow {
    id: Uuid,
    stage: String,
    returns_to: Option<String>,
    stage_entered_at: DateTime<Utc>,
    deadline_at: DateTime<Utc>,
    deadline_provisional: bool,
    green: bool,
    pause_from: Vec<DateTime<Utc>>,
    pause_to: Vec<Option<DateTime<Utc>>>,
}

/// A deadline alert still standing for a case's current stay, with the due instant it last
/// announced (its latest correction's, else its own).
#[derive(Debug, sqlx::FromRow)]
struct StandingAlert {
    id: i64,
    kind: String,
    due_at: DateTime<Utc>,
}

fn timer_error(doing: &'static str) -> impl FnOnce(timers::TimerError) -> ApiError {
    move |e| ApiError::internal(doing, e)
}

/// Loads `year` as `listed` (already checked by [`notice::check_year`]), recomputes every
/// stored stage deadline and corrects the alerts of those that moved. Call it inside a
/// transaction: on an error, roll back and nothing is written.
///
/// # Errors
/// 422 when the year would leave an uncovered year before it; database failures; a stored
/// row or setting the domain cannot read (500).
pub async fn load_year(
    conn: &mut PgConnection,
    year: i32,
    listed: CalendarYear,
    loader: Loader,
    now: DateTime<Utc>,
) -> Result<LoadReport, ApiError> {
    check_year_number(year)?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(CALENDAR_LOCK)
        .execute(&mut *conn)
        .await
        .map_err(|e| ApiError::db("taking the calendar lock", e))?;
    let calendar = admin::load_calendar(conn)
        .await
        .map_err(|e| ApiError::internal("loading the working-day calendar", e))?
        .with_year(year, listed.clone())
        .map_err(|e| ApiError::invalid("calendar-year-missing", "year", e.to_string()))?;
    let holidays: Vec<NaiveDate> = listed.holidays.iter().copied().collect();
    let adjusted: Vec<NaiveDate> = listed.adjusted_workdays.iter().copied().collect();
    let stored: CalendarYearView = sqlx::query_as(
        "insert into calendar_years as y (year, holidays, adjusted_workdays, updated_at)
         values ($1, $2, $3, $4)
         on conflict (year) do update
            set holidays = excluded.holidays, adjusted_workdays = excluded.adjusted_workdays,
                updated_at = excluded.updated_at, version = y.version + 1
         returning year, holidays, adjusted_workdays, version, updated_at",
    )
    .bind(year)
    .bind(&holidays)
    .bind(&adjusted)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| ApiError::db("storing the calendar year", e))?;

    let mut rules = timers::load_rules(conn)
        .await
        .map_err(timer_error("loading the rules"))?;
    rules.calendar = calendar;
    let mut report = LoadReport {
        covered_until: rules.calendar.covered_until(),
        calendar: stored,
        deadlines: Vec::new(),
        alerts: Vec::new(),
    };
    let context = LoadContext {
        year,
        loader,
        now,
        reason: format!("calendar year {year} loaded"),
    };
    let sql = format!(
        "select c.id, c.stage, c.returns_to, c.stage_entered_at, c.deadline_at, c.deadline_provisional,
                c.green, {}
           from cases c where c.deadline_at is not null order by c.id for update of c",
        sweep::pauses_since("c.id", "c.stage_entered_at")
    );
    let rows: Vec<DeadlineRow> = sqlx::query_as(&sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| ApiError::db("loading the stored deadlines", e))?;
    for row in rows {
        recompute_case(conn, &rules, row, &context, &mut report).await?;
    }
    tracing::info!(
        year,
        deadlines = report.deadlines.len(),
        alerts = report.alerts.len(),
        "calendar year loaded"
    );
    Ok(report)
}

/// What every change of one load records: which year, by whom, when and why.
struct LoadContext {
    year: i32,
    loader: Loader,
    now: DateTime<Utc>,
    reason: String,
}

impl LoadContext {
    fn actor(&self) -> (Option<Uuid>, &'static str) {
        (self.loader.user_id, self.loader.role.code())
    }
}

/// Computes one case's stored deadline again; when it changed, writes it with its event and
/// corrects the alerts of its stay.
async fn recompute_case(
    conn: &mut PgConnection,
    rules: &timers::SweepRules,
    row: DeadlineRow,
    context: &LoadContext,
    report: &mut LoadReport,
) -> Result<(), ApiError> {
    let state = CaseState::new(
        Stage::parse(&row.stage).map_err(|e| ApiError::internal("reading the case stage", e))?,
        row.returns_to
            .as_deref()
            .map(Stage::parse)
            .transpose()
            .map_err(|e| ApiError::internal("reading the case stage", e))?,
    )
    .map_err(|e| ApiError::internal("reading the case state", e))?;
    let clock = StageClock {
        started_at: row.stage_entered_at,
        pauses: sweep::pauses(&row.pause_from, &row.pause_to).map_err(timer_error("reading the pauses"))?,
    };
    let channel = Channel::from_green(row.green);
    let now = context.now;
    let remaining =
        limits::remaining_working_days(&rules.limits, &rules.calendar, &state, channel, &clock, now);
    let recomputed = StoredDeadline::of(remaining.as_ref(), clock.is_stopped(now));
    let old = StoredDeadline {
        ends_at: row.deadline_at,
        provisional: row.deadline_provisional,
    };
    let Some(change) = recompute::deadline_change(Some(old), recomputed) else {
        return Ok(());
    };
    sqlx::query(
        "update cases set deadline_at = $2, deadline_provisional = $3, version = version + 1, updated_at = $4
          where id = $1",
    )
    .bind(row.id)
    .bind(recomputed.map(|d| d.ends_at))
    .bind(recomputed.is_some_and(|d| d.provisional))
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|e| ApiError::db("storing the recomputed deadline", e))?;
    let stage = state.stage();
    append_event_as(
        conn,
        row.id,
        now,
        context.actor(),
        "deadline_recomputed",
        (Some(stage), Some(stage)),
        Some(&context.reason),
        json!({
            "year": context.year,
            "from": change.from,
            "to": change.to,
            "moved": change.moved,
            "finalised": change.finalised,
        }),
    )
    .await?;
    report.deadlines.push(RecomputedDeadline {
        case_id: row.id,
        stage: state.clock_stage(),
        change,
    });
    let (Some(new), Some(remaining)) = (recomputed, remaining) else {
        return Ok(());
    };
    let current = rules
        .limits
        .limit(state.clock_stage(), channel)
        .map_or(DeadlineStatus::Running, |days| {
            alerts::deadline_status(&remaining, days, &rules.deadlines)
        });
    correct_alerts(conn, &row, stage, new, current, context, report).await
}

/// Corrects each deadline alert of the case's current stay that still stands for another
/// instant than `new`, recording each correction as an event.
async fn correct_alerts(
    conn: &mut PgConnection,
    row: &DeadlineRow,
    stage: Stage,
    new: StoredDeadline,
    current: DeadlineStatus,
    context: &LoadContext,
    report: &mut LoadReport,
) -> Result<(), ApiError> {
    let standing: Vec<StandingAlert> = sqlx::query_as(
        "select a.id, a.kind, coalesce(last.due_at, a.due_at) as due_at
           from alerts a
           left join lateral (select ac.due_at, ac.withdrawn from alert_corrections ac
                               where ac.alert_id = a.id order by ac.id desc limit 1) last on true
          where a.case_id = $1 and a.stage_entered_at = $2 and a.ledger_item_id is null
            and not coalesce(last.withdrawn, false)
          order by a.id",
    )
    .bind(row.id)
    .bind(row.stage_entered_at)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| ApiError::db("loading the case's deadline alerts", e))?;
    for alert in standing {
        let Some(announced) = AlertKind::parse(&alert.kind)
            .ok()
            .and_then(AlertKind::deadline_status)
        else {
            continue;
        };
        let Some(correction) = recompute::correct_alert(announced, alert.due_at, new.ends_at, current) else {
            continue;
        };
        sqlx::query(
            "insert into alert_corrections (alert_id, corrected_at, due_at, withdrawn, reason)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(alert.id)
        .bind(context.now)
        .bind(correction.due_at)
        .bind(correction.withdrawn)
        .bind(&context.reason)
        .execute(&mut *conn)
        .await
        .map_err(|e| ApiError::db("correcting the alert", e))?;
        append_event_as(
            conn,
            row.id,
            context.now,
            context.actor(),
            "alert_corrected",
            (Some(stage), Some(stage)),
            Some(&context.reason),
            json!({
                "alert_id": alert.id,
                "alert": alert.kind,
                "from_due_at": alert.due_at,
                "due_at": correction.due_at,
                "withdrawn": correction.withdrawn,
            }),
        )
        .await?;
        report.alerts.push(CorrectedAlert {
            alert_id: alert.id,
            case_id: row.id,
            kind: alert.kind,
            due_at: correction.due_at,
            withdrawn: correction.withdrawn,
        });
    }
    Ok(())
}

/// `GET /api/v1/calendar/{year}`: one loaded year of the working-day calendar.
#[utoipa::path(get, path = "/calendar/{year}", tag = "calendar", params(("year" = i32, Path, description = "The year")), responses((status = 200, description = "The year's weekday holidays and weekend working days", body = CalendarYearView, headers(("ETag" = String)))))]
#[tracing::instrument(skip_all, fields(year))]
pub async fn get_year(
    State(state): State<AppState>,
    caller: Caller,
    Path(year): Path<i32>,
) -> Result<Response, ApiError> {
    check_year_number(year)?;
    let mut tx = state.begin_for(&caller).await?;
    let stored = stored_year(&mut tx, year, false)
        .await?
        .ok_or(ApiError::NotFound("calendar year"))?;
    let version = stored.version;
    Ok(([(header::ETAG, etag_header(version))], Json(stored)).into_response())
}

/// `PUT /api/v1/calendar/{year}`: an admin loads the year's State Council notice. Needs
/// `If-Match` once the year is loaded. Stored deadlines are recomputed and alerts corrected.
#[utoipa::path(put, path = "/calendar/{year}", tag = "calendar", params(("year" = i32, Path, description = "The year the notice is for"), ("If-Match" = Option<String>, Header, description = "The year's ETag; required once the year is loaded")), request_body = CalendarYearBody, responses((status = 200, description = "The year as stored, with every deadline it changed and every alert it corrected", body = LoadReport, headers(("ETag" = String)))))]
#[tracing::instrument(skip_all, fields(year))]
pub async fn put_year(
    State(state): State<AppState>,
    caller: Caller,
    idem: IdempotencyKey,
    Path(year): Path<i32>,
    headers: HeaderMap,
    body: JsonBody<CalendarYearBody>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin], "load a calendar year")?;
    if let Some(replay) = idem.replay(&state.db, &caller, &body.digest).await? {
        return Ok(replay);
    }
    check_year_number(year)?;
    let listed = notice::check_year(year, &body.value.holidays, &body.value.adjusted_workdays)
        .map_err(|e| notice_refused(&e))?;
    let now = state.clock.now();
    let mut tx = state.begin_for(&caller).await?;
    if let Some(current) = stored_year(&mut tx, year, true).await? {
        require_if_match(&headers, current.version)?;
    }
    let report = load_year(&mut tx, year, listed, Loader::from(&caller), now).await?;
    let reply = Reply::new(
        StatusCode::OK,
        serde_json::to_value(&report).map_err(|e| ApiError::internal("writing the answer", e))?,
    )
    .header(header::ETAG, etag_header(report.calendar.version));
    idem.finish(tx, &state.db, &caller, &body.digest, reply).await
}

/// The calendar routes (nested under `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_year, put_year))
}
