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
use chrono::{DateTime, Utc};
use futures_util::Stream;
use landuse_domain::{alerts::AlertKind, role::Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    app::AppState,
    auth::Caller,
    db::{self, Scope},
    http::error::ApiError,
};

/// The roles that read alerts.
const READERS: [Role; 4] = [Role::Officer, Role::Reviewer, Role::Leader, Role::Admin];

/// How often an open stream looks for new alerts.
const STREAM_POLL: Duration = Duration::from_secs(1);

/// An alert as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AlertRow {
    /// The feed position: increasing, never reused.
    pub id: i64,
    /// `ledger_due_soon`, `ledger_overdue`, `deadline_near` or `deadline_passed`.
    pub kind: String,
    /// The case.
    pub case_id: Uuid,
    /// The ledger item, for clearing alerts.
    pub ledger_item_id: Option<Uuid>,
    /// When the case entered the stage, for deadline alerts.
    pub stage_entered_at: Option<DateTime<Utc>>,
    /// The stage the alert is about.
    pub stage: String,
    /// The case's county.
    pub county_code: String,
    /// When the sweeper raised it.
    pub raised_at: DateTime<Utc>,
    /// When the limit passes (or passed).
    pub due_at: DateTime<Utc>,
    /// Who is told.
    pub recipients: Value,
    /// Titles, dates and days left.
    pub details: Value,
    /// The deadline as last corrected by a newly loaded calendar year (`due_at` is the one
    /// the alert was raised for); none when never corrected.
    pub corrected_due_at: Option<DateTime<Utc>>,
    /// A calendar year moved the deadline so that the alert's status no longer holds: it does
    /// not stand.
    pub withdrawn: bool,
}

/// An alert as the feed, the stream and webhooks show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    /// The stored alert.
    #[serde(flatten)]
    pub row: AlertRow,
    /// A line for a person, in the bureau's words.
    pub title: &'static str,
    /// The case it is about.
    pub href: String,
}

impl From<AlertRow> for AlertView {
    fn from(row: AlertRow) -> Self {
        Self {
            title: AlertKind::parse(&row.kind).map_or("", AlertKind::title_zh),
            href: format!("/api/v1/cases/{}", row.case_id),
            row,
        }
    }
}

const ALERT_COLUMNS: &str =
    "id, kind, case_id, ledger_item_id, stage_entered_at, stage, county_code, raised_at,
    due_at, recipients, details,
    (select ac.due_at from alert_corrections ac where ac.alert_id = alerts.id
      order by ac.id desc limit 1) as corrected_due_at,
    coalesce((select ac.withdrawn from alert_corrections ac where ac.alert_id = alerts.id
      order by ac.id desc limit 1), false) as withdrawn";

/// Loads one alert.
///
/// # Errors
/// Database failures.
pub async fn load(db: &mut sqlx::PgConnection, id: i64) -> Result<Option<AlertRow>, sqlx::Error> {
    sqlx::query_as(&format!("select {ALERT_COLUMNS} from alerts where id = $1"))
        .bind(id)
        .fetch_optional(&mut *db)
        .await
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

async fn page(
    pool: &PgPool,
    counties: Option<&[String]>,
    county: Option<&str>,
    kind: Option<&str>,
    since: Since,
    limit: i64,
) -> Result<Vec<AlertRow>, sqlx::Error> {
    let (after_id, after_instant) = match since {
        Since::Id(id) => (Some(id), None),
        Since::Instant(at) => (None, Some(at)),
    };
    let scope = Scope::from(counties.map(<[String]>::to_vec));
    let mut tx = db::begin_scoped(pool, &scope).await?;
    sqlx::query_as(&format!(
        "select {ALERT_COLUMNS} from alerts
          where ($1::text[] is null or county_code = any($1))
            and ($2::text is null or county_code = $2)
            and ($3::text is null or kind = $3)
            and ($4::bigint is null or id > $4)
            and ($5::timestamptz is null or raised_at > $5)
          order by id
          limit $6"
    ))
    .bind(counties)
    .bind(county)
    .bind(kind)
    .bind(after_id)
    .bind(after_instant)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await
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
    let rows = page(
        &state.db,
        counties.as_deref(),
        query.county.as_deref(),
        query.kind.as_deref(),
        since,
        limit,
    )
    .await
    .map_err(|e| ApiError::db("listing alerts", e))?;
    let next_since = rows.last().map(|r| r.id).or(match since {
        Since::Id(id) => Some(id),
        Since::Instant(_) => None,
    });
    Ok(Json(FeedPage {
        items: rows.into_iter().map(AlertView::from).collect(),
        next_since,
    }))
}

/// Query parameters of `GET /api/v1/alerts/stream`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Start after this alert id; `Last-Event-ID` wins when a reconnecting client sends it.
    /// Without either, the stream starts with the next alert raised.
    pub since: Option<i64>,
    /// Only this county.
    #[param(pattern = "^[0-9]{6}$")]
    pub county: Option<String>,
}

struct Tail {
    db: PgPool,
    counties: Option<Vec<String>>,
    county: Option<String>,
    last: i64,
    pending: VecDeque<AlertRow>,
    polled: bool,
}

/// `GET /api/v1/alerts/stream`: every new alert as a Server-Sent Event (`event: alert`, `id:`
/// the alert id, `data:` the alert as in the feed). Reconnecting with `Last-Event-ID` resumes
/// without a gap.
#[utoipa::path(get, path = "/api/v1/alerts/stream", operation_id = "stream_alerts", tag = "alerts", params(StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this alert id")), responses((status = 200, description = "Server-Sent Events: `event: alert`, `id:` the alert id, `data:` the alert", content_type = "text/event-stream", body = String)))]
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
        None => sqlx::query_scalar("select coalesce(max(id), 0) from alerts")
            .fetch_one(&mut *state.begin_for(&caller).await?)
            .await
            .map_err(|e| ApiError::db("finding the newest alert", e))?,
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
                let id = row.id.to_string();
                let Ok(event) = Event::default()
                    .event("alert")
                    .id(id)
                    .json_data(AlertView::from(row))
                else {
                    continue;
                };
                return Some((Ok(event), tail));
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
