//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use landuse_domain::calendar::{WorkCalendar, BUREAU_OFFSET};

/// The official calendar as seeded for deployments.
pub const SEEDED_CALENDAR: &str = include_str!("../../../../seeds/cn-workdays-2023-2026.json");

/// The seeded time limits.
pub const SEEDED_LIMITS: &str = include_str!("../../../../seeds/time-limits.json");

/// The official 2023–2026 calendar.
pub fn official_calendar() -> WorkCalendar {
    WorkCalendar::from_json(SEEDED_CALENDAR).unwrap()
}

/// A calendar date.
pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// An instant given in the bureau's local time (+08:00).
pub fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    BUREAU_OFFSET
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}
