//! One sweep: every open ledger item, every running stage deadline and every unanswered overlay
//! query due, judged by the domain
//! rules at `now`; each newly reached status raised as an alert, exactly once, with its event
//! in the case history and its webhook deliveries queued, all in one transaction; the weekly
//! dispatch when it falls due, and the start rate of every quarter that has just closed, frozen.

use chrono::{DateTime, NaiveDate, Utc};
use landuse_domain::{
    alerts::{self, AlertKind, DeadlineStatus, Recipient},
    calendar::{bureau_date, bureau_day_end, Deadline},
    clearing::{self, ClearingStatus, LedgerItem},
    clock::{Pause, StageClock},
    limits::{self, Channel},
    overlay::{self, OverlayQuery, OverlayRules},
    stage::{CaseState, Stage},
    supply::idle::{self, IdleRules, IdleStatus},
};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    dispatch,
    feed::{AlertDetails, DeadlineAlertDetails, LandAlertDetails, LedgerAlertDetails, OverlayAlertDetails},
    load_rules, SweepRules, TimerError, TimerSettings,
};
use crate::store::{
    alerts as alert_store,
    cases::{self as case_store, NewCaseEvent},
    overlay as overlay_store, supply as supply_store,
    timers::{self as store, OpenItem, RunningCase},
    DbError, Doing,
};

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
        .doing("starting a sweep")?;
    if !store::try_sweep_lock(&mut tx).await? {
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
    sweep_idle_land(&mut tx, now, &endpoints, &mut report).await?;
    sweep_overlay_queries(&mut tx, now, &endpoints, &mut report).await?;
    report.snapshot = dispatch::take_due(&mut tx, &settings.dispatch, &rules.clearing, now).await?;
    report.start_rates_frozen =
        crate::quota::starts::freeze_due(&mut tx, now)
            .await
            .map_err(|e| match e {
                crate::quota::starts::StartError::Db { doing, source } => {
                    TimerError::Db(DbError { doing, source })
                }
                other => TimerError::Corrupt {
                    what: "start-rate goals",
                    detail: other.to_string(),
                },
            })?;
    tx.commit().await.doing("committing the sweep")?;
    Ok(report)
}

/// Pairs the two pause arrays of a stored row into the domain's pauses.
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

/// Reads a stored stage code.
pub(crate) fn parse_stage(code: &str) -> Result<Stage, TimerError> {
    Stage::parse(code).map_err(|e| TimerError::Corrupt {
        what: "stage",
        detail: e.to_string(),
    })
}

/// The ledger item of an open-item row.
fn ledger_item(row: &OpenItem) -> Result<LedgerItem, TimerError> {
    Ok(LedgerItem {
        opened_at: row.opened_at,
        cleared_at: None,
        pauses: pauses(&row.pause_from, &row.pause_to)?,
    })
}

async fn sweep_ledger(
    tx: &mut PgConnection,
    rules: &SweepRules,
    now: DateTime<Utc>,
    endpoints: &[String],
    report: &mut SweepReport,
) -> Result<(), TimerError> {
    let rows = store::open_ledger_items(tx, now).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let last = ClearingStatus::parse(&row.last_status).map_err(|e| TimerError::Corrupt {
            what: "ledger status",
            detail: e.to_string(),
        })?;
        items.push((ledger_item(row)?, last));
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
        if !store::record_ledger_status(tx, row.id, change.from.code(), change.to.code()).await? {
            continue;
        }
        report.ledger_changes += 1;
        let Some(alert) = change.alert else { continue };
        let item = ledger_item(row)?;
        let due_on: NaiveDate = item.due_date(now, &rules.clearing);
        let stage = parse_stage(&row.stage)?;
        let new = NewAlert {
            kind: alert.into(),
            case_id: row.case_id,
            case_stage: stage,
            ledger_item_id: Some(row.id),
            stage_entered_at: None,
            supply_part_id: None,
            overlay_query_id: None,
            stage,
            county_code: &row.county_code,
            due_at: bureau_day_end(due_on),
            recipients: alerts::recipients(row.officer_id, row.responsible_leader.as_deref()),
            details: AlertDetails::Ledger(LedgerAlertDetails {
                case_title: row.title.clone(),
                project_id: row.project_id,
                project_name: row.project_name.clone(),
                green: row.green,
                opened_at: row.opened_at,
                due_on,
                days_left: item.days_left(now, &rules.clearing),
                status: change.to,
            }),
        };
        if let Some(id) = raise(tx, &new, now, endpoints).await? {
            report.alerts.push(id);
        }
    }
    Ok(())
}

/// The alert a running case has newly reached at `now`, if any.
fn deadline_alert<'a>(
    rules: &SweepRules,
    row: &'a RunningCase,
    now: DateTime<Utc>,
) -> Result<Option<NewAlert<'a>>, TimerError> {
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
        return Ok(None);
    };
    let Some(remaining) =
        limits::remaining_working_days(&rules.limits, &rules.calendar, &case_state, channel, &clock, now)
    else {
        return Ok(None);
    };
    let current = alerts::deadline_status(&remaining, limit_days, &rules.deadlines);
    let alerted = row
        .alerted
        .iter()
        .filter_map(|code| AlertKind::parse(code).ok()?.deadline_status())
        .max()
        .unwrap_or(DeadlineStatus::Running);
    let Some(alert) = alerts::deadline_alert(alerted, current) else {
        return Ok(None);
    };
    Ok(Some(NewAlert {
        kind: alert.into(),
        case_id: row.id,
        case_stage: case_state.stage(),
        ledger_item_id: None,
        stage_entered_at: Some(row.stage_entered_at),
        supply_part_id: None,
        overlay_query_id: None,
        stage,
        county_code: &row.county_code,
        due_at: remaining.deadline.ends_at(),
        recipients: alerts::recipients(row.officer_id, row.responsible_leader.as_deref()),
        details: AlertDetails::Deadline(DeadlineAlertDetails {
            case_title: row.title.clone(),
            project_id: row.project_id,
            project_name: row.project_name.clone(),
            green: row.green,
            stage_entered_at: row.stage_entered_at,
            limit_working_days: limit_days,
            deadline: remaining.deadline.date,
            provisional: remaining.deadline.provisional,
            working_days_left: remaining.working_days,
            paused: clock.is_stopped(now),
            status: current,
        }),
    }))
}

async fn sweep_deadlines(
    tx: &mut PgConnection,
    rules: &SweepRules,
    now: DateTime<Utc>,
    endpoints: &[String],
    report: &mut SweepReport,
) -> Result<(), TimerError> {
    let rows = store::running_cases(tx, now).await?;
    for row in &rows {
        let Some(new) = deadline_alert(rules, row, now)? else {
            continue;
        };
        if let Some(id) = raise(tx, &new, now, endpoints).await? {
            report.alerts.push(id);
        }
    }
    Ok(())
}

/// Every supplied part judged by the idle-land rules at the bureau's date of `now`: a part that
/// has newly reached a warning status (due soon, idle, partial-start idle, reclaimable) raises
/// its alert once (`supply::idle::alert_for` on the status last seen, and the table's
/// once-per-part-and-kind constraint), and the status seen is kept with the part. A
/// government-caused delay raises nothing.
async fn sweep_idle_land(
    tx: &mut PgConnection,
    now: DateTime<Utc>,
    endpoints: &[String],
    report: &mut SweepReport,
) -> Result<(), TimerError> {
    let corrupt = |what: &'static str| {
        move |e: &dyn std::fmt::Display| TimerError::Corrupt {
            what,
            detail: e.to_string(),
        }
    };
    let today = bureau_date(now);
    let rows = supply_store::for_figures(tx, None).await?;
    let lands = crate::supply::figures::supplied_lands(&rows).map_err(|e| corrupt("supply part")(&e))?;
    let rules = IdleRules::default();
    for (row, land) in rows.iter().zip(&lands) {
        let line = idle::idle_status(land, today, &rules).map_err(|e| corrupt("supply part")(&e))?;
        let previous = row
            .part
            .idle_status
            .as_deref()
            .map(|code| {
                landuse_domain::code::parse::<IdleStatus>(code).ok_or_else(|| corrupt("idle status")(&code))
            })
            .transpose()?;
        if previous == Some(line.status) {
            continue;
        }
        supply_store::set_idle_status(tx, row.part.id, line.status.code()).await?;
        let Some(kind) = idle::alert_for(previous, line.status).and_then(AlertKind::of_idle) else {
            continue;
        };
        let due_on = match line.status {
            IdleStatus::DueSoon | IdleStatus::Idle => line.idle_from,
            IdleStatus::PartialIdle => line.partial_idle_from.unwrap_or(today),
            _ => line.reclaimable_from,
        };
        let stage = parse_stage(&row.case_stage)?;
        let new = NewAlert {
            kind,
            case_id: row.part.case_id,
            case_stage: stage,
            ledger_item_id: None,
            stage_entered_at: None,
            supply_part_id: Some(row.part.id),
            overlay_query_id: None,
            stage,
            county_code: &row.part.county_code,
            due_at: bureau_day_end(due_on),
            recipients: alerts::recipients(row.officer_id, row.responsible_leader.as_deref()),
            details: AlertDetails::Land(LandAlertDetails {
                case_title: row.case_title.clone(),
                project_id: row.project_id,
                project_name: row.project_name.clone(),
                document_number: row.part.document_number.clone(),
                area_mu: line.area_mu,
                agreed_start_on: line.agreed_start_on,
                idle_from: line.idle_from,
                reclaimable_from: line.reclaimable_from,
                fee_wan_yuan: line.fee_wan_yuan,
                status: line.status,
            }),
        };
        if let Some(id) = raise(tx, &new, now, endpoints).await? {
            report.alerts.push(id);
        }
    }
    Ok(())
}

/// Every unanswered overlay query due by the bureau's date of `now`: on its due day it raises
/// the reminder, past it the alert (`overlay::alert_due`), each once per query (the kinds
/// already raised are skipped here, and the table's once-per-query-and-kind constraint holds
/// it across replicas).
async fn sweep_overlay_queries(
    tx: &mut PgConnection,
    now: DateTime<Utc>,
    endpoints: &[String],
    report: &mut SweepReport,
) -> Result<(), TimerError> {
    let today = bureau_date(now);
    let rules = OverlayRules::default();
    for row in overlay_store::unanswered_due(tx, today).await? {
        let q = &row.query;
        let query = OverlayQuery {
            id: q.id,
            sent_on: q.sent_on,
            due: Deadline {
                date: q.due_on,
                provisional: q.due_provisional,
            },
            answer: None,
        };
        let Some(kind) = overlay::alert_due(&query, today, &rules).map(AlertKind::from) else {
            continue;
        };
        if row.alerted.iter().any(|k| k == kind.code()) {
            continue;
        }
        let stage = parse_stage(&row.stage)?;
        let new = NewAlert {
            kind,
            case_id: q.case_id,
            case_stage: stage,
            ledger_item_id: None,
            stage_entered_at: None,
            supply_part_id: None,
            overlay_query_id: Some(q.id),
            stage,
            county_code: &row.county_code,
            due_at: query.due.ends_at(),
            recipients: alerts::recipients(row.officer_id, row.responsible_leader.as_deref()),
            details: AlertDetails::Overlay(OverlayAlertDetails {
                case_title: row.title.clone(),
                project_id: row.project_id,
                project_name: row.project_name.clone(),
                overlay_query_id: q.id,
                sent_on: q.sent_on,
                answer_due_on: q.due_on,
                answer_due_provisional: q.due_provisional,
                query_status: overlay::status(&query, today, &rules),
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
    supply_part_id: Option<Uuid>,
    overlay_query_id: Option<Uuid>,
    /// The stage the alert is about.
    stage: Stage,
    county_code: &'a str,
    due_at: DateTime<Utc>,
    recipients: Vec<Recipient>,
    details: AlertDetails,
}

/// The `data` of an `alert_raised` event.
#[derive(Serialize)]
struct RaisedEvent<'a> {
    alert_id: i64,
    alert: AlertKind,
    stage: Stage,
    due_at: DateTime<Utc>,
    recipients: &'a Value,
}

fn to_json(what: &'static str, value: &impl Serialize) -> Result<Value, TimerError> {
    serde_json::to_value(value).map_err(|e| TimerError::Corrupt {
        what,
        detail: e.to_string(),
    })
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
    let recipients = to_json("recipient list", &alert.recipients)?;
    let details = to_json("alert details", &alert.details)?;
    let stored = alert_store::NewAlert {
        kind: alert.kind.code(),
        case_id: alert.case_id,
        ledger_item_id: alert.ledger_item_id,
        stage_entered_at: alert.stage_entered_at,
        supply_part_id: alert.supply_part_id,
        overlay_query_id: alert.overlay_query_id,
        stage: alert.stage.code(),
        county_code: alert.county_code,
        raised_at: now,
        due_at: alert.due_at,
        recipients: &recipients,
        details: &details,
    };
    let Some(id) = alert_store::insert_alert(tx, &stored).await? else {
        return Ok(None);
    };
    let data = to_json(
        "alert event",
        &RaisedEvent {
            alert_id: id,
            alert: alert.kind,
            stage: alert.stage,
            due_at: alert.due_at,
            recipients: &recipients,
        },
    )?;
    // The system raised it (no user); the case stays where it is.
    let event = NewCaseEvent {
        case_id: alert.case_id,
        at: now,
        actor_id: None,
        actor_role: "system",
        kind: "alert_raised",
        from_stage: Some(alert.case_stage.code()),
        to_stage: Some(alert.case_stage.code()),
        reason: Some(alert.kind.title_zh()),
        data: &data,
    };
    case_store::append_event(tx, &event).await?;
    if !endpoints.is_empty() {
        alert_store::queue_deliveries(tx, id, now, endpoints).await?;
    }
    tracing::info!(alert_id = id, kind = alert.kind.code(), case_id = %alert.case_id, "alert raised");
    Ok(Some(id))
}
