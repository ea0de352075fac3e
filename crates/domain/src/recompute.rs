//! What a newly loaded calendar year changes in what is stored: the stage deadlines of the
//! cases, and the deadline alerts already raised.
//!
//! A case stores the instant its running stage deadline passes and whether that deadline is
//! provisional (computed past the covered years, on weekends alone). When the admin loads the
//! next year's notice, every deadline is computed again with the new calendar and compared
//! with the stored one ([`deadline_change`]): a deadline that reached into the year becomes
//! final, and moves where a holiday or an adjusted working day falls before it.
//!
//! For example, with 2026 covered and 2027 not, a two-working-day stage entered on Wednesday
//! 2026-12-30 ends on Friday 2027-01-01, provisional. Loading 2027 with New Year's Day as a
//! holiday makes it Monday 2027-01-04, final: the case's stored deadline moves by a working day.
//!
//! An alert raised for the old deadline is corrected ([`correct_alert`]): it takes the new due
//! instant, and a "deadline passed" (or "near") alert whose deadline is no longer passed (or
//! near) is withdrawn rather than left standing.
//!
//! The three-week clearing counts calendar days, not working days, so a ledger item's due day
//! never depends on the calendar and no year moves it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alerts::DeadlineStatus;
use crate::limits::Remaining;

/// A stage deadline as a case stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredDeadline {
    /// When the deadline passes (the close of its last working day).
    pub ends_at: DateTime<Utc>,
    /// Whether it was computed past the covered years.
    pub provisional: bool,
}

impl StoredDeadline {
    /// What a case stores for its deadline: nothing while its clock is stopped (in
    /// correction) or when its stage has no limit, else the deadline's close and whether it is
    /// provisional.
    pub fn of(remaining: Option<&Remaining>, paused: bool) -> Option<Self> {
        remaining.filter(|_| !paused).map(|r| Self {
            ends_at: r.deadline.ends_at(),
            provisional: r.deadline.provisional,
        })
    }
}

/// A stored deadline that the recomputation changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadlineChange {
    /// As stored.
    pub from: Option<StoredDeadline>,
    /// As now computed.
    pub to: Option<StoredDeadline>,
    /// The instant moved.
    pub moved: bool,
    /// A provisional deadline is now final.
    pub finalised: bool,
}

/// The change from the `stored` deadline to the `recomputed` one, or `None` when they agree.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use landuse_domain::recompute::{deadline_change, StoredDeadline};
/// let at = |d| Utc.with_ymd_and_hms(2027, 1, d, 16, 0, 0).unwrap();
/// let old = StoredDeadline { ends_at: at(1), provisional: true };
/// let new = StoredDeadline { ends_at: at(4), provisional: false };
/// let change = deadline_change(Some(old), Some(new)).unwrap();
/// assert!(change.moved && change.finalised);
/// assert_eq!(deadline_change(Some(new), Some(new)), None);
/// ```
pub fn deadline_change(
    stored: Option<StoredDeadline>,
    recomputed: Option<StoredDeadline>,
) -> Option<DeadlineChange> {
    if stored == recomputed {
        return None;
    }
    Some(DeadlineChange {
        from: stored,
        to: recomputed,
        moved: stored.map(|d| d.ends_at) != recomputed.map(|d| d.ends_at),
        finalised: stored.is_some_and(|d| d.provisional) && recomputed.is_some_and(|d| !d.provisional),
    })
}

/// The correction of a deadline alert after its deadline was computed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCorrection {
    /// The deadline as now computed.
    pub due_at: DateTime<Utc>,
    /// The status the alert announced no longer holds: it must not stand.
    pub withdrawn: bool,
}

/// How an alert that announced `announced` for a deadline passing at `raised_due_at` stands
/// now that the deadline passes at `due_at` and the stage is `current`: `None` when the
/// deadline did not move, else the new due instant and whether the alert is withdrawn (its
/// status is no longer reached). A withdrawn alert may be raised again when the moved
/// deadline comes near or passes.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use landuse_domain::{alerts::DeadlineStatus, recompute::correct_alert};
/// let old = Utc.with_ymd_and_hms(2027, 1, 1, 16, 0, 0).unwrap();
/// let new = Utc.with_ymd_and_hms(2027, 1, 4, 16, 0, 0).unwrap();
/// let fixed = correct_alert(DeadlineStatus::Passed, old, new, DeadlineStatus::Near).unwrap();
/// assert!(fixed.withdrawn);
/// assert_eq!(correct_alert(DeadlineStatus::Passed, old, old, DeadlineStatus::Passed), None);
/// ```
pub fn correct_alert(
    announced: DeadlineStatus,
    raised_due_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
    current: DeadlineStatus,
) -> Option<AlertCorrection> {
    (raised_due_at != due_at).then_some(AlertCorrection {
        due_at,
        withdrawn: current < announced,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::calendar::{CalendarYear, Deadline, WorkCalendar};
    use crate::clock::StageClock;
    use crate::limits::{remaining_working_days, Channel, TimeLimits};
    use crate::stage::{CaseState, Stage};
    use chrono::{NaiveDate, TimeZone};
    use std::collections::BTreeMap;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn stored(d: NaiveDate, provisional: bool) -> StoredDeadline {
        StoredDeadline {
            ends_at: Deadline { date: d, provisional }.ends_at(),
            provisional,
        }
    }

    #[test]
    fn a_deadline_into_a_newly_loaded_year_becomes_final_and_moves_past_its_holiday() {
        let mut years = BTreeMap::from([(2026, CalendarYear::default())]);
        let before = WorkCalendar::new(years.clone()).unwrap();
        years.insert(
            2027,
            CalendarYear {
                holidays: [day(2027, 1, 1)].into(),
                adjusted_workdays: std::collections::BTreeSet::default(),
            },
        );
        let after = WorkCalendar::new(years).unwrap();
        // Entered Wednesday 2026-12-30 10:00 +08:00; accepted has 2 working days.
        let entered = Utc.with_ymd_and_hms(2026, 12, 30, 2, 0, 0).unwrap();
        let clock = StageClock {
            started_at: entered,
            pauses: Vec::new(),
        };
        let state = CaseState::new(Stage::Accepted, None).unwrap();
        let limits = TimeLimits::default();
        let at = |calendar: &WorkCalendar| {
            let r = remaining_working_days(&limits, calendar, &state, Channel::Normal, &clock, entered);
            StoredDeadline::of(r.as_ref(), false)
        };
        let old = at(&before);
        assert_eq!(old, Some(stored(day(2027, 1, 1), true)));
        let change = deadline_change(old, at(&after)).unwrap();
        assert_eq!(change.to, Some(stored(day(2027, 1, 4), false)));
        assert!(change.moved && change.finalised);
    }

    #[test]
    fn a_deadline_that_only_becomes_final_is_a_change_without_a_move() {
        let change = deadline_change(
            Some(stored(day(2027, 3, 3), true)),
            Some(stored(day(2027, 3, 3), false)),
        )
        .unwrap();
        assert!(!change.moved && change.finalised);
        assert_eq!(deadline_change(None, None), None);
        assert_eq!(StoredDeadline::of(None, false), None);
    }

    #[test]
    fn an_alert_is_withdrawn_only_when_its_status_is_no_longer_reached() {
        let old = stored(day(2027, 1, 1), true).ends_at;
        let new = stored(day(2027, 1, 4), false).ends_at;
        let table = [
            (DeadlineStatus::Passed, DeadlineStatus::Passed, false),
            (DeadlineStatus::Passed, DeadlineStatus::Near, true),
            (DeadlineStatus::Passed, DeadlineStatus::Running, true),
            (DeadlineStatus::Near, DeadlineStatus::Passed, false),
            (DeadlineStatus::Near, DeadlineStatus::Near, false),
            (DeadlineStatus::Near, DeadlineStatus::Running, true),
        ];
        for (announced, current, withdrawn) in table {
            let fixed = correct_alert(announced, old, new, current).unwrap();
            assert_eq!(
                (fixed.due_at, fixed.withdrawn),
                (new, withdrawn),
                "{announced:?} now {current:?}"
            );
        }
        assert_eq!(
            correct_alert(DeadlineStatus::Near, new, new, DeadlineStatus::Running),
            None
        );
    }
}
