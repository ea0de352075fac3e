//! One sweep: every open ledger item and every running stage deadline, judged by the domain
//! rules at `now`; each newly reached status raised as an alert, exactly once, with its event
//! in the case history and its webhook deliveries queued, all in one transaction; the weekly
//! dispatch when it falls due, and the start rate of every quarter that has just closed, frozen.

use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    alerts::{self, AlertKind, DeadlineStatus, Recipient},
    calendar::bureau_day_end,
    clearing::{self, ClearingStatus, LedgerItem},
    clock::{Pause, StageClock},
    limits::{self, Channel},
    stage::{CaseState, Stage},
};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{dispatch, load_rules, SweepRules, TimerError, TimerSettings};

/// The advisory lock a sweep holds for its transaction: one sweep at a time across every
/// process on the database. The number is "landuse" in ASCII with a 1 for this lock.
const SWEEP_LOCK: i64 = 0x006c_616e_6475_7301;

/// What one sweep did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepReport {
    /// Another process was sweeping; this one did nothing.
    pub skipped: bool,
    /// Ledger items whose recorded status changed.
    pub ledger_changes: usize,
    /// The alerts raised, by id.
    pub alerts: Vec<i64>,
    /// The dispatch snapshot taken, if one fell due.
    pub snapshot: Option<Uuid>,
    /// County figures of closed quarters' start rates frozen by this sweep.
    pub start_rates_frozen: usize,
}

/// Runs one sweep at `now`, unless another process is sweeping.
///
/// # Errors
/// Database failures or unreadable rules; nothing is written then.
#[tracing::instrument(skip_all, fields(%now))]
pub async fn sweep_once(
    db: &PgPool,
    now: DateTime<Utc>,
    settings: &TimerSettings,
) -> Result<SweepReport, TimerError> {
    let mut tx = crate::db::begin_scoped(db, &crate::db::Scope::All)
        .await
        .map_err(TimerError::db("starting a sweep"))?;
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
        .bind(SWEEP_LOCK)
        .fetch_one(&mut *tx)
        .await
        .map_err(TimerError::db("taking the sweep lock"))?;
    if !locked {
        return Ok(SweepReport {
            skipped: true,
            ..SweepReport::default()
        });
    }
    let rules = load_rules(&mut tx).await?;
    let endpoints: Vec<String> = settings.webhooks.urls.iter().map(ToString::to_string).collect();
    let mut report = SweepReport::default();
    sweep_ledger(&mut tx, &rules, now, &endpoints, &mut report).await?;
    sweep_deadlines(&mut tx, &rules, now, &endpoints, &mut report).await?;
    report.snapshot = dispatch::take_due(&mut tx, &settings.dispatch, &rules.clearing, now).await?;
    report.start_rates_frozen =
        crate::quota::starts::freeze_due(&mut tx, now)
            .await
            .map_err(|e| match e {
                crate::quota::starts::StartError::Db { doing, source } => TimerError::Db { doing, source },
                other => TimerError::Corrupt {
                    what: "start-rate goals",
                    detail: other.to_string(),
                },
            })?;
    tx.commit()
        .await
        .map_err(TimerError::db("committing the sweep"))?;
    Ok(report)
}

/// The select-list part giving the pauses of case `case` from `since` on, as two arrays
/// (`pause_from`, `pause_to`); both arguments are column names of the query, never input.
pub(crate) fn pauses_since(case: &str, since: &str) -> String {
    let filter = format!("cp.case_id = {case} and (cp.resumed_at is null or cp.resumed_at > {since})");
    format!(
        "array(select cp.paused_at from case_pauses cp where {filter} order by cp.id) as pause_from,
         array(select cp.resumed_at from case_pauses cp where {filter} order by cp.id) as pause_to"
    )
}

/// Pairs the two pause arrays into the domain's pauses.
pub(crate) fn pauses(from: &[DateTime<Utc>], to: &[Option<DateTime<Utc>>]) -> Result<Vec<Pause>, TimerError> {
    from.iter()
        .zip(to)
        .map(|(from, to)| {
            Pause::new(*from, *to).map_err(|e| TimerError::Corrupt {
                what: "case pause",
                detail: e.to_string(),
            })
        })
        .collect()
}

fn parse_stage(code: &str) -> Result<Stage, TimerError> {
    Stage::parse(code).map_err(|e| TimerError::Corrupt {
        what: "stage",
        detail: e.to_string(),
    })
}

fn parse_clearing_status(code: &str) -> Result<ClearingStatus, TimerError> {
    match code {
        "open" => Ok(ClearingStatus::Open),
        "due_soon" => Ok(ClearingStatus::DueSoon),
        "overdue" => Ok(ClearingStatus::Overdue),
        "cleared" => Ok(ClearingStatus::Cleared),
        other => Err(TimerError::Corrupt {
            what: "ledger status",
            detail: format!("{other:?}"),
        }),
    }
}

/// An open ledger item with what an alert about it needs.
#[derive(Debug, sqlx::FromRow)]
struct OpenItem {
    id: Uuid,
    case_id: Uuid,
    county_code: String,
    stage: String,
    opened_at: DateTime<Utc>,
    last_status: String,
    officer_id: Option<Uuid>,
    title: String,
    green: bool,
    project_id: Uuid,
    project_name: String,
    responsible_leader: Option<String>,
    pause_from: Vec<DateTime<Utc>>,
    pause_to: Vec<Option<DateTime<Utc>>>,
}

async fn sweep_ledger(
    tx: &mut PgConnection,
    rules: &SweepRules,
    now: DateTime<Utc>,
    endpoints: &[String],
    report: &mut SweepReport,
) -> Result<(), TimerError> {
    let sql = format!(
        "select li.id, li.case_id, li.county_code, li.stage, li.opened_at, li.last_status,
                c.officer_id, c.title, c.green, p.id as project_id, p.name as project_name,
                p.responsible_leader, {}
           from ledger_items li
           join cases c on c.id = li.case_id
           join projects p on p.id = c.project_id
          where li.cleared_at is null and li.opened_at <= $1
          order by li.id",
        pauses_since("li.case_id", "li.opened_at")
    );
    let rows: Vec<OpenItem> = sqlx::query_as(&sql)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(TimerError::db("loading the open ledger items"))?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push((
            LedgerItem {
                opened_at: row.opened_at,
                cleared_at: None,
                pauses: pauses(&row.pause_from, &row.pause_to)?,
            },
            parse_clearing_status(&row.last_status)?,
        ));
    }
    let found = clearing::changes(
        rows.iter()
            .zip(&items)
            .map(|(row, (item, last))| (row, item, *last)),
        now,
        &rules.clearing,
    );
    for change in found {
        let row = change.id;
        // Compare-and-set: a concurrent sweep that got here first leaves nothing to change.
        let updated = sqlx::query(
            "update ledger_items set last_status = $3
              where id = $1 and last_status = $2 and cleared_at is null",
        )
        .bind(row.id)
        .bind(change.from.code())
        .bind(change.to.code())
        .execute(&mut *tx)
        .await
        .map_err(TimerError::db("recording a ledger item's status"))?;
        if updated.rows_affected() != 1 {
            continue;
        }
        report.ledger_changes += 1;
        let Some(alert) = change.alert else { continue };
        let item = LedgerItem {
            opened_at: row.opened_at,
            cleared_at: None,
            pauses: pauses(&row.pause_from, &row.pause_to)?,
        };
        let due_on: NaiveDate = item.due_date(now, &rules.clearing);
        let stage = parse_stage(&row.stage)?;
        let new = NewAlert {
            kind: alert.into(),
            case_id: row.case_id,
            case_stage: stage,
            ledger_item_id: Some(row.id),
            stage_entered_at: None,
            stage,
            county_code: &row.county_code,
            due_at: bureau_day_end(due_on),
            recipients: alerts::recipients(row.officer_id, row.responsible_leader.as_deref()),
            details: json!({
                "case_title": row.title,
                "project_id": row.project_id,
                "project_name": row.project_name,
                "green": row.green,
                "opened_at": row.opened_at,
                "due_on": due_on,
                "days_left": item.days_left(now, &rules.clearing),
                "status": change.to,
            }),
        };
        if let Some(id) = raise(tx, &new, now, endpoints).await? {
            report.alerts.push(id);
        }
    }
    Ok(())
}

/// A case whose stage has a running time limit.
#[derive(Debug, sqlx::FromRow)]
struct RunningCase {
    id: Uuid,
    county_code: String,
    stage: String,
    returns_to: Option<String>,
    stage_entered_at: DateTime<Utc>,
    green: bool,
    officer_id: Option<Uuid>,
    title: String,
    project_id: Uuid,
    project_name: String,
    responsible_leader: Option<String>,
    pause_from: Vec<DateTime<Utc>>,
    pause_to: Vec<Option<DateTime<Utc>>>,
    alerted: Vec<String>,
}

async fn sweep_deadlines(
    tx: &mut PgConnection,
    rules: &SweepRules,
    now: DateTime<Utc>,
    endpoints: &[String],
    report: &mut SweepReport,
) -> Result<(), TimerError> {
    let sql = format!(
        "select c.id, c.county_code, c.stage, c.returns_to, c.stage_entered_at, c.green, c.officer_id,
                c.title, p.id as project_id, p.name as project_name, p.responsible_leader, {},
                array(select a.kind from alerts a
                       where a.case_id = c.id and a.stage_entered_at = c.stage_entered_at
                         -- an alert a calendar year withdrew no longer counts as raised
                         and not coalesce((select ac.withdrawn from alert_corrections ac
                                            where ac.alert_id = a.id order by ac.id desc limit 1), false)
                      ) as alerted
           from cases c join projects p on p.id = c.project_id
          where c.stage in ('accepted', 'pre_review', 'conversion', 'supply', 'registration', 'correction')
            and c.stage_entered_at <= $1
          order by c.id",
        pauses_since("c.id", "c.stage_entered_at")
    );
    let rows: Vec<RunningCase> = sqlx::query_as(&sql)
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(TimerError::db("loading the running stage deadlines"))?;
    for row in rows {
        let case_state = CaseState::new(
            parse_stage(&row.stage)?,
            row.returns_to.as_deref().map(parse_stage).transpose()?,
        )
        .map_err(|e| TimerError::Corrupt {
            what: "case state",
            detail: e.to_string(),
        })?;
        let channel = Channel::from_green(row.green);
        let clock = StageClock {
            started_at: row.stage_entered_at,
            pauses: pauses(&row.pause_from, &row.pause_to)?,
        };
        let stage = case_state.clock_stage();
        let Some(limit_days) = rules.limits.limit(stage, channel) else {
            continue;
        };
        let Some(remaining) =
            limits::remaining_working_days(&rules.limits, &rules.calendar, &case_state, channel, &clock, now)
        else {
            continue;
        };
        let current = alerts::deadline_status(&remaining, limit_days, &rules.deadlines);
        let alerted = row
            .alerted
            .iter()
            .filter_map(|code| AlertKind::parse(code).ok()?.deadline_status())
            .max()
            .unwrap_or(DeadlineStatus::Running);
        let Some(alert) = alerts::deadline_alert(alerted, current) else {
            continue;
        };
        let new = NewAlert {
            kind: alert.into(),
            case_id: row.id,
            case_stage: case_state.stage(),
            ledger_item_id: None,
            stage_entered_at: Some(row.stage_entered_at),
            stage,
            county_code: &row.county_code,
            due_at: remaining.deadline.ends_at(),
            recipients: alerts::recipients(row.officer_id, row.responsible_leader.as_deref()),
            details: json!({
                "case_title": row.title,
                "project_id": row.project_id,
                "project_name": row.project_name,
                "green": row.green,
                "stage_entered_at": row.stage_entered_at,
                "limit_working_days": limit_days,
                "deadline": remaining.deadline.date,
                "provisional": remaining.deadline.provisional,
                "working_days_left": remaining.working_days,
                "paused": clock.is_stopped(now),
                "status": current,
            }),
        };
        if let Some(id) = raise(tx, &new, now, endpoints).await? {
            report.alerts.push(id);
        }
    }
    Ok(())
}

/// An alert about to be raised.
struct NewAlert<'a> {
    kind: AlertKind,
    case_id: Uuid,
    /// The stage the case is in now (for its history; differs from `stage` in correction).
    case_stage: Stage,
    ledger_item_id: Option<Uuid>,
    stage_entered_at: Option<DateTime<Utc>>,
    /// The stage the alert is about.
    stage: Stage,
    county_code: &'a str,
    due_at: DateTime<Utc>,
    recipients: Vec<Recipient>,
    details: Value,
}

/// Stores the alert unless one for the same subject and kind exists, and with it the case
/// event and one queued delivery per webhook. Returns the new alert's id, or `None` when the
/// alert had already been raised.
async fn raise(
    tx: &mut PgConnection,
    alert: &NewAlert<'_>,
    now: DateTime<Utc>,
    endpoints: &[String],
) -> Result<Option<i64>, TimerError> {
    let recipients = serde_json::to_value(&alert.recipients).map_err(|e| TimerError::Corrupt {
        what: "recipient list",
        detail: e.to_string(),
    })?;
    let id: Option<i64> = sqlx::query_scalar(
        "insert into alerts (kind, case_id, ledger_item_id, stage_entered_at, stage, county_code,
                             raised_at, due_at, recipients, details)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict do nothing
         returning id",
    )
    .bind(alert.kind.code())
    .bind(alert.case_id)
    .bind(alert.ledger_item_id)
    .bind(alert.stage_entered_at)
    .bind(alert.stage.code())
    .bind(alert.county_code)
    .bind(now)
    .bind(alert.due_at)
    .bind(&recipients)
    .bind(&alert.details)
    .fetch_optional(&mut *tx)
    .await
    .map_err(TimerError::db("raising an alert"))?;
    let Some(id) = id else {
        return Ok(None);
    };
    sqlx::query(
        "insert into case_events (case_id, at, actor_id, actor_role, kind, from_stage, to_stage, reason, data)
         values ($1, $2, null, 'system', 'alert_raised', $3, $3, $4, $5)",
    )
    .bind(alert.case_id)
    .bind(now)
    .bind(alert.case_stage.code())
    .bind(alert.kind.title_zh())
    .bind(json!({
        "alert_id": id,
        "alert": alert.kind,
        "stage": alert.stage,
        "due_at": alert.due_at,
        "recipients": recipients,
    }))
    .execute(&mut *tx)
    .await
    .map_err(TimerError::db("recording the alert in the case history"))?;
    if !endpoints.is_empty() {
        sqlx::query(
            "insert into alert_deliveries (alert_id, endpoint, next_attempt_at, created_at)
             select $1, endpoint, $2, $2 from unnest($3::text[]) as endpoint",
        )
        .bind(id)
        .bind(now)
        .bind(endpoints)
        .execute(&mut *tx)
        .await
        .map_err(TimerError::db("queueing the alert's webhook deliveries"))?;
    }
    tracing::info!(alert_id = id, kind = alert.kind.code(), case_id = %alert.case_id, "alert raised");
    Ok(Some(id))
}
