//! The three-week clearing: statuses, their boundaries, and alerts raised once.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{DateTime, TimeDelta, Utc};
use common::{day, local};
use landuse_domain::calendar::bureau_date;
use landuse_domain::clearing::{
    changes, dispatch_counts, ledger_effect, status_at, Alert, ClearingRules, ClearingStatus, LedgerItem,
    StrikeOffOutcome,
};
use landuse_domain::clock::Pause;
use landuse_domain::role::{Actor, Role};
use landuse_domain::stage::CaseState;
use landuse_domain::transition::{decide, Action, CaseFacts};
use uuid::Uuid;

/// Scans `item` every hour (bureau time) from its opening to `until`, as a
/// scheduler storing the last status would, and returns every change with
/// the instant of the scan that reported it.
fn scan_hourly(
    item: &LedgerItem,
    until: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, ClearingStatus, ClearingStatus, Option<Alert>)> {
    let rules = ClearingRules::default();
    let mut last = ClearingStatus::Open;
    let mut reported = Vec::new();
    let mut now = item.opened_at;
    while now <= until {
        for change in changes([(1, item, last)], now, &rules) {
            reported.push((now, change.from, change.to, change.alert));
            last = change.to;
        }
        now += TimeDelta::hours(1);
    }
    reported
}

#[test]
fn an_item_opened_2026_03_02_is_due_soon_on_day_14_and_overdue_after_day_21() {
    // Opened Mon 2026-03-02 (day 0); due at the close of day 21, 2026-03-23.
    let item = LedgerItem::opened(local(2026, 3, 2, 0, 0));
    let reported = scan_hourly(&item, local(2026, 4, 30, 0, 0));
    assert_eq!(
        reported,
        vec![
            // Day 14, 7 days left.
            (
                local(2026, 3, 16, 0, 0),
                ClearingStatus::Open,
                ClearingStatus::DueSoon,
                Some(Alert::DueSoon)
            ),
            // Day 22: day 21 has closed.
            (
                local(2026, 3, 24, 0, 0),
                ClearingStatus::DueSoon,
                ClearingStatus::Overdue,
                Some(Alert::Overdue)
            ),
        ]
    );
}

#[test]
fn the_boundaries_hold_to_the_last_second_of_the_day() {
    let rules = ClearingRules::default();
    let item = LedgerItem::opened(local(2026, 3, 2, 17, 45));
    let second = TimeDelta::seconds(1);
    assert_eq!(
        status_at(&item, local(2026, 3, 16, 0, 0) - second, &rules),
        ClearingStatus::Open
    );
    assert_eq!(
        status_at(&item, local(2026, 3, 16, 0, 0), &rules),
        ClearingStatus::DueSoon
    );
    assert_eq!(
        status_at(&item, local(2026, 3, 24, 0, 0) - second, &rules),
        ClearingStatus::DueSoon
    );
    assert_eq!(
        status_at(&item, local(2026, 3, 24, 0, 0), &rules),
        ClearingStatus::Overdue
    );
    assert_eq!(item.days_left(local(2026, 3, 16, 9, 0), &rules), 7);
    assert_eq!(item.due_date(local(2026, 3, 2, 18, 0), &rules), day(2026, 3, 23));
}

#[test]
fn a_five_day_correction_pause_moves_both_thresholds_by_five_days() {
    // Returned Thu 2026-03-05 10:00, answered Tue 2026-03-10 10:00: 5 days paused.
    let mut item = LedgerItem::opened(local(2026, 3, 2, 0, 0));
    item.pauses
        .push(Pause::new(local(2026, 3, 5, 10, 0), Some(local(2026, 3, 10, 10, 0))).unwrap());
    let reported = scan_hourly(&item, local(2026, 4, 30, 0, 0));
    let when: Vec<_> = reported
        .iter()
        .map(|(at, _, to, alert)| (bureau_date(*at), *to, *alert))
        .collect();
    assert_eq!(
        when,
        vec![
            (day(2026, 3, 21), ClearingStatus::DueSoon, Some(Alert::DueSoon)),
            (day(2026, 3, 29), ClearingStatus::Overdue, Some(Alert::Overdue)),
        ]
    );
    assert_eq!(reported[0].0, local(2026, 3, 21, 0, 0));
    assert_eq!(reported[1].0, local(2026, 3, 29, 0, 0));
}

#[test]
fn each_alert_is_reported_once_however_often_the_scan_runs() {
    let rules = ClearingRules::default();
    let item = LedgerItem::opened(local(2026, 3, 2, 9, 0));
    let mut last = ClearingStatus::Open;
    let mut alerts = Vec::new();
    // Every minute across the due-soon boundary: 1440 scans in a day.
    let mut now = local(2026, 3, 15, 12, 0);
    while now < local(2026, 3, 17, 12, 0) {
        for change in changes([("A-1", &item, last)], now, &rules) {
            alerts.extend(change.alert);
            last = change.to;
        }
        now += TimeDelta::minutes(1);
    }
    assert_eq!(alerts, vec![Alert::DueSoon]);
}

#[test]
fn a_missed_scan_raises_only_the_overdue_alert() {
    let rules = ClearingRules::default();
    let item = LedgerItem::opened(local(2026, 3, 2, 9, 0));
    let found = changes(
        [(7_u32, &item, ClearingStatus::Open)],
        local(2026, 3, 30, 9, 0),
        &rules,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, 7);
    assert_eq!(found[0].to, ClearingStatus::Overdue);
    assert_eq!(found[0].alert, Some(Alert::Overdue));
}

#[test]
fn a_cleared_item_is_cleared_from_its_strike_off_and_raises_no_alert() {
    let rules = ClearingRules::default();
    let mut item = LedgerItem::opened(local(2026, 3, 2, 9, 0));
    item.cleared_at = Some(local(2026, 3, 20, 9, 0));
    assert_eq!(
        status_at(&item, local(2026, 3, 20, 8, 59), &rules),
        ClearingStatus::DueSoon
    );
    let found = changes(
        [((), &item, ClearingStatus::DueSoon)],
        local(2026, 3, 30, 9, 0),
        &rules,
    );
    assert_eq!(found[0].to, ClearingStatus::Cleared);
    assert_eq!(found[0].alert, None);
    assert!(changes(
        [((), &item, ClearingStatus::Cleared)],
        local(2026, 5, 1, 9, 0),
        &rules
    )
    .is_empty());
}

#[test]
fn while_an_item_is_paused_its_days_left_stay_the_same() {
    let rules = ClearingRules::default();
    let mut item = LedgerItem::opened(local(2026, 3, 2, 9, 0));
    item.pauses.push(Pause::open(local(2026, 3, 12, 9, 0)));
    let left_at_pause = item.days_left(local(2026, 3, 12, 10, 0), &rules);
    assert_eq!(left_at_pause, 11);
    for later in [local(2026, 3, 20, 9, 0), local(2026, 6, 1, 9, 0)] {
        assert_eq!(item.days_left(later, &rules), left_at_pause);
        assert_eq!(status_at(&item, later, &rules), ClearingStatus::Open);
    }
}

#[test]
fn the_thresholds_are_configurable() {
    let rules = ClearingRules::new(14, 3).unwrap();
    let item = LedgerItem::opened(local(2026, 3, 2, 9, 0));
    assert_eq!(
        status_at(&item, local(2026, 3, 12, 23, 0), &rules),
        ClearingStatus::Open
    );
    assert_eq!(
        status_at(&item, local(2026, 3, 13, 0, 0), &rules),
        ClearingStatus::DueSoon
    );
    assert_eq!(
        status_at(&item, local(2026, 3, 17, 0, 0), &rules),
        ClearingStatus::Overdue
    );
}

#[test]
fn the_weekly_dispatch_counts_opened_cleared_and_open_items() {
    let rules = ClearingRules::default();
    let week_start = local(2026, 3, 23, 0, 0);
    let snapshot = local(2026, 3, 30, 0, 0);
    let overdue = LedgerItem::opened(local(2026, 3, 2, 9, 0));
    let due_soon = LedgerItem::opened(local(2026, 3, 12, 9, 0));
    let fresh = LedgerItem::opened(local(2026, 3, 24, 9, 0));
    let mut cleared = LedgerItem::opened(local(2026, 3, 10, 9, 0));
    cleared.cleared_at = Some(local(2026, 3, 25, 9, 0));
    let counts = dispatch_counts(
        [&overdue, &due_soon, &fresh, &cleared],
        week_start,
        snapshot,
        &rules,
    );
    assert_eq!(counts.opened, 1);
    assert_eq!(counts.cleared, 1);
    assert_eq!(counts.still_open, 3);
    assert_eq!(counts.due_soon, 1);
    assert_eq!(counts.overdue, 1);
    assert!(!counts.cleared_to_zero());
}

#[test]
fn transitions_open_and_strike_off_ledger_items() {
    let reviewer = Actor::new(Uuid::from_u128(2), Role::Reviewer);
    let officer = Actor::new(Uuid::from_u128(1), Role::Officer);
    let now = local(2026, 3, 2, 9, 0);
    let facts = CaseFacts::default();
    let submit = decide(&CaseState::draft(), Action::Submit, &officer, &facts, now, None).unwrap();
    let effect = ledger_effect(&submit);
    assert_eq!((effect.strike_off, effect.open_new), (None, true));

    let accept = decide(&submit.state_after, Action::Advance, &reviewer, &facts, now, None).unwrap();
    let effect = ledger_effect(&accept);
    assert_eq!(
        (effect.strike_off, effect.open_new),
        (Some(StrikeOffOutcome::Advanced), true)
    );

    let returned = decide(
        &accept.state_after,
        Action::RequestCorrection,
        &reviewer,
        &facts,
        now,
        Some("补充材料".into()),
    )
    .unwrap();
    let effect = ledger_effect(&returned);
    assert_eq!(
        (effect.strike_off, effect.open_new),
        (Some(StrikeOffOutcome::ReturnedForCorrection), false)
    );

    let answered = decide(
        &returned.state_after,
        Action::AnswerCorrection,
        &officer,
        &facts,
        now,
        None,
    )
    .unwrap();
    let effect = ledger_effect(&answered);
    assert_eq!((effect.strike_off, effect.open_new), (None, true));

    let rejected = decide(
        &answered.state_after,
        Action::Reject,
        &reviewer,
        &facts,
        now,
        Some("不符合规划".into()),
    )
    .unwrap();
    let effect = ledger_effect(&rejected);
    assert_eq!(
        (effect.strike_off, effect.open_new),
        (Some(StrikeOffOutcome::Rejected), false)
    );
}
