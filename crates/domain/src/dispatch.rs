//! The weekly dispatch (调度): when it is taken, and its table per county and
//! stage.
//!
//! Every week, at a configurable day and time of the bureau's local time
//! (default Monday 09:00, Asia/Shanghai), the ledger is counted per county and
//! stage over the week that just ended: opened this week, cleared this week,
//! still open, due soon, overdue, and the green-channel share. A county is
//! "cleared to zero" when it has no overdue item at the snapshot.
//!
//! The green-channel share of a row is the share of its still-open items whose
//! case is on the green channel; it is absent when nothing is open.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::BUREAU_OFFSET;
use crate::clearing::{
    dispatch_counts, status_at, ClearingRules, ClearingStatus, DispatchCounts, LedgerItem,
};
use crate::stage::Stage;

/// Why a dispatch schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The day is not a weekday name.
    #[error("{0:?} is not a day of the week (mon, tue, … sun)")]
    Day(String),
    /// The time is not `HH:MM`.
    #[error("{0:?} is not a time of day as HH:MM")]
    Time(String),
}

/// When the weekly snapshot is taken, in the bureau's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchSchedule {
    weekday: Weekday,
    time: NaiveTime,
}

impl Default for DispatchSchedule {
    /// Monday 09:00.
    fn default() -> Self {
        Self {
            weekday: Weekday::Mon,
            time: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

impl fmt::Display for DispatchSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} +08:00", self.weekday, self.time.format("%H:%M"))
    }
}

impl DispatchSchedule {
    /// A snapshot every `weekday` at `time`, bureau local time.
    pub fn new(weekday: Weekday, time: NaiveTime) -> Self {
        Self { weekday, time }
    }

    /// Parses a day (`mon` or `monday`, any case) and a time (`HH:MM`).
    ///
    /// # Errors
    /// [`ScheduleError`] naming the part that did not parse.
    pub fn parse(day: &str, time: &str) -> Result<Self, ScheduleError> {
        let weekday = day
            .trim()
            .parse::<Weekday>()
            .map_err(|_| ScheduleError::Day(day.to_owned()))?;
        let time = NaiveTime::parse_from_str(time.trim(), "%H:%M")
            .map_err(|_| ScheduleError::Time(time.to_owned()))?;
        Ok(Self { weekday, time })
    }

    /// The day of the week.
    pub fn weekday(&self) -> Weekday {
        self.weekday
    }

    /// The local time of day.
    pub fn time(&self) -> NaiveTime {
        self.time
    }

    /// The latest scheduled instant at or before `now`.
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// use landuse_domain::dispatch::DispatchSchedule;
    /// let schedule = DispatchSchedule::default(); // Monday 09:00 +08:00
    /// // Wednesday 2026-03-11 10:00 +08:00 → Monday 2026-03-09 09:00 +08:00 (01:00 UTC).
    /// let now = Utc.with_ymd_and_hms(2026, 3, 11, 2, 0, 0).unwrap();
    /// assert_eq!(schedule.latest_at(now), Utc.with_ymd_and_hms(2026, 3, 9, 1, 0, 0).unwrap());
    /// ```
    pub fn latest_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&BUREAU_OFFSET);
        let back = (7 + local.weekday().num_days_from_monday() - self.weekday.num_days_from_monday()) % 7;
        let date = local.date_naive() - TimeDelta::days(i64::from(back));
        let candidate = BUREAU_OFFSET
            .from_local_datetime(&date.and_time(self.time))
            .single()
            .map_or(now, |t| t.with_timezone(&Utc));
        if candidate > now {
            candidate - TimeDelta::days(7)
        } else {
            candidate
        }
    }

    /// The week a snapshot taken at `at` covers: the seven days before it.
    pub fn period_ending(&self, at: DateTime<Utc>) -> DispatchPeriod {
        DispatchPeriod {
            start: at - TimeDelta::days(7),
            end: at,
        }
    }
}

/// The week a snapshot covers: from `start` (inclusive) to `end` (exclusive),
/// with `end` the moment the snapshot describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchPeriod {
    /// The start of the week.
    pub start: DateTime<Utc>,
    /// The scheduled instant of the snapshot.
    pub end: DateTime<Utc>,
}

/// One ledger item as the dispatch counts it.
#[derive(Debug, Clone, Copy)]
pub struct DispatchItem<'a> {
    /// The county of its case.
    pub county_code: &'a str,
    /// The municipal stage it was opened for.
    pub stage: Stage,
    /// Whether its case is on the green channel.
    pub green: bool,
    /// The item.
    pub item: &'a LedgerItem,
}

/// The counts of one county and stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchRow {
    /// The county.
    pub county_code: String,
    /// The stage.
    pub stage: Stage,
    /// Opened, cleared, still open, due soon, overdue.
    #[serde(flatten)]
    pub counts: DispatchCounts,
    /// Of the still-open items, those on the green channel.
    pub green_open: u32,
}

/// The share of `green` in `of`, or `None` when `of` is zero.
fn share(green: u32, of: u32) -> Option<f64> {
    (of > 0).then(|| f64::from(green) / f64::from(of))
}

impl DispatchRow {
    /// The green-channel share of the still-open items; `None` when none is open.
    pub fn green_share(&self) -> Option<f64> {
        share(self.green_open, self.counts.still_open)
    }
}

/// The counts of one county over all stages, and whether it is cleared to zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountyTotals {
    /// The county.
    pub county_code: String,
    /// Summed over its stages.
    #[serde(flatten)]
    pub counts: DispatchCounts,
    /// Of the still-open items, those on the green channel.
    pub green_open: u32,
}

impl CountyTotals {
    /// "Cleared to zero" (清零): no overdue item at the snapshot.
    pub fn cleared_to_zero(&self) -> bool {
        self.counts.cleared_to_zero()
    }

    /// The green-channel share of the still-open items; `None` when none is open.
    pub fn green_share(&self) -> Option<f64> {
        share(self.green_open, self.counts.still_open)
    }
}

/// The dispatch table of `items` for `period`: one row per county and stage
/// with anything to report, sorted by county then stage. Items are judged at
/// `period.end`, so a snapshot computed late gives the same figures.
pub fn dispatch_rows<'a>(
    items: impl IntoIterator<Item = DispatchItem<'a>>,
    period: &DispatchPeriod,
    rules: &ClearingRules,
) -> Vec<DispatchRow> {
    let mut groups: BTreeMap<(&'a str, Stage), (Vec<&'a LedgerItem>, u32)> = BTreeMap::new();
    for entry in items {
        let group = groups.entry((entry.county_code, entry.stage)).or_default();
        group.0.push(entry.item);
        let open_at_end = entry.item.opened_at <= period.end
            && status_at(entry.item, period.end, rules) != ClearingStatus::Cleared;
        group.1 += u32::from(entry.green && open_at_end);
    }
    groups
        .into_iter()
        .map(|((county, stage), (items, green_open))| DispatchRow {
            county_code: county.to_owned(),
            stage,
            counts: dispatch_counts(items, period.start, period.end, rules),
            green_open,
        })
        .filter(|row| row.counts != DispatchCounts::default())
        .collect()
}

/// The totals of every county in `counties` (those with no row are all zero,
/// and so cleared to zero), in the order given.
pub fn county_totals<'a>(
    rows: &[DispatchRow],
    counties: impl IntoIterator<Item = &'a str>,
) -> Vec<CountyTotals> {
    counties
        .into_iter()
        .map(|county| {
            let mut totals = CountyTotals {
                county_code: county.to_owned(),
                counts: DispatchCounts::default(),
                green_open: 0,
            };
            for row in rows.iter().filter(|r| r.county_code == county) {
                let (t, r) = (&mut totals.counts, &row.counts);
                t.opened += r.opened;
                t.cleared += r.cleared;
                t.still_open += r.still_open;
                t.due_soon += r.due_soon;
                t.overdue += r.overdue;
                totals.green_open += row.green_open;
            }
            totals
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        BUREAU_OFFSET
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_latest_snapshot_instant_is_the_last_scheduled_one_passed() {
        let monday_nine = DispatchSchedule::default();
        // Monday 2026-03-09 08:59 is still the week before.
        assert_eq!(monday_nine.latest_at(local(2026, 3, 9, 8)), local(2026, 3, 2, 9));
        assert_eq!(monday_nine.latest_at(local(2026, 3, 9, 9)), local(2026, 3, 9, 9));
        assert_eq!(
            monday_nine.latest_at(local(2026, 3, 15, 23)),
            local(2026, 3, 9, 9)
        );
        // 01:00 UTC on Monday is 09:00 in Shanghai; 23:00 UTC on Sunday is Monday 07:00 there.
        let friday = DispatchSchedule::parse("Friday", "17:30").unwrap();
        let at = friday.latest_at(local(2026, 3, 9, 9));
        assert_eq!(at.with_timezone(&BUREAU_OFFSET).weekday(), Weekday::Fri);
        assert_eq!(at, local(2026, 3, 6, 17) + TimeDelta::minutes(30));
    }

    #[test]
    fn a_schedule_with_a_bad_day_or_time_is_refused() {
        assert_eq!(
            DispatchSchedule::parse("moon", "09:00"),
            Err(ScheduleError::Day("moon".to_owned()))
        );
        assert!(matches!(
            DispatchSchedule::parse("mon", "9h"),
            Err(ScheduleError::Time(_))
        ));
        assert_eq!(
            DispatchSchedule::parse("MON", "09:00").unwrap(),
            DispatchSchedule::default()
        );
    }

    #[test]
    fn rows_count_per_county_and_stage_with_the_green_share_of_open_items() {
        let rules = ClearingRules::default();
        let period = DispatchSchedule::default().period_ending(local(2026, 3, 30, 9));
        let opened = |d| LedgerItem::opened(local(2026, 3, d, 10));
        let cleared = |d, c| LedgerItem {
            cleared_at: Some(local(2026, 3, c, 10)),
            ..opened(d)
        };
        let items = [
            ("610902", Stage::Accepted, true, opened(25)),
            ("610902", Stage::Accepted, false, opened(26)),
            ("610902", Stage::Accepted, false, cleared(24, 27)),
            ("610902", Stage::PreReview, false, opened(2)), // overdue
            ("610902", Stage::PreReview, false, opened(12)), // due soon
            ("610921", Stage::Supply, true, cleared(1, 10)), // cleared before the week
            ("610921", Stage::Supply, true, opened(31)),    // after the snapshot
        ];
        let rows = dispatch_rows(
            items.iter().map(|(county, stage, green, item)| DispatchItem {
                county_code: county,
                stage: *stage,
                green: *green,
                item,
            }),
            &period,
            &rules,
        );
        assert_eq!(rows.len(), 2, "{rows:?}");
        let accepted = &rows[0];
        assert_eq!(
            (
                accepted.stage,
                accepted.counts.opened,
                accepted.counts.cleared,
                accepted.counts.still_open
            ),
            (Stage::Accepted, 3, 1, 2)
        );
        assert_eq!(accepted.green_share(), Some(0.5));
        let pre_review = &rows[1];
        assert_eq!(
            (
                pre_review.counts.opened,
                pre_review.counts.due_soon,
                pre_review.counts.overdue
            ),
            (0, 1, 1)
        );
        let totals = county_totals(&rows, ["610902", "610921"]);
        assert_eq!(totals[0].counts.still_open, 4);
        assert!(!totals[0].cleared_to_zero());
        assert!(totals[1].cleared_to_zero());
        assert_eq!(totals[1].green_share(), None);
    }
}
