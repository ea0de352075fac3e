//! China's official working days, and the bureau's local date.
//!
//! Working days follow the State Council's yearly holiday notice: Saturdays and
//! Sundays are off except the adjusted working days (调休上班), and public
//! holidays that fall on weekdays are off. The notice is data the admin adds
//! each year ([`WorkCalendar::from_json`], in the shape of
//! `seeds/cn-workdays-2023-2026.json`), never code.
//!
//! Days outside the covered years are computed on weekends alone, and any
//! answer that depends on such a day is flagged *provisional* so nobody takes
//! it for a final date.
//!
//! # Bureau time
//! Deadlines are in the bureau's time zone, Asia/Shanghai. It is a fixed
//! UTC+8 here ([`BUREAU_OFFSET`]) rather than a tz-database zone: China has
//! observed no daylight-saving time since 1991, so the offset is the same for
//! every date the service deals with, and the crate needs no time-zone data.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// The bureau's UTC offset: +08:00 (Asia/Shanghai, which has no DST).
pub const BUREAU_OFFSET: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("+08:00 is a valid offset"),
};

/// The bureau's local calendar date at `instant`.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use landuse_domain::calendar::bureau_date;
/// // 16:30 UTC is already 00:30 the next day in Shanghai.
/// let instant = Utc.with_ymd_and_hms(2026, 2, 12, 16, 30, 0).unwrap();
/// assert_eq!(bureau_date(instant), NaiveDate::from_ymd_opt(2026, 2, 13).unwrap());
/// ```
pub fn bureau_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&BUREAU_OFFSET).date_naive()
}

/// The instant the bureau's local day `date` starts (00:00 +08:00), in UTC.
pub fn bureau_day_start(date: NaiveDate) -> DateTime<Utc> {
    let local_midnight = date.and_time(NaiveTime::MIN);
    let utc = local_midnight
        .checked_sub_signed(TimeDelta::seconds(i64::from(BUREAU_OFFSET.local_minus_utc())))
        .unwrap_or(local_midnight);
    DateTime::from_naive_utc_and_offset(utc, Utc)
}

/// The instant the bureau's local day `date` closes, in UTC: the start of the
/// next local day. The close is exclusive: an instant equal to it is already
/// the next day.
pub fn bureau_day_end(date: NaiveDate) -> DateTime<Utc> {
    bureau_day_start(next_day(date))
}

/// The day after `date`, or `date` itself at the end of chrono's range.
pub(crate) fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(date)
}

/// `date` moved by `days` calendar days, saturating at the ends of chrono's range.
pub(crate) fn shift_days(date: NaiveDate, days: i64) -> NaiveDate {
    let moved = if days >= 0 {
        date.checked_add_days(chrono::Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(chrono::Days::new(days.unsigned_abs()))
    };
    moved.unwrap_or(if days >= 0 { NaiveDate::MAX } else { NaiveDate::MIN })
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A date reached by counting working days, and whether it rests on days the
/// calendar does not cover (computed on weekends alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Deadline {
    /// The last working day of the limit, in the bureau's local calendar.
    pub date: NaiveDate,
    /// True when a day the count relied on lies outside the covered years, so
    /// a later holiday notice may still move the date.
    pub provisional: bool,
}

impl Deadline {
    /// The instant the deadline passes: the close of [`Deadline::date`], i.e.
    /// 00:00 +08:00 of the next day. The limit is met by any instant before it.
    pub fn ends_at(&self) -> DateTime<Utc> {
        bureau_day_end(self.date)
    }

    /// Whether the deadline has passed at `now`.
    pub fn is_past(&self, now: DateTime<Utc>) -> bool {
        now >= self.ends_at()
    }
}

/// One year of the State Council's notice, as listed in the calendar file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarYear {
    /// Public holidays that fall on weekdays (Monday–Friday).
    pub holidays: BTreeSet<NaiveDate>,
    /// Saturdays and Sundays that are working days (调休上班).
    pub adjusted_workdays: BTreeSet<NaiveDate>,
}

/// Why a calendar file or table was refused.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The text is not JSON in the shape `{"2026": {"holidays": [...], "adjusted_workdays": [...]}}`.
    #[error("the calendar is not in the expected JSON shape: {0}")]
    Json(#[from] serde_json::Error),
    /// A key is not a four-digit year.
    #[error("{0:?} is not a four-digit year")]
    BadYear(String),
    /// A listed day is not a `YYYY-MM-DD` date.
    #[error("{text:?} under {year} is not a YYYY-MM-DD date")]
    BadDate {
        /// The year it was listed under.
        year: i32,
        /// The text that did not parse.
        text: String,
    },
    /// A listed day belongs to another year.
    #[error("{date} is listed under {year}")]
    WrongYear {
        /// The year it was listed under.
        year: i32,
        /// The day.
        date: NaiveDate,
    },
    /// A holiday falls on a Saturday or Sunday; the table lists weekday holidays only.
    #[error("holiday {0} falls on a weekend; list only holidays that fall on weekdays")]
    HolidayOnWeekend(NaiveDate),
    /// An adjusted working day falls on a weekday, where it would change nothing.
    #[error("adjusted working day {0} is not a Saturday or Sunday")]
    AdjustedWorkdayOnWeekday(NaiveDate),
    /// A day is listed twice.
    #[error("{0} is listed twice")]
    Duplicate(NaiveDate),
    /// The calendar covers no year.
    #[error("the calendar covers no year")]
    Empty,
    /// The covered years have a hole, which would silently be computed on weekends alone.
    #[error("year {0} is missing between the first and the last covered year")]
    MissingYear(i32),
}

/// The working-day calendar: official for the covered years, weekends alone
/// outside them.
///
/// ```
/// use chrono::NaiveDate;
/// use landuse_domain::calendar::WorkCalendar;
/// let calendar = WorkCalendar::from_json(
///     r#"{"2026": {"holidays": ["2026-10-01"], "adjusted_workdays": ["2026-10-10"]}}"#,
/// )?;
/// let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
/// assert!(!calendar.is_working_day(day(10, 1))); // National Day, a Thursday
/// assert!(calendar.is_working_day(day(10, 10))); // an adjusted Saturday
/// # Ok::<(), landuse_domain::calendar::CalendarError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "BTreeMap<String, CalendarYear>")]
pub struct WorkCalendar {
    years: BTreeMap<i32, CalendarYear>,
}

/// A year as written in the file, before its dates are parsed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    holidays: Vec<String>,
    adjusted_workdays: Vec<String>,
}

impl WorkCalendar {
    /// Parses the calendar file: an object from four-digit years to
    /// `{"holidays": [...], "adjusted_workdays": [...]}` with `YYYY-MM-DD` dates.
    ///
    /// # Errors
    /// [`CalendarError::Json`] for the wrong shape (unknown fields included),
    /// and the other variants for content that breaks the rules of
    /// [`WorkCalendar::new`] or lists a date under the wrong year.
    pub fn from_json(text: &str) -> Result<Self, CalendarError> {
        let raw: BTreeMap<String, RawYear> = serde_json::from_str(text)?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: BTreeMap<String, RawYear>) -> Result<Self, CalendarError> {
        let mut years = BTreeMap::new();
        for (key, raw_year) in raw {
            let year = parse_year(&key)?;
            let holidays = parse_dates(year, &raw_year.holidays)?;
            let adjusted_workdays = parse_dates(year, &raw_year.adjusted_workdays)?;
            years.insert(
                year,
                CalendarYear {
                    holidays,
                    adjusted_workdays,
                },
            );
        }
        Self::new(years)
    }

    /// Builds a calendar from parsed years, as the admin extends it.
    ///
    /// # Errors
    /// [`CalendarError`] when there is no year, a year is missing between the
    /// first and the last, a day is listed under the wrong year, a holiday is
    /// on a weekend, an adjusted working day is on a weekday, or a day is both.
    pub fn new(years: BTreeMap<i32, CalendarYear>) -> Result<Self, CalendarError> {
        let (Some(&first), Some(&last)) = (years.keys().next(), years.keys().next_back()) else {
            return Err(CalendarError::Empty);
        };
        if let Some(missing) = (first..=last).find(|year| !years.contains_key(year)) {
            return Err(CalendarError::MissingYear(missing));
        }
        for (&year, listed) in &years {
            for &date in listed.holidays.iter().chain(&listed.adjusted_workdays) {
                if date.year() != year {
                    return Err(CalendarError::WrongYear { year, date });
                }
            }
            if let Some(&date) = listed.holidays.iter().find(|d| is_weekend(**d)) {
                return Err(CalendarError::HolidayOnWeekend(date));
            }
            if let Some(&date) = listed.adjusted_workdays.iter().find(|d| !is_weekend(**d)) {
                return Err(CalendarError::AdjustedWorkdayOnWeekday(date));
            }
        }
        Ok(Self { years })
    }

    /// This calendar with `year` loaded as `listed`, replacing what it had for that year.
    ///
    /// # Errors
    /// [`CalendarError`] as [`WorkCalendar::new`] gives it: a year that would leave a hole
    /// ([`CalendarError::MissingYear`]), or lists that break the rules.
    pub fn with_year(&self, year: i32, listed: CalendarYear) -> Result<Self, CalendarError> {
        let mut years = self.years.clone();
        years.insert(year, listed);
        Self::new(years)
    }

    /// A calendar that covers `year` with no holiday and no adjusted working
    /// day: weekends only. Useful in tests and as a last resort.
    pub fn weekends_only(year: i32) -> Self {
        Self {
            years: BTreeMap::from([(year, CalendarYear::default())]),
        }
    }

    /// The first day the calendar covers (1 January of its first year).
    pub fn covered_from(&self) -> NaiveDate {
        self.years
            .keys()
            .next()
            .and_then(|&year| NaiveDate::from_ymd_opt(year, 1, 1))
            .unwrap_or(NaiveDate::MIN)
    }

    /// The last day the calendar covers (31 December of its last year).
    pub fn covered_until(&self) -> NaiveDate {
        self.years
            .keys()
            .next_back()
            .and_then(|&year| NaiveDate::from_ymd_opt(year, 12, 31))
            .unwrap_or(NaiveDate::MIN)
    }

    /// Whether the official notice covers `date`.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.years.contains_key(&date.year())
    }

    /// The covered years and what each lists.
    pub fn years(&self) -> impl Iterator<Item = (i32, &CalendarYear)> {
        self.years.iter().map(|(&year, listed)| (year, listed))
    }

    /// Whether `date` is a working day: an adjusted working day, or a weekday
    /// that is not a holiday. Outside the covered years: any weekday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.years.get(&date.year()) {
            Some(listed) if is_weekend(date) => listed.adjusted_workdays.contains(&date),
            Some(listed) => !listed.holidays.contains(&date),
            None => !is_weekend(date),
        }
    }

    /// The `n`-th working day after `start` (`start` itself never counts).
    ///
    /// For `n = 0` the answer is `start`. For `n ≥ 1` it is always a working
    /// day, and `working_days_between(start, answer) == n`. The answer is
    /// provisional when a day after `start` up to it is outside the covered years.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use landuse_domain::calendar::WorkCalendar;
    /// let calendar = WorkCalendar::weekends_only(2026);
    /// let friday = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap();
    /// let deadline = calendar.add_working_days(friday, 1);
    /// assert_eq!(deadline.date, NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()); // Monday
    /// assert!(!deadline.provisional);
    /// ```
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Deadline {
        let mut date = start;
        let mut counted = 0;
        while counted < n {
            let Some(next) = date.succ_opt() else { break };
            date = next;
            if self.is_working_day(date) {
                counted += 1;
            }
        }
        Deadline {
            date,
            provisional: n > 0 && !self.covers_span(start, date),
        }
    }

    /// The number of working days `d` with `a < d <= b`: the working days that
    /// pass going from the end of day `a` to the end of day `b`.
    ///
    /// Negative when `b` is before `a` (minus the count for `b < d <= a`), so
    /// `working_days_between(a, b) == -working_days_between(b, a)`.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        if b < a {
            return -self.working_days_between(b, a);
        }
        a.iter_days()
            .skip(1)
            .take_while(|d| *d <= b)
            .filter(|d| self.is_working_day(*d))
            .map(|_| 1_i64)
            .sum()
    }

    /// Whether every day in `a < d <= b` (or `b < d <= a`) is covered.
    pub fn covers_span(&self, a: NaiveDate, b: NaiveDate) -> bool {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        low == high || (self.covers(next_day(low)) && self.covers(high))
    }
}

impl<'de> Deserialize<'de> for WorkCalendar {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, RawYear>::deserialize(deserializer)?;
        Self::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

impl From<WorkCalendar> for BTreeMap<String, CalendarYear> {
    fn from(calendar: WorkCalendar) -> Self {
        calendar
            .years
            .into_iter()
            .map(|(year, listed)| (year.to_string(), listed))
            .collect()
    }
}

fn parse_year(key: &str) -> Result<i32, CalendarError> {
    if key.len() == 4 && key.bytes().all(|b| b.is_ascii_digit()) {
        key.parse().map_err(|_| CalendarError::BadYear(key.to_owned()))
    } else {
        Err(CalendarError::BadYear(key.to_owned()))
    }
}

fn parse_dates(year: i32, texts: &[String]) -> Result<BTreeSet<NaiveDate>, CalendarError> {
    let mut dates = BTreeSet::new();
    for text in texts {
        let date = parse_date(text).ok_or_else(|| CalendarError::BadDate {
            year,
            text: text.clone(),
        })?;
        if !dates.insert(date) {
            return Err(CalendarError::Duplicate(date));
        }
    }
    Ok(dates)
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    // chrono's `%m`/`%d` also accept one digit; the file format is strict.
    let strict = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    strict
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_utc_instant_maps_to_the_bureau_date_eight_hours_ahead() {
        let before = Utc.with_ymd_and_hms(2026, 3, 1, 15, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 3, 1, 16, 0, 0).unwrap();
        assert_eq!(bureau_date(before), day(2026, 3, 1));
        assert_eq!(bureau_date(after), day(2026, 3, 2));
        assert_eq!(bureau_day_start(day(2026, 3, 2)), after);
        assert_eq!(bureau_day_end(day(2026, 3, 1)), after);
    }

    #[test]
    fn a_holiday_on_a_weekend_is_refused() {
        let err =
            WorkCalendar::from_json(r#"{"2026": {"holidays": ["2026-02-15"], "adjusted_workdays": []}}"#)
                .unwrap_err();
        assert!(matches!(err, CalendarError::HolidayOnWeekend(d) if d == day(2026, 2, 15)));
    }

    #[test]
    fn an_adjusted_working_day_on_a_weekday_is_refused() {
        let err =
            WorkCalendar::from_json(r#"{"2026": {"holidays": [], "adjusted_workdays": ["2026-02-13"]}}"#)
                .unwrap_err();
        assert!(matches!(err, CalendarError::AdjustedWorkdayOnWeekday(_)));
    }

    #[test]
    fn a_date_under_the_wrong_year_is_refused() {
        let err =
            WorkCalendar::from_json(r#"{"2026": {"holidays": ["2025-10-01"], "adjusted_workdays": []}}"#)
                .unwrap_err();
        assert!(matches!(err, CalendarError::WrongYear { year: 2026, .. }));
    }

    #[test]
    fn malformed_files_are_refused_with_a_typed_error() {
        let cases = [
            ("{}", "empty"),
            (r#"{"26": {"holidays": [], "adjusted_workdays": []}}"#, "year"),
            (
                r#"{"2026": {"holidays": ["2026-2-16"], "adjusted_workdays": []}}"#,
                "date",
            ),
            (
                r#"{"2026": {"holidays": ["2026-02-16", "2026-02-16"], "adjusted_workdays": []}}"#,
                "twice",
            ),
            (r#"{"2026": {"holidays": []}}"#, "json"),
            (
                r#"{"2026": {"holidays": [], "adjusted_workdays": [], "note": 1}}"#,
                "json",
            ),
            (
                r#"{"2024": {"holidays": [], "adjusted_workdays": []}, "2026": {"holidays": [], "adjusted_workdays": []}}"#,
                "missing",
            ),
        ];
        for (text, kind) in cases {
            let err = WorkCalendar::from_json(text).unwrap_err();
            let matched = match kind {
                "empty" => matches!(err, CalendarError::Empty),
                "year" => matches!(err, CalendarError::BadYear(_)),
                "date" => matches!(err, CalendarError::BadDate { .. }),
                "twice" => matches!(err, CalendarError::Duplicate(_)),
                "json" => matches!(err, CalendarError::Json(_)),
                _ => matches!(err, CalendarError::MissingYear(2025)),
            };
            assert!(matched, "{text} gave {err:?}, expected {kind}");
        }
    }

    #[test]
    fn the_calendar_serialises_back_to_the_file_format() {
        let text = r#"{"2026":{"holidays":["2026-10-01"],"adjusted_workdays":["2026-10-10"]}}"#;
        let calendar = WorkCalendar::from_json(text).unwrap();
        assert_eq!(serde_json::to_string(&calendar).unwrap(), text);
        let back: WorkCalendar = serde_json::from_str(text).unwrap();
        assert_eq!(back, calendar);
    }

    #[test]
    fn between_counts_the_days_after_a_up_to_and_including_b() {
        let calendar = WorkCalendar::weekends_only(2026);
        // Mon 2026-03-02 .. Mon 2026-03-09: Tue–Fri and the next Monday.
        assert_eq!(calendar.working_days_between(day(2026, 3, 2), day(2026, 3, 9)), 5);
        assert_eq!(
            calendar.working_days_between(day(2026, 3, 9), day(2026, 3, 2)),
            -5
        );
        assert_eq!(calendar.working_days_between(day(2026, 3, 2), day(2026, 3, 2)), 0);
    }

    #[test]
    fn zero_working_days_from_a_day_is_that_day() {
        let calendar = WorkCalendar::weekends_only(2026);
        let sunday = day(2026, 3, 1);
        assert_eq!(
            calendar.add_working_days(sunday, 0),
            Deadline {
                date: sunday,
                provisional: false
            }
        );
    }

    #[test]
    fn a_year_is_added_after_the_last_but_never_across_a_hole() {
        let calendar = WorkCalendar::weekends_only(2026);
        let next = calendar.with_year(2027, CalendarYear::default()).unwrap();
        assert_eq!(next.covered_until(), day(2027, 12, 31));
        assert!(matches!(
            calendar.with_year(2028, CalendarYear::default()),
            Err(CalendarError::MissingYear(2027))
        ));
    }

    #[test]
    fn a_deadline_closes_at_midnight_shanghai_time() {
        let deadline = Deadline {
            date: day(2026, 3, 18),
            provisional: false,
        };
        let close = Utc.with_ymd_and_hms(2026, 3, 18, 16, 0, 0).unwrap();
        assert_eq!(deadline.ends_at(), close);
        assert!(!deadline.is_past(close - TimeDelta::seconds(1)));
        assert!(deadline.is_past(close));
    }
}
