//! The alert feed: `GET /api/v1/alerts?since=…` for clients that poll, and
//! `GET /api/v1/alerts/stream` (Server-Sent Events) for dashboards. Officers see their
//! counties' alerts; reviewers, leaders and admins see all.

use std::{collections::VecDeque, convert::Infallible, time::Duration};

use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
    Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::Stream;
use landuse_domain::{
    alerts::{AlertKind, DeadlineStatus, Recipient},
    clearing::ClearingStatus,
    role::Role,
    stage::Stage,
};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::TimerError;
use crate::{
    app::AppState,
    auth::Caller,
    db::{self, Scope},
    http::error::ApiError,
    store::{
        alerts::{self, AlertFilter, AlertRecord},
        Doing,
    },
};

/// The roles that read alerts.
const READERS: [Role; 4] = [Role::Officer, Role::Reviewer, Role::Leader, Role::Admin];

/// How often an open stream looks for new alerts.
const STREAM_POLL: Duration = Duration::from_secs(1);

/// An alert as the feed, the stream and webhooks show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    /// The feed position: increasing, never reused.
    pub id: i64,
    /// What the alert says.
    #[schema(value_type = schema::AlertKind)]
    pub kind: AlertKind,
    /// The case.
    pub case_id: Uuid,
    /// The ledger item, for clearing alerts.
    pub ledger_item_id: Option<Uuid>,
    /// When the case entered the stage, for deadline alerts.
    pub stage_entered_at: Option<DateTime<Utc>>,
    /// The supplied part, for idle-land alerts.
    pub supply_part_id: Option<Uuid>,
    /// The overlay query, for overlay-query alerts.
    pub overlay_query_id: Option<Uuid>,
    /// The stage the alert is about (for an idle-land alert, the case's stage when raised).
    pub stage: Stage,
    /// The case's county.
    pub county_code: String,
    /// When the sweeper raised it.
    pub raised_at: DateTime<Utc>,
    /// When the limit passes (or passed).
    pub due_at: DateTime<Utc>,
    /// Who is told.
    #[schema(value_type = Vec<schema::Recipient>)]
    pub recipients: Vec<Recipient>,
    /// Titles, dates and days left.
    pub details: AlertDetails,
    /// The deadline as last corrected by a newly loaded calendar year (`due_at` is the one
    /// the alert was raised for); none when never corrected.
    pub corrected_due_at: Option<DateTime<Utc>>,
    /// A calendar year moved the deadline so that the alert's status no longer holds: it does
    /// not stand.
    pub withdrawn: bool,
    /// A line for a person, in the bureau's words.
    pub title: &'static str,
    /// The case it is about.
    pub href: String,
}

/// What an alert's details say, by kind of alert. Written by the sweeper when it raises the
/// alert and read back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AlertDetails {
    /// A ledger item's three-week clearing (`ledger_due_soon`, `ledger_overdue`).
    Ledger(LedgerAlertDetails),
    /// A stage's time limit (`deadline_near`, `deadline_passed`).
    Deadline(DeadlineAlertDetails),
    /// Supplied land on the idle-land rules (`land_idle_soon`, `land_idle`, `land_partial_idle`,
    /// `land_reclaimable`).
    Land(LandAlertDetails),
    /// An unanswered mineral overlay query (`overlay_reminder`, `overlay_late`).
    Overlay(OverlayAlertDetails),
}

/// The details of an overlay-query alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OverlayAlertDetails {
    /// The case's title.
    pub case_title: String,
    /// The case's project.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// The query.
    pub overlay_query_id: Uuid,
    /// The day it was sent.
    pub sent_on: NaiveDate,
    /// The day its answer was due.
    pub answer_due_on: NaiveDate,
    /// Whether that day may still move with a later holiday notice.
    pub answer_due_provisional: bool,
    /// Where the query stood when the alert was raised (`due_today` or `late`).
    pub query_status: landuse_domain::overlay::OverlayStatus,
}

/// The details of an idle-land alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LandAlertDetails {
    /// The case's title.
    pub case_title: String,
    /// The case's project.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// The supply decision's or contract's number.
    pub document_number: String,
    /// The supplied area, in mu.
    pub area_mu: landuse_domain::ledger::Amount,
    /// The agreed start date.
    pub agreed_start_on: NaiveDate,
    /// The first day the land is idle if it does not start.
    pub idle_from: NaiveDate,
    /// The first day it may be taken back if it does not start.
    pub reclaimable_from: NaiveDate,
    /// The idle-land fee that may be charged, in 万元.
    pub fee_wan_yuan: Option<landuse_domain::ledger::Amount>,
    /// The status the land reached.
    pub status: landuse_domain::supply::idle::IdleStatus,
}

/// The details of a clearing alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerAlertDetails {
    /// The case's title.
    pub case_title: String,
    /// The case's project.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// Whether the case is on the green channel.
    pub green: bool,
    /// When the ledger item was opened.
    pub opened_at: DateTime<Utc>,
    /// The day it must be struck off by (bureau calendar, pauses added).
    pub due_on: NaiveDate,
    /// Days left until then; negative once past.
    pub days_left: i64,
    /// The status the item reached.
    pub status: ClearingStatus,
}

/// The details of a stage-deadline alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadlineAlertDetails {
    /// The case's title.
    pub case_title: String,
    /// The case's project.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// Whether the case is on the green channel.
    pub green: bool,
    /// When the case entered the stage.
    pub stage_entered_at: DateTime<Utc>,
    /// The stage's limit on the case's channel, in working days.
    pub limit_working_days: u32,
    /// The last working day of the limit.
    pub deadline: NaiveDate,
    /// Whether a later holiday notice may still move it.
    pub provisional: bool,
    /// Working days left after today; negative once past.
    pub working_days_left: i64,
    /// Whether the stage clock was stopped (a pause) when the alert was raised.
    pub paused: bool,
    /// The status the stage reached.
    #[schema(value_type = schema::DeadlineStatus)]
    pub status: DeadlineStatus,
}

/// Schema-only mirrors of domain enums the OpenAPI document names but whose domain types do not
/// derive `ToSchema` (`landuse_domain::alerts`); the tests below hold each to the domain's own
/// serialization. Once the domain derives `ToSchema` for them, these go.
pub(crate) mod schema {
    #![allow(dead_code)]
    use serde::Deserialize;

    /// What an alert says.
    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[schema(as = AlertKind)]
    #[serde(rename_all = "snake_case")]
    pub enum AlertKind {
        /// A ledger item has 7 days or fewer left.
        LedgerDueSoon,
        /// A ledger item is open more than 21 days.
        LedgerOverdue,
        /// A stage's time limit is near.
        DeadlineNear,
        /// A stage's time limit has passed.
        DeadlinePassed,
        /// Supplied land turns idle within the warning period.
        LandIdleSoon,
        /// Supplied land is idle.
        LandIdle,
        /// Supplied land started, under-developed and halted a year.
        LandPartialIdle,
        /// Supplied land may be taken back.
        LandReclaimable,
        /// A mineral overlay query is unanswered on its due day.
        OverlayReminder,
        /// A mineral overlay query is unanswered past its due day.
        OverlayLate,
    }

    /// Where a stage stands against its time limit.
    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[schema(as = DeadlineStatus)]
    #[serde(rename_all = "snake_case")]
    pub enum DeadlineStatus {
        /// More than the threshold left.
        Running,
        /// Within the threshold.
        Near,
        /// Past.
        Passed,
    }

    /// Someone an alert is for.
    #[derive(Debug, Deserialize, utoipa::ToSchema)]
    #[schema(as = Recipient)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub enum Recipient {
        /// The county officer who opened the case.
        CaseOfficer {
            /// The officer's user id.
            user_id: uuid::Uuid,
        },
        /// The leader responsible for the project.
        ResponsibleLeader {
            /// As the key-project list names them.
            name: String,
        },
        /// The leading-group office, told of every alert.
        LeadingGroupOffice,
    }
}

/// A stored alert that does not read back as the sweeper wrote it.
#[derive(Debug, thiserror::Error)]
#[error("alert {id}: stored {what} does not read: {reason}")]
pub struct UnreadableAlert {
    /// The alert.
    pub id: i64,
    /// Which column.
    pub what: &'static str,
    /// Why.
    pub reason: String,
}

impl UnreadableAlert {
    fn of(id: i64, what: &'static str) -> impl FnOnce(&dyn std::fmt::Display) -> Self {
        move |reason| Self {
            id,
            what,
            reason: reason.to_string(),
        }
    }
}

impl From<UnreadableAlert> for TimerError {
    fn from(error: UnreadableAlert) -> Self {
        Self::Corrupt {
            what: "alert",
            detail: error.to_string(),
        }
    }
}

impl TryFrom<AlertRecord> for AlertView {
    type Error = UnreadableAlert;

    fn try_from(record: AlertRecord) -> Result<Self, Self::Error> {
        let id = record.id;
        let kind = AlertKind::parse(&record.kind).map_err(|e| UnreadableAlert::of(id, "kind")(&e))?;
        let stage = Stage::parse(&record.stage).map_err(|e| UnreadableAlert::of(id, "stage")(&e))?;
        let recipients = serde_json::from_value(record.recipients)
            .map_err(|e| UnreadableAlert::of(id, "recipients")(&e))?;
        let details =
            serde_json::from_value(record.details).map_err(|e| UnreadableAlert::of(id, "details")(&e))?;
        Ok(Self {
            id,
            kind,
            case_id: record.case_id,
            ledger_item_id: record.ledger_item_id,
            stage_entered_at: record.stage_entered_at,
            supply_part_id: record.supply_part_id,
            overlay_query_id: record.overlay_query_id,
            stage,
            county_code: record.county_code,
            raised_at: record.raised_at,
            due_at: record.due_at,
            recipients,
            details,
            corrected_due_at: record.corrected_due_at,
            withdrawn: record.withdrawn,
            title: kind.title_zh(),
            href: format!("/api/v1/cases/{}", record.case_id),
        })
    }
}

/// Loads one alert as the feed shows it.
///
/// # Errors
/// Database failures, a stored alert that does not read back.
pub async fn load(conn: &mut PgConnection, id: i64) -> Result<Option<AlertView>, TimerError> {
    alerts::alert(conn, id)
        .await?
        .map(|record| AlertView::try_from(record).map_err(TimerError::from))
        .transpose()
}

/// Where a page starts.
#[derive(Debug, Clone, Copy)]
enum Since {
    /// After this alert id.
    Id(i64),
    /// Raised after this instant.
    Instant(DateTime<Utc>),
}

fn parse_since(text: &str) -> Result<Since, ApiError> {
    if let Ok(id) = text.parse::<i64>() {
        return Ok(Since::Id(id));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| Since::Instant(t.to_utc()))
        .map_err(|_| {
            ApiError::invalid(
                "invalid-parameter",
                "since",
                "since is an alert id (next_since of the last page) or an RFC 3339 instant",
            )
        })
}

/// A page of alerts after `since`, read in a transaction scoped to `counties`.
async fn page(
    pool: &PgPool,
    counties: Option<&[String]>,
    county: Option<&str>,
    kind: Option<&str>,
    since: Since,
    limit: i64,
) -> Result<Vec<AlertView>, ApiError> {
    let (after_id, raised_after) = match since {
        Since::Id(id) => (Some(id), None),
        Since::Instant(at) => (None, Some(at)),
    };
    let scope = Scope::from(counties.map(<[String]>::to_vec));
    let mut tx = db::begin_scoped(pool, &scope)
        .await
        .doing("starting a transaction")?;
    let filter = AlertFilter {
        counties,
        county,
        kind,
        after_id,
        raised_after,
        limit,
    };
    alerts::alerts(&mut tx, &filter)
        .await?
        .into_iter()
        .map(|record| AlertView::try_from(record).map_err(|e| ApiError::internal("reading an alert", e)))
        .collect()
}

/// Query parameters of `GET /api/v1/alerts`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// Alerts after this id (the `next_since` of the previous page), or raised after this
    /// RFC 3339 instant; from the first alert when absent.
    #[param(min_length = 1)]
    pub since: Option<String>,
    /// Only this county.
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
    /// Only this kind.
    #[param(pattern = "^(ledger_due_soon|ledger_overdue|deadline_near|deadline_passed)$")]
    pub kind: Option<String>,
    /// Page size (default 100; 0 is taken as 1 and anything over 500 as 500).
    #[param(value_type = Option<i64>, minimum = 0, maximum = 4_294_967_295_i64)]
    pub limit: Option<u32>,
}

/// A page of the feed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeedPage {
    /// Oldest first.
    pub items: Vec<AlertView>,
    /// Pass this as `since` to get the alerts after this page.
    pub next_since: Option<i64>,
}

/// `GET /api/v1/alerts`: alerts after `since`, oldest first.
#[utoipa::path(get, path = "/api/v1/alerts", operation_id = "list_alerts", tag = "alerts", params(FeedQuery), responses((status = 200, description = "Alerts after `since`, oldest first", body = FeedPage)))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<FeedQuery>,
) -> Result<Json<FeedPage>, ApiError> {
    caller.require(&READERS, "read alerts")?;
    crate::http::query::county_filter(query.county.as_deref())?;
    let since = query
        .since
        .as_deref()
        .map(parse_since)
        .transpose()?
        .unwrap_or(Since::Id(0));
    if let Some(kind) = &query.kind {
        AlertKind::parse(kind).map_err(|e| ApiError::invalid("invalid-parameter", "kind", e.to_string()))?;
    }
    let limit = i64::from(query.limit.unwrap_or(100).clamp(1, 500));
    let counties = caller.county_filter();
    let items = page(
        &state.db,
        counties.as_deref(),
        query.county.as_deref(),
        query.kind.as_deref(),
        since,
        limit,
    )
    .await?;
    let next_since = items.last().map(|r| r.id).or(match since {
        Since::Id(id) => Some(id),
        Since::Instant(_) => None,
    });
    Ok(Json(FeedPage { items, next_since }))
}

/// Query parameters of `GET /api/v1/alerts/stream`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Start after this alert id; `Last-Event-ID` wins when a reconnecting client sends it.
    /// Without either, the stream starts with the next alert raised.
    #[param(minimum = 0)]
    pub since: Option<i64>,
    /// Only this county.
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
}

/// One event of `GET /api/v1/alerts/stream`, as an `EventSource` parser reads it off the wire
/// (`event:`, `id:` and `data:` lines; OpenAPI before 3.2 has a stream's `schema` describe one
/// event, which is how this one is documented).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertEvent {
    /// Always `alert`.
    #[schema(pattern = "^alert$")]
    pub event: &'static str,
    /// The alert's id: a reconnecting client sends the last one back as `Last-Event-ID`.
    #[schema(pattern = "^[0-9]+$")]
    pub id: String,
    /// The alert as JSON, as an item of `GET /api/v1/alerts` (the `AlertView` schema).
    #[schema(content_media_type = "application/json")]
    pub data: String,
}

impl AlertEvent {
    /// The event that carries `alert`.
    ///
    /// # Errors
    /// The alert does not serialize (it always does: its fields are plain values).
    pub fn of(alert: &AlertView) -> serde_json::Result<Self> {
        Ok(Self {
            event: "alert",
            id: alert.id.to_string(),
            data: serde_json::to_string(alert)?,
        })
    }

    /// The Server-Sent Event to send.
    fn into_sse(self) -> Event {
        Event::default().event(self.event).id(self.id).data(self.data)
    }
}

struct Tail {
    db: PgPool,
    counties: Option<Vec<String>>,
    county: Option<String>,
    last: i64,
    pending: VecDeque<AlertView>,
    polled: bool,
}

/// `GET /api/v1/alerts/stream`: every new alert as a Server-Sent Event (`event: alert`, `id:`
/// the alert id, `data:` the alert as in the feed). Reconnecting with `Last-Event-ID` resumes
/// without a gap.
#[utoipa::path(get, path = "/api/v1/alerts/stream", operation_id = "stream_alerts", tag = "alerts", params(StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this alert id")), responses((status = 200, description = "Server-Sent Events: `event: alert`, `id:` the alert id, `data:` the alert", content_type = "text/event-stream", body = AlertEvent)))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require(&READERS, "read alerts")?;
    crate::http::query::county_filter(query.county.as_deref())?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(query.since);
    let last = match resume {
        Some(id) => id,
        None => alerts::newest_alert_id(&mut *state.begin_for(&caller).await?).await?,
    };
    let tail = Tail {
        db: state.db.clone(),
        counties: caller.county_filter(),
        county: query.county,
        last,
        pending: VecDeque::new(),
        polled: false,
    };
    let events = futures_util::stream::unfold(tail, |mut tail| async move {
        loop {
            if let Some(row) = tail.pending.pop_front() {
                tail.last = row.id;
                match AlertEvent::of(&row) {
                    Ok(event) => return Some((Ok(event.into_sse()), tail)),
                    Err(error) => {
                        tracing::error!(%error, alert = row.id, "an alert could not be written as an event; skipped");
                    }
                }
            }
            if tail.polled {
                tokio::time::sleep(STREAM_POLL).await;
            }
            tail.polled = true;
            match page(
                &tail.db,
                tail.counties.as_deref(),
                tail.county.as_deref(),
                None,
                Since::Id(tail.last),
                100,
            )
            .await
            {
                Ok(rows) => tail.pending.extend(rows),
                Err(error) => tracing::warn!(%error, "the alert stream could not read new alerts; retrying"),
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;

    /// Each domain value, serialized as the API writes it, reads as the mirror the schema shows.
    fn mirrors<T: Serialize, M: serde::de::DeserializeOwned>(values: &[T]) {
        for value in values {
            let json = serde_json::to_value(value).unwrap();
            assert!(
                serde_json::from_value::<M>(json.clone()).is_ok(),
                "{json} has no mirror"
            );
        }
    }

    #[test]
    fn the_documented_alert_enums_are_the_ones_the_domain_writes() {
        mirrors::<_, schema::AlertKind>(AlertKind::ALL);
        mirrors::<_, schema::DeadlineStatus>(&[
            DeadlineStatus::Running,
            DeadlineStatus::Near,
            DeadlineStatus::Passed,
        ]);
        mirrors::<_, schema::Recipient>(&alerts_recipients());
    }

    fn alerts_recipients() -> Vec<Recipient> {
        landuse_domain::alerts::recipients(Some(Uuid::nil()), Some("张副局长"))
    }

    #[test]
    fn stored_details_read_back_as_the_kind_of_alert_that_wrote_them() {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 3, 23).unwrap();
        let ledger = AlertDetails::Ledger(LedgerAlertDetails {
            case_title: "t".to_owned(),
            project_id: Uuid::nil(),
            project_name: "p".to_owned(),
            green: false,
            opened_at: at,
            due_on: day,
            days_left: 3,
            status: ClearingStatus::DueSoon,
        });
        let deadline = AlertDetails::Deadline(DeadlineAlertDetails {
            case_title: "t".to_owned(),
            project_id: Uuid::nil(),
            project_name: "p".to_owned(),
            green: true,
            stage_entered_at: at,
            limit_working_days: 10,
            deadline: day,
            provisional: false,
            working_days_left: -1,
            paused: false,
            status: DeadlineStatus::Passed,
        });
        for details in [ledger, deadline] {
            let stored = serde_json::to_value(&details).unwrap();
            assert_eq!(serde_json::from_value::<AlertDetails>(stored).unwrap(), details);
        }
    }
}
