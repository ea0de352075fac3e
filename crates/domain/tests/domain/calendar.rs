//! Calendar facts checked against the State Council notices (the seeded table).
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{Datelike, Weekday};
use common::{day, official_calendar, SEEDED_CALENDAR};
use landuse_domain::calendar::{CalendarError, WorkCalendar};

#[test]
fn the_seeded_calendar_parses_and_covers_2023_to_2026() {
    let calendar = official_calendar();
    assert_eq!(calendar.covered_from(), day(2023, 1, 1));
    assert_eq!(calendar.covered_until(), day(2026, 12, 31));
    assert_eq!(calendar.years().count(), 4);
}

#[test]
fn the_adjusted_saturdays_of_spring_festival_2026_are_working_days() {
    let calendar = official_calendar();
    for date in [day(2026, 2, 14), day(2026, 2, 28)] {
        assert_eq!(date.weekday(), Weekday::Sat);
        assert!(calendar.is_working_day(date), "{date} should be a working day");
    }
}

#[test]
fn spring_festival_and_national_day_2026_are_not_working_days() {
    let calendar = official_calendar();
    let spring_festival = day(2026, 2, 16).iter_days().take(5); // Mon 16 .. Fri 20
    let national_day = day(2026, 10, 1).iter_days().take(7); // Thu 1 .. Wed 7
    for date in spring_festival.chain(national_day) {
        assert!(!calendar.is_working_day(date), "{date} should be off");
    }
}

#[test]
fn twenty_working_days_from_2026_02_12_end_on_2026_03_18() {
    // Counting the working days after Thu 2026-02-12 in the official calendar:
    //  1 Fri 02-13
    //  2 Sat 02-14 (adjusted working day)
    //    Sun 02-15 off; Mon 02-16 .. Fri 02-20 Spring Festival; Sat 21, Sun 22 off;
    //    Mon 02-23 holiday
    //  3 Tue 02-24   4 Wed 02-25   5 Thu 02-26   6 Fri 02-27
    //  7 Sat 02-28 (adjusted working day)
    //    Sun 03-01 off
    //  8 Mon 03-02   9 Tue 03-03  10 Wed 03-04  11 Thu 03-05  12 Fri 03-06
    // 13 Mon 03-09  14 Tue 03-10  15 Wed 03-11  16 Thu 03-12  17 Fri 03-13
    // 18 Mon 03-16  19 Tue 03-17  20 Wed 03-18
    let calendar = official_calendar();
    let deadline = calendar.add_working_days(day(2026, 2, 12), 20);
    assert_eq!(deadline.date, day(2026, 3, 18));
    assert!(!deadline.provisional);
    assert_eq!(
        calendar.working_days_between(day(2026, 2, 12), day(2026, 3, 18)),
        20
    );
}

#[test]
fn every_listed_holiday_is_off_and_every_adjusted_day_is_worked() {
    let calendar = official_calendar();
    for (_, listed) in calendar.years() {
        for &date in &listed.holidays {
            assert!(!calendar.is_working_day(date), "{date}");
        }
        for &date in &listed.adjusted_workdays {
            assert!(calendar.is_working_day(date), "{date}");
        }
    }
}

#[test]
fn earlier_years_follow_their_notices_too() {
    let calendar = official_calendar();
    assert!(calendar.is_working_day(day(2025, 1, 26))); // Sunday before Spring Festival
    assert!(!calendar.is_working_day(day(2024, 10, 7))); // Monday, National Day
    assert!(calendar.is_working_day(day(2023, 10, 8))); // Sunday after National Day
    assert!(!calendar.is_working_day(day(2023, 9, 29))); // Friday, Mid-Autumn
}

#[test]
fn the_year_2026_has_248_working_days() {
    // 261 weekdays − 19 weekday holidays + 6 adjusted weekend days.
    let calendar = official_calendar();
    assert_eq!(
        calendar.working_days_between(day(2025, 12, 31), day(2026, 12, 31)),
        248
    );
}

#[test]
fn dates_past_the_covered_years_count_weekends_only_and_are_provisional() {
    let calendar = official_calendar();
    // 2027-01-01 is a Friday; with no 2027 notice it counts as a working day.
    assert!(calendar.is_working_day(day(2027, 1, 1)));
    assert!(!calendar.covers(day(2027, 1, 1)));
    // Thu 2026-12-31 + 1 working day = Fri 2027-01-01, provisional.
    let deadline = calendar.add_working_days(day(2026, 12, 31), 1);
    assert_eq!(deadline.date, day(2027, 1, 1));
    assert!(deadline.provisional);
    // A deadline inside the covered years is final.
    assert!(!calendar.add_working_days(day(2026, 12, 1), 5).provisional);
    // Before the first covered year is just as unofficial.
    assert!(calendar.add_working_days(day(2022, 12, 20), 3).provisional);
}

#[test]
fn the_seeded_file_round_trips_through_serde() {
    let calendar = official_calendar();
    let json = serde_json::to_string(&calendar).unwrap();
    assert_eq!(WorkCalendar::from_json(&json).unwrap(), calendar);
    let original: serde_json::Value = serde_json::from_str(SEEDED_CALENDAR).unwrap();
    let written: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(written, original);
}

#[test]
fn a_calendar_with_a_weekend_listed_as_a_holiday_is_refused() {
    let text = SEEDED_CALENDAR.replace("\"2026-10-07\"", "\"2026-10-04\"");
    assert!(matches!(
        WorkCalendar::from_json(&text),
        Err(CalendarError::HolidayOnWeekend(_))
    ));
}
