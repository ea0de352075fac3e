//! A stage's clock, stopped while the case is in correction.
//!
//! A stage's time runs from the moment the case entered it, minus the
//! intervals it spent in correction ([`Pause`]s). Time limits count working
//! days: a limit of N working days from an event on day D ends at the close of
//! the N-th working day after D (see [`crate::calendar::Deadline::ends_at`]),
//! and every working day the clock was stopped moves that deadline one working
//! day later.
//!
//! # Which days a pause covers
//! Limits are counted in whole bureau days, so a pause from instant `p` to
//! instant `q` covers the working days `d` with `date(p) < d <= date(q)` (local
//! dates): the day the case was returned still counts as used, the day the
//! answer came does not. A same-day return and answer moves nothing. This is
//! the same convention as [`WorkCalendar::working_days_between`], so "working
//! days used" and "working days paused" never overlap.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{bureau_date, Deadline, WorkCalendar};

/// An interval during which a clock is stopped: from `from` until `to`, or
/// still running when `to` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PauseRepr", into = "PauseRepr")]
pub struct Pause {
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct PauseRepr {
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
}

/// Why two instants do not make a pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a pause cannot end ({to}) before it starts ({from})")]
pub struct PauseEndsBeforeStart {
    /// The start that was given.
    pub from: DateTime<Utc>,
    /// The end that was given.
    pub to: DateTime<Utc>,
}

impl Pause {
    /// A pause from `from` until `to`, or still running when `to` is `None`.
    ///
    /// # Errors
    /// [`PauseEndsBeforeStart`] when `to` is before `from`.
    pub fn new(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Result<Self, PauseEndsBeforeStart> {
        match to {
            Some(to) if to < from => Err(PauseEndsBeforeStart { from, to }),
            _ => Ok(Self { from, to }),
        }
    }

    /// A pause that started at `from` and is still running.
    pub fn open(from: DateTime<Utc>) -> Self {
        Self { from, to: None }
    }

    /// When the clock stopped.
    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    /// When the clock restarted, or `None` while it is stopped.
    pub fn to(&self) -> Option<DateTime<Utc>> {
        self.to
    }

    /// Whether the clock is still stopped.
    pub fn is_open(&self) -> bool {
        self.to.is_none()
    }

    /// This pause with its end set to `to`.
    ///
    /// # Errors
    /// [`PauseEndsBeforeStart`] when `to` is before the start.
    pub fn close(self, to: DateTime<Utc>) -> Result<Self, PauseEndsBeforeStart> {
        Self::new(self.from, Some(to))
    }
}

impl TryFrom<PauseRepr> for Pause {
    type Error = PauseEndsBeforeStart;

    fn try_from(repr: PauseRepr) -> Result<Self, Self::Error> {
        Self::new(repr.from, repr.to)
    }
}

impl From<Pause> for PauseRepr {
    fn from(pause: Pause) -> Self {
        Self {
            from: pause.from,
            to: pause.to,
        }
    }
}

/// The stopped intervals of a clock that started at `start`, as seen at
/// `now`: clipped to `[start, now]`, sorted, overlapping ones merged, empty
/// ones dropped. An open pause runs until `now`.
pub(crate) fn stopped_intervals(
    start: DateTime<Utc>,
    pauses: &[Pause],
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut clipped: Vec<(DateTime<Utc>, DateTime<Utc>)> = pauses
        .iter()
        .map(|p| (p.from.max(start), p.to.unwrap_or(now).min(now)))
        .filter(|(from, to)| from < to)
        .collect();
    clipped.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(clipped.len());
    for (from, to) in clipped {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

/// Working days covered by stopped intervals, and whether any was outside the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PausedWorkingDays {
    /// Working days the clock was stopped (see the module docs for which days count).
    pub days: u32,
    /// True when a paused day lies outside the calendar's covered years.
    pub provisional: bool,
}

/// The clock of one stage of a case: when the case entered the stage, and the
/// intervals it spent in correction since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageClock {
    /// When the case entered the stage.
    pub started_at: DateTime<Utc>,
    /// Correction intervals; parts before `started_at` are ignored.
    #[serde(default)]
    pub pauses: Vec<Pause>,
}

impl StageClock {
    /// A clock that started at `started_at` and has never been stopped.
    pub fn started(started_at: DateTime<Utc>) -> Self {
        Self {
            started_at,
            pauses: Vec::new(),
        }
    }

    /// Time run from the start until `now`, stopped intervals excluded.
    /// Zero when `now` is before the start.
    pub fn elapsed(&self, now: DateTime<Utc>) -> TimeDelta {
        if now <= self.started_at {
            return TimeDelta::zero();
        }
        (now - self.started_at) - self.paused(now)
    }

    /// Total time stopped between the start and `now`.
    pub fn paused(&self, now: DateTime<Utc>) -> TimeDelta {
        stopped_intervals(self.started_at, &self.pauses, now)
            .into_iter()
            .map(|(from, to)| to - from)
            .fold(TimeDelta::zero(), |total, part| total + part)
    }

    /// Whether the clock is stopped at `now`.
    pub fn is_stopped(&self, now: DateTime<Utc>) -> bool {
        self.pauses
            .iter()
            .any(|p| p.from <= now && p.to.is_none_or(|to| now < to))
    }

    /// Working days the clock was stopped between the start and `now`.
    pub fn paused_working_days(&self, calendar: &WorkCalendar, now: DateTime<Utc>) -> PausedWorkingDays {
        let mut days: i64 = 0;
        let mut provisional = false;
        for (from, to) in stopped_intervals(self.started_at, &self.pauses, now) {
            let (a, b) = (bureau_date(from), bureau_date(to));
            days += calendar.working_days_between(a, b);
            provisional |= !calendar.covers_span(a, b);
        }
        PausedWorkingDays {
            days: u32::try_from(days).unwrap_or(u32::MAX),
            provisional,
        }
    }

    /// Working days used from the start day until the bureau date of `now`,
    /// paused working days excluded. The start day itself never counts.
    pub fn elapsed_working_days(&self, calendar: &WorkCalendar, now: DateTime<Utc>) -> i64 {
        let total = calendar
            .working_days_between(bureau_date(self.started_at), bureau_date(now))
            .max(0);
        total - i64::from(self.paused_working_days(calendar, now).days)
    }

    /// The deadline of a limit of `limit_days` working days, as seen at `now`:
    /// the close of the `limit_days`-th working day after the start day, moved
    /// one working day later per working day stopped.
    ///
    /// While a pause is open the deadline keeps moving with `now`, so the
    /// working days left stay the same until the clock restarts. For
    /// `limit_days ≥ 1` the date is always a working day, and adding pauses
    /// never makes it earlier.
    pub fn deadline(&self, calendar: &WorkCalendar, limit_days: u32, now: DateTime<Utc>) -> Deadline {
        let paused = self.paused_working_days(calendar, now);
        let start_day = bureau_date(self.started_at);
        let deadline = calendar.add_working_days(start_day, limit_days.saturating_add(paused.days));
        Deadline {
            date: deadline.date,
            provisional: deadline.provisional || paused.provisional,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    /// An instant given in bureau local time (+08:00).
    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        crate::calendar::BUREAU_OFFSET
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_pause_cannot_end_before_it_starts() {
        assert!(Pause::new(at(2026, 3, 5, 10), Some(at(2026, 3, 4, 10))).is_err());
        assert!(Pause::new(at(2026, 3, 5, 10), Some(at(2026, 3, 5, 10))).is_ok());
    }

    #[test]
    fn elapsed_time_excludes_pauses_and_overlaps_count_once() {
        let clock = StageClock {
            started_at: at(2026, 3, 2, 9),
            pauses: vec![
                Pause::new(at(2026, 3, 3, 9), Some(at(2026, 3, 4, 9))).unwrap(),
                Pause::new(at(2026, 3, 3, 21), Some(at(2026, 3, 4, 21))).unwrap(),
                Pause::new(at(2026, 3, 1, 9), Some(at(2026, 3, 2, 21))).unwrap(),
            ],
        };
        let now = at(2026, 3, 6, 9);
        // 4 days run; stopped 1.5 days (3rd 09:00–4th 21:00) and 12 h on the 2nd.
        assert_eq!(clock.paused(now), TimeDelta::hours(48));
        assert_eq!(clock.elapsed(now), TimeDelta::hours(48));
    }

    #[test]
    fn an_open_pause_runs_until_now() {
        let clock = StageClock {
            started_at: at(2026, 3, 2, 9),
            pauses: vec![Pause::open(at(2026, 3, 3, 9))],
        };
        assert_eq!(clock.elapsed(at(2026, 3, 10, 9)), TimeDelta::hours(24));
        assert!(clock.is_stopped(at(2026, 3, 10, 9)));
    }

    #[test]
    fn a_deadline_moves_by_the_working_days_paused() {
        let calendar = WorkCalendar::weekends_only(2026);
        // Entered Mon 2026-03-02; 5 working days end Mon 2026-03-09.
        let mut clock = StageClock::started(at(2026, 3, 2, 10));
        assert_eq!(
            clock.deadline(&calendar, 5, at(2026, 3, 2, 11)).date,
            day(2026, 3, 9)
        );
        // Returned Tue 10:00, answered Thu 15:00: Wed and Thu are paused.
        clock
            .pauses
            .push(Pause::new(at(2026, 3, 3, 10), Some(at(2026, 3, 5, 15))).unwrap());
        let now = at(2026, 3, 6, 9);
        assert_eq!(clock.paused_working_days(&calendar, now).days, 2);
        assert_eq!(clock.deadline(&calendar, 5, now).date, day(2026, 3, 11));
        assert_eq!(clock.elapsed_working_days(&calendar, now), 2);
    }

    #[test]
    fn while_stopped_the_working_days_left_stay_the_same() {
        let calendar = WorkCalendar::weekends_only(2026);
        let clock = StageClock {
            started_at: at(2026, 3, 2, 10),
            pauses: vec![Pause::open(at(2026, 3, 4, 10))],
        };
        let left = |now: DateTime<Utc>| {
            calendar.working_days_between(bureau_date(now), clock.deadline(&calendar, 5, now).date)
        };
        assert_eq!(left(at(2026, 3, 4, 12)), 3);
        assert_eq!(left(at(2026, 3, 9, 12)), 3);
        assert_eq!(left(at(2026, 3, 20, 12)), 3);
    }
}
