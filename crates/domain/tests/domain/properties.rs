//! Properties of the calendar, the clock and the clearing, over random inputs.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use common::{day, official_calendar};
use landuse_domain::calendar::WorkCalendar;
use landuse_domain::check::{worst_of, LayerResult};
use landuse_domain::clearing::{ClearingRules, LedgerItem};
use landuse_domain::clock::{Pause, StageClock};
use proptest::prelude::*;
use std::sync::OnceLock;

fn calendar() -> &'static WorkCalendar {
    static CALENDAR: OnceLock<WorkCalendar> = OnceLock::new();
    CALENDAR.get_or_init(official_calendar)
}

/// Dates from 2022 (before the covered years) to 2028 (after them).
fn any_date() -> impl Strategy<Value = NaiveDate> {
    (0_u64..(7 * 366)).prop_map(|offset| day(2022, 1, 1) + Days::new(offset))
}

/// Instants from 2022 to 2028, to the second.
fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0_i64..(7 * 366 * 86_400)).prop_map(|offset| {
        DateTime::<Utc>::from_timestamp(1_640_995_200 + offset, 0).unwrap() // 2022-01-01T00:00Z
    })
}

/// A pause starting within 60 days after `base`, lasting up to 30 days, maybe still open.
fn pause_after(base: DateTime<Utc>) -> impl Strategy<Value = Pause> {
    (0_i64..60 * 86_400, 0_i64..30 * 86_400, any::<bool>()).prop_map(move |(start, length, open)| {
        let from = base + TimeDelta::seconds(start);
        if open {
            Pause::open(from)
        } else {
            Pause::new(from, Some(from + TimeDelta::seconds(length))).unwrap()
        }
    })
}

/// A stage clock with up to 4 pauses, and a "now" up to 120 days after its start.
fn clock_and_now() -> impl Strategy<Value = (StageClock, DateTime<Utc>)> {
    any_instant().prop_flat_map(|start| {
        (
            prop::collection::vec(pause_after(start - TimeDelta::days(5)), 0..4),
            0_i64..120 * 86_400,
        )
            .prop_map(move |(pauses, after)| {
                (
                    StageClock {
                        started_at: start,
                        pauses,
                    },
                    start + TimeDelta::seconds(after),
                )
            })
    })
}

proptest! {
    #[test]
    fn counting_back_the_working_days_added_gives_the_same_number(d in any_date(), n in 0_u32..400) {
        let deadline = calendar().add_working_days(d, n);
        prop_assert_eq!(calendar().working_days_between(d, deadline.date), i64::from(n));
    }

    #[test]
    fn a_deadline_never_falls_on_a_non_working_day(d in any_date(), n in 1_u32..400) {
        let deadline = calendar().add_working_days(d, n);
        prop_assert!(calendar().is_working_day(deadline.date));
        prop_assert!(deadline.date > d);
    }

    #[test]
    fn a_clock_deadline_never_falls_on_a_non_working_day((clock, now) in clock_and_now(), limit in 1_u32..40) {
        let deadline = clock.deadline(calendar(), limit, now);
        prop_assert!(calendar().is_working_day(deadline.date));
    }

    #[test]
    fn adding_pause_time_never_makes_a_deadline_earlier(
        (clock, now) in clock_and_now(),
        extra_start in 0_i64..90 * 86_400,
        extra_length in 0_i64..20 * 86_400,
        limit in 1_u32..40,
    ) {
        let before = clock.deadline(calendar(), limit, now);
        let mut paused_more = clock.clone();
        let from = clock.started_at - TimeDelta::days(3) + TimeDelta::seconds(extra_start);
        paused_more.pauses.push(Pause::new(from, Some(from + TimeDelta::seconds(extra_length))).unwrap());
        let after = paused_more.deadline(calendar(), limit, now);
        prop_assert!(after.date >= before.date, "{:?} moved back to {:?}", before, after);
    }

    #[test]
    fn extending_a_pause_never_makes_a_deadline_earlier(
        (clock, now) in clock_and_now(),
        extension in 0_i64..10 * 86_400,
        limit in 1_u32..40,
    ) {
        let before = clock.deadline(calendar(), limit, now);
        let mut longer = clock.clone();
        for pause in &mut longer.pauses {
            if let Some(to) = pause.to() {
                *pause = pause.close(to + TimeDelta::seconds(extension)).unwrap();
            }
        }
        prop_assert!(longer.deadline(calendar(), limit, now).date >= before.date);
    }

    #[test]
    fn elapsed_time_plus_paused_time_is_the_time_since_the_start((clock, now) in clock_and_now()) {
        prop_assert_eq!(clock.elapsed(now) + clock.paused(now), now - clock.started_at);
        prop_assert!(clock.elapsed(now) >= TimeDelta::zero());
    }

    #[test]
    fn working_days_between_is_antisymmetric_and_additive(a in any_date(), b in any_date(), c in any_date()) {
        let cal = calendar();
        prop_assert_eq!(cal.working_days_between(a, b), -cal.working_days_between(b, a));
        prop_assert_eq!(
            cal.working_days_between(a, c),
            cal.working_days_between(a, b) + cal.working_days_between(b, c)
        );
    }

    #[test]
    fn a_deadline_is_provisional_exactly_when_it_reaches_past_the_covered_years(d in any_date(), n in 1_u32..300) {
        let cal = calendar();
        let deadline = cal.add_working_days(d, n);
        // The days counted are those after `d` up to the deadline; `d` itself is not counted.
        let first_counted = d.succ_opt().unwrap();
        let inside = first_counted >= cal.covered_from() && deadline.date <= cal.covered_until();
        prop_assert_eq!(deadline.provisional, !inside);
    }

    #[test]
    fn adding_a_pause_never_makes_a_ledger_item_due_earlier(
        (clock, now) in clock_and_now(),
        extra_start in 0_i64..60 * 86_400,
        extra_length in 0_i64..20 * 86_400,
    ) {
        let rules = ClearingRules::default();
        let item = LedgerItem { opened_at: clock.started_at, cleared_at: None, pauses: clock.pauses.clone() };
        let before = item.due_date(now, &rules);
        let mut paused_more = item.clone();
        let from = item.opened_at + TimeDelta::seconds(extra_start);
        paused_more.pauses.push(Pause::new(from, Some(from + TimeDelta::seconds(extra_length))).unwrap());
        prop_assert!(paused_more.due_date(now, &rules) >= before);
    }

    #[test]
    fn a_layer_not_checked_never_lets_a_case_be_ok(
        others in prop::collection::vec(prop::sample::select(LayerResult::ALL.to_vec()), 0..12),
    ) {
        let mut results = others;
        results.push(LayerResult::NotChecked);
        prop_assert_ne!(worst_of(results), LayerResult::Ok);
    }
}
