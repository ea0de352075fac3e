//! Time limits, case deadlines and remaining working days on the official calendar.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{TimeDelta, TimeZone, Utc};
use common::{day, local, official_calendar, SEEDED_LIMITS};
use landuse_domain::clock::{Pause, StageClock};
use landuse_domain::limits::{case_deadline, remaining_working_days, Channel, TimeLimits};
use landuse_domain::stage::{CaseState, Stage};

#[test]
fn the_seeded_limits_are_the_defaults_of_the_rules() {
    assert_eq!(
        TimeLimits::from_json(SEEDED_LIMITS).unwrap(),
        TimeLimits::default()
    );
}

#[test]
fn a_pre_review_entered_2026_02_12_is_due_2026_03_18_or_03_04_on_the_green_channel() {
    let calendar = official_calendar();
    let limits = TimeLimits::default();
    let state = CaseState::at(Stage::PreReview).unwrap();
    let clock = StageClock::started(local(2026, 2, 12, 10, 0));
    let now = local(2026, 2, 12, 11, 0);

    let normal = case_deadline(&limits, &calendar, &state, Channel::Normal, &clock, now).unwrap();
    assert_eq!(normal.date, day(2026, 3, 18));
    // The close of the day: midnight Shanghai, 16:00 UTC.
    assert_eq!(
        normal.ends_at(),
        Utc.with_ymd_and_hms(2026, 3, 18, 16, 0, 0).unwrap()
    );

    // 10 working days: 02-13, 02-14 (adjusted), 02-24..27, 02-28 (adjusted), 03-02..04.
    let green = case_deadline(&limits, &calendar, &state, Channel::Green, &clock, now).unwrap();
    assert_eq!(green.date, day(2026, 3, 4));
}

#[test]
fn remaining_working_days_count_down_to_zero_on_the_deadline_day() {
    let calendar = official_calendar();
    let limits = TimeLimits::default();
    let state = CaseState::at(Stage::PreReview).unwrap();
    let clock = StageClock::started(local(2026, 2, 12, 10, 0));
    let at = |now| remaining_working_days(&limits, &calendar, &state, Channel::Normal, &clock, now).unwrap();

    assert_eq!(at(local(2026, 2, 12, 11, 0)).working_days, 20);
    assert_eq!(at(local(2026, 3, 16, 9, 0)).working_days, 2);
    let last_day = at(local(2026, 3, 18, 23, 59));
    assert_eq!((last_day.working_days, last_day.overdue), (0, false));
    let after = at(local(2026, 3, 19, 0, 0));
    assert_eq!((after.working_days, after.overdue), (-1, true));
}

#[test]
fn a_correction_moves_the_deadline_by_the_working_days_paused() {
    let calendar = official_calendar();
    let limits = TimeLimits::default();
    let state = CaseState::at(Stage::PreReview).unwrap();
    // Returned Tue 02-24 09:00, answered Fri 02-27 17:00: 02-25, 02-26, 02-27 paused.
    let clock = StageClock {
        started_at: local(2026, 2, 12, 10, 0),
        pauses: vec![Pause::new(local(2026, 2, 24, 9, 0), Some(local(2026, 2, 27, 17, 0))).unwrap()],
    };
    let deadline = case_deadline(
        &limits,
        &calendar,
        &state,
        Channel::Normal,
        &clock,
        local(2026, 3, 2, 9, 0),
    )
    .unwrap();
    // 23 working days after 02-12: 03-18 is the 20th, then 03-19, 03-20, 03-23.
    assert_eq!(deadline.date, day(2026, 3, 23));
}

#[test]
fn in_correction_the_stage_left_keeps_its_limit_and_its_remaining_days() {
    let calendar = official_calendar();
    let limits = TimeLimits::default();
    let state = CaseState::in_correction(Stage::Conversion).unwrap();
    let clock = StageClock {
        started_at: local(2026, 3, 2, 9, 0),
        pauses: vec![Pause::open(local(2026, 3, 9, 15, 0))],
    };
    let left_at = |now| {
        remaining_working_days(&limits, &calendar, &state, Channel::Normal, &clock, now)
            .unwrap()
            .working_days
    };
    // Used Tue 03-03 .. Mon 03-09 (5 working days): 15 left, however long the applicant takes.
    assert_eq!(left_at(local(2026, 3, 9, 16, 0)), 15);
    assert_eq!(left_at(local(2026, 4, 20, 9, 0)), 15);
    assert_eq!(left_at(local(2026, 10, 8, 9, 0)), 15);
}

#[test]
fn stages_without_a_limit_have_no_deadline() {
    let calendar = official_calendar();
    let limits = TimeLimits::default();
    let clock = StageClock::started(local(2026, 3, 2, 9, 0));
    for stage in [Stage::Draft, Stage::Completed, Stage::Rejected, Stage::Withdrawn] {
        let state = CaseState::at(stage).unwrap();
        let now = local(2026, 3, 3, 9, 0);
        assert!(case_deadline(&limits, &calendar, &state, Channel::Normal, &clock, now).is_none());
    }
}

#[test]
fn a_registration_on_the_green_channel_is_due_the_next_working_day() {
    let calendar = official_calendar();
    let limits = TimeLimits::default();
    let state = CaseState::at(Stage::Registration).unwrap();
    // Entered on Wed 2026-09-30 before National Day: the next working day is Thu 10-08.
    let clock = StageClock::started(local(2026, 9, 30, 15, 0));
    let now = clock.started_at + TimeDelta::minutes(1);
    let deadline = case_deadline(&limits, &calendar, &state, Channel::Green, &clock, now).unwrap();
    assert_eq!(deadline.date, day(2026, 10, 8));
}

#[test]
fn a_deadline_in_the_next_uncovered_year_is_provisional() {
    let calendar = official_calendar();
    let limits = TimeLimits::default();
    let state = CaseState::at(Stage::Supply).unwrap();
    let clock = StageClock::started(local(2026, 12, 20, 9, 0));
    let deadline = case_deadline(
        &limits,
        &calendar,
        &state,
        Channel::Normal,
        &clock,
        local(2026, 12, 21, 9, 0),
    )
    .unwrap();
    assert!(deadline.date.to_string().starts_with("2027-01"));
    assert!(deadline.provisional);
}
