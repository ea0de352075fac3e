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
};
use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    alerts::{self, AlertKind, DeadlineStatus},
    calendar::{CalendarYear, WorkCalendar},
    clock::StageClock,
    limits::{self, Channel},
    notice::{self, NoticeError},
    overlay::{self, OverlayRules},
    recompute::{self, DeadlineChange, StoredDeadline},
    role::Role,
    stage::{CaseState, Stage},
};
use serde::{Deserialize, Serialize};
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
        idempotency::Reply,
        write::{Json, Write},
    },
    store::{
        alerts::{self as alert_store, NewCorrection},
        calendar::{self as store, StoredDeadlineRow},
        overlay::{self as overlay_store, ProvisionalDueRow},
    },
    timers::{self, sweep},
    workflow::cases::append_event_as,
};

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
    /// Public holidays that fall on weekdays, `YYYY-MM-DD`, each in the year. Read as text so
    /// a refusal can name the entry and say why (`notice::check_year`).
    #[schema(value_type = Vec<NaiveDate>, example = json!(["2027-01-01"]))]
    pub holidays: Vec<String>,
    /// Saturdays and Sundays that are working days (调休上班), `YYYY-MM-DD`, each in the year.
    #[schema(value_type = Vec<NaiveDate>, example = json!(["2027-02-07"]))]
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
    #[schema(value_type = crate::timers::feed::schema::AlertKind)]
    pub kind: AlertKind,
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
    /// Every unanswered overlay query whose provisional due date the load recomputed.
    pub overlay_due: Vec<RecomputedOverlayDue>,
}

/// An unanswered mineral overlay query whose due date was provisional and that the load
/// recomputed on the new calendar.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecomputedOverlayDue {
    /// The case.
    pub case_id: Uuid,
    /// The query.
    pub query_id: Uuid,
    /// The due day before the load.
    pub due_before: NaiveDate,
    /// The due day now.
    pub due_on: NaiveDate,
    /// Whether it is still provisional (it reaches past the year loaded too).
    pub provisional: bool,
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

/// A timer failure while loading: the database's (503 when it is down), or ours (500).
fn timer_error(doing: &'static str) -> impl FnOnce(timers::TimerError) -> ApiError {
    move |e| match e {
        timers::TimerError::Db(e) => e.into(),
        other => ApiError::internal(doing, other),
    }
}

/// The `data` of a `deadline_recomputed` event.
#[derive(Debug, Serialize)]
struct RecomputedEvent {
    year: i32,
    #[serde(flatten)]
    change: DeadlineChange,
}

/// The `data` of an `alert_corrected` event.
#[derive(Debug, Serialize)]
struct CorrectedEvent<'a> {
    alert_id: i64,
    alert: &'a str,
    from_due_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    withdrawn: bool,
}

fn event_data(data: &impl Serialize) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(data).map_err(|e| ApiError::internal("writing the event", e))
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
    store::lock_calendar(conn).await?;
    let calendar = admin::load_calendar(conn)
        .await
        .map_err(|e| ApiError::internal("loading the working-day calendar", e))?
        .with_year(year, listed.clone())
        .map_err(|e| ApiError::invalid("calendar-year-missing", "year", e.to_string()))?;
    let holidays: Vec<NaiveDate> = listed.holidays.iter().copied().collect();
    let adjusted: Vec<NaiveDate> = listed.adjusted_workdays.iter().copied().collect();
    let stored = store::store_year(conn, year, &holidays, &adjusted, now).await?;

    let mut rules = timers::load_rules(conn)
        .await
        .map_err(timer_error("loading the rules"))?;
    rules.calendar = calendar;
    let mut report = LoadReport {
        covered_until: rules.calendar.covered_until(),
        calendar: stored,
        deadlines: Vec::new(),
        alerts: Vec::new(),
        overlay_due: Vec::new(),
    };
    let context = LoadContext {
        year,
        loader,
        now,
        reason: format!("calendar year {year} loaded"),
    };
    let rows = store::lock_stored_deadlines(conn).await?;
    for row in rows {
        recompute_case(conn, &rules, row, &context, &mut report).await?;
    }
    for row in overlay_store::lock_provisional_due(conn).await? {
        recompute_overlay_due(conn, &rules.calendar, row, &context, &mut report).await?;
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
    row: StoredDeadlineRow,
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
    store::store_deadline(conn, row.id, recomputed, now).await?;
    let stage = state.stage();
    append_event_as(
        conn,
        row.id,
        now,
        context.actor(),
        "deadline_recomputed",
        (Some(stage), Some(stage)),
        Some(&context.reason),
        event_data(&RecomputedEvent {
            year: context.year,
            change,
        })?,
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

/// Computes an unanswered overlay query's provisional due date again; when the load changed it
/// (the day or its being provisional), stores it with an event in the case's history.
async fn recompute_overlay_due(
    conn: &mut PgConnection,
    calendar: &WorkCalendar,
    row: ProvisionalDueRow,
    context: &LoadContext,
    report: &mut LoadReport,
) -> Result<(), ApiError> {
    let due = overlay::due_on(calendar, row.sent_on, &OverlayRules::default());
    if due.date == row.due_on && due.provisional {
        return Ok(());
    }
    overlay_store::store_due(conn, row.id, due.date, due.provisional).await?;
    let recomputed = RecomputedOverlayDue {
        case_id: row.case_id,
        query_id: row.id,
        due_before: row.due_on,
        due_on: due.date,
        provisional: due.provisional,
    };
    append_event_as(
        conn,
        row.case_id,
        context.now,
        context.actor(),
        "overlay_due_recomputed",
        (None, None),
        Some(&context.reason),
        event_data(&recomputed)?,
    )
    .await?;
    report.overlay_due.push(recomputed);
    Ok(())
}

/// Corrects each deadline alert of the case's current stay that still stands for another
/// instant than `new`, recording each correction as an event.
async fn correct_alerts(
    conn: &mut PgConnection,
    row: &StoredDeadlineRow,
    stage: Stage,
    new: StoredDeadline,
    current: DeadlineStatus,
    context: &LoadContext,
    report: &mut LoadReport,
) -> Result<(), ApiError> {
    let standing = alert_store::standing_deadline_alerts(conn, row.id, row.stage_entered_at).await?;
    for alert in standing {
        let Ok(announced_kind) = AlertKind::parse(&alert.kind) else {
            continue;
        };
        let Some(announced) = announced_kind.deadline_status() else {
            continue;
        };
        let Some(correction) = recompute::correct_alert(announced, alert.due_at, new.ends_at, current) else {
            continue;
        };
        let stored = NewCorrection {
            alert_id: alert.id,
            corrected_at: context.now,
            due_at: correction.due_at,
            withdrawn: correction.withdrawn,
            reason: &context.reason,
        };
        alert_store::insert_correction(conn, &stored).await?;
        append_event_as(
            conn,
            row.id,
            context.now,
            context.actor(),
            "alert_corrected",
            (Some(stage), Some(stage)),
            Some(&context.reason),
            event_data(&CorrectedEvent {
                alert_id: alert.id,
                alert: &alert.kind,
                from_due_at: alert.due_at,
                due_at: correction.due_at,
                withdrawn: correction.withdrawn,
            })?,
        )
        .await?;
        report.alerts.push(CorrectedAlert {
            alert_id: alert.id,
            case_id: row.id,
            kind: announced_kind,
            due_at: correction.due_at,
            withdrawn: correction.withdrawn,
        });
    }
    Ok(())
}

/// `GET /api/v1/calendar/{year}`: one loaded year of the working-day calendar.
#[utoipa::path(get, path = "/calendar/{year}", tag = "calendar", params(("year" = i32, Path, description = "The year", minimum = 1949, maximum = 9999)), responses((status = 200, description = "The year's weekday holidays and weekend working days", body = CalendarYearView, headers(("ETag" = String)))))]
#[tracing::instrument(skip_all, fields(year))]
pub async fn get_year(
    State(state): State<AppState>,
    caller: Caller,
    Path(year): Path<i32>,
) -> Result<Response, ApiError> {
    check_year_number(year)?;
    let mut tx = state.begin_for(&caller).await?;
    let stored = store::year(&mut tx, year)
        .await?
        .ok_or(ApiError::NotFound("calendar year"))?;
    let version = stored.version;
    Ok(([(header::ETAG, etag_header(version))], axum::Json(stored)).into_response())
}

/// `PUT /api/v1/calendar/{year}`: an admin loads the year's State Council notice. Needs
/// `If-Match` once the year is loaded. Stored deadlines are recomputed and alerts corrected.
#[utoipa::path(put, path = "/calendar/{year}", tag = "calendar", params(("year" = i32, Path, description = "The year the notice is for", minimum = 1949, maximum = 9999), ("If-Match" = Option<String>, Header, description = "The year's ETag; required once the year is loaded")), request_body = CalendarYearBody, responses((status = 200, description = "The year as stored, with every deadline it changed and every alert it corrected", body = LoadReport, headers(("ETag" = String)))))]
#[tracing::instrument(skip_all, fields(year))]
pub async fn put_year(
    Path(year): Path<i32>,
    headers: HeaderMap,
    mut write: Write<Json<CalendarYearBody>>,
) -> Result<Response, ApiError> {
    write.caller.require(&[Role::Admin], "load a calendar year")?;
    check_year_number(year)?;
    let body = &write.body.0;
    let listed =
        notice::check_year(year, &body.holidays, &body.adjusted_workdays).map_err(|e| notice_refused(&e))?;
    if let Some(current) = store::lock_year(&mut write.tx, year).await? {
        require_if_match(&headers, current.version)?;
    }
    let loader = Loader::from(&write.caller);
    let report = load_year(&mut write.tx, year, listed, loader, write.now).await?;
    let reply =
        Reply::json(StatusCode::OK, &report)?.header(header::ETAG, etag_header(report.calendar.version));
    write.finish(reply).await
}

/// The calendar routes (nested under `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_year, put_year))
}
