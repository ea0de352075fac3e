//! One year of the State Council's holiday notice, as the admin loads it.
//!
//! The notice lists the public holidays that fall on weekdays and the Saturdays and Sundays
//! that are worked instead (调休上班), in the shape of one year of
//! `seeds/cn-workdays-2023-2026.json`:
//!
//! ```json
//! {"2027": {"holidays": ["2027-01-01"], "adjusted_workdays": ["2027-02-07"]}}
//! ```
//!
//! (the object under the year may also come alone). A year is accepted only whole: every date
//! a `YYYY-MM-DD` of that year, none twice (in one list or across both), every holiday on a
//! weekday and every adjusted working day on a Saturday or Sunday, and the year the file names
//! the year being loaded. A refusal names the field (`holidays[3]`), the line of the file when
//! the year came as text, and the reason.
//!
//! For example, loading 2027 from a file whose fourth line lists `"2027-01-02"` as a holiday is
//! refused with `line 4: holidays[1]: 2027-01-02 is a Saturday; list only holidays that fall on
//! weekdays`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use crate::calendar::CalendarYear;

/// Why one year of a notice was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeProblem {
    /// The text is not JSON of the expected shape.
    #[error("not a notice in the expected shape ({0}); expected {{\"holidays\": [...], \"adjusted_workdays\": [...]}}, optionally under its year")]
    Shape(String),
    /// The file is for another year than the one being loaded.
    #[error("the file is for {found}, not for {expected}")]
    YearMismatch {
        /// The year being loaded.
        expected: i32,
        /// The year the file names.
        found: String,
    },
    /// A listed day is not a `YYYY-MM-DD` date.
    #[error("{0:?} is not a YYYY-MM-DD date")]
    BadDate(String),
    /// A listed day belongs to another year.
    #[error("{date} is not in {year}")]
    OtherYear {
        /// The year being loaded.
        year: i32,
        /// The day.
        date: NaiveDate,
    },
    /// A day is listed twice.
    #[error("{0} is listed twice")]
    Duplicate(NaiveDate),
    /// A holiday on a Saturday or Sunday: the notice's weekend days off change nothing.
    #[error("{0} is a {name}; list only holidays that fall on weekdays", name = weekday_name(*.1))]
    HolidayOnWeekend(NaiveDate, Weekday),
    /// An adjusted working day on a weekday, where it would change nothing.
    #[error("{0} is a {name}; an adjusted working day must be a Saturday or Sunday", name = weekday_name(*.1))]
    AdjustedWorkdayOnWeekday(NaiveDate, Weekday),
}

/// A refused notice: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{field}: {problem}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct NoticeError {
    /// The 1-based line of the file, when the year came as text and the place is known.
    pub line: Option<usize>,
    /// The field: `holidays[2]`, `adjusted_workdays[0]`, `year`, or `file`.
    pub field: String,
    /// What is wrong.
    pub problem: NoticeProblem,
}

/// Which list of the notice a date is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum List {
    /// `holidays`.
    Holidays,
    /// `adjusted_workdays`.
    AdjustedWorkdays,
}

impl List {
    /// The field name.
    pub fn field(self) -> &'static str {
        match self {
            List::Holidays => "holidays",
            List::AdjustedWorkdays => "adjusted_workdays",
        }
    }
}

fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

fn is_weekend(weekday: Weekday) -> bool {
    matches!(weekday, Weekday::Sat | Weekday::Sun)
}

/// Checks one year's lists and builds the year.
///
/// # Errors
/// [`NoticeError`] (without a line) naming the first date that breaks a rule, by field.
///
/// ```
/// use landuse_domain::notice::check_year;
/// let year = check_year(2027, &["2027-01-01".into()], &["2027-02-07".into()])?;
/// assert_eq!(year.holidays.len(), 1);
/// let refused = check_year(2027, &["2027-01-02".into()], &[]).unwrap_err();
/// assert_eq!(refused.field, "holidays[0]");
/// # Ok::<(), landuse_domain::notice::NoticeError>(())
/// ```
pub fn check_year(
    year: i32,
    holidays: &[String],
    adjusted_workdays: &[String],
) -> Result<CalendarYear, NoticeError> {
    let mut seen = BTreeSet::new();
    let mut out = CalendarYear::default();
    for (list, texts) in [
        (List::Holidays, holidays),
        (List::AdjustedWorkdays, adjusted_workdays),
    ] {
        for (index, text) in texts.iter().enumerate() {
            let refuse = |problem| NoticeError {
                line: None,
                field: format!("{}[{index}]", list.field()),
                problem,
            };
            let date = parse_date(text).ok_or_else(|| refuse(NoticeProblem::BadDate(text.clone())))?;
            if date.year() != year {
                return Err(refuse(NoticeProblem::OtherYear { year, date }));
            }
            if !seen.insert(date) {
                return Err(refuse(NoticeProblem::Duplicate(date)));
            }
            let weekday = date.weekday();
            match list {
                List::Holidays if is_weekend(weekday) => {
                    return Err(refuse(NoticeProblem::HolidayOnWeekend(date, weekday)))
                }
                List::AdjustedWorkdays if !is_weekend(weekday) => {
                    return Err(refuse(NoticeProblem::AdjustedWorkdayOnWeekday(date, weekday)))
                }
                List::Holidays => out.holidays.insert(date),
                List::AdjustedWorkdays => out.adjusted_workdays.insert(date),
            };
        }
    }
    Ok(out)
}

/// The lists of one year as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    holidays: Vec<String>,
    adjusted_workdays: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawNotice {
    Bare(RawYear),
    Keyed(BTreeMap<String, RawYear>),
}

/// Reads year `year` from the text of a notice file, and checks it.
///
/// # Errors
/// [`NoticeError`] with the line of the offending date (or of the JSON error), the field and
/// the reason.
pub fn parse_year(year: i32, text: &str) -> Result<CalendarYear, NoticeError> {
    let shape = |e: String, line: Option<usize>| NoticeError {
        line,
        field: "file".to_owned(),
        problem: NoticeProblem::Shape(e),
    };
    // Parsed as a value first so a syntax error keeps its line (the untagged enum loses it).
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| shape(e.to_string(), Some(e.line())))?;
    let raw: RawNotice = serde_json::from_value(value).map_err(|e| shape(e.to_string(), None))?;
    let raw = match raw {
        RawNotice::Bare(raw) => raw,
        RawNotice::Keyed(mut years) => {
            let key = year.to_string();
            let found: Vec<String> = years.keys().cloned().collect();
            match years.remove(&key) {
                Some(raw) if years.is_empty() => raw,
                _ => {
                    return Err(NoticeError {
                        line: None,
                        field: "year".to_owned(),
                        problem: NoticeProblem::YearMismatch {
                            expected: year,
                            found: found.join(", "),
                        },
                    })
                }
            }
        }
    };
    check_year(year, &raw.holidays, &raw.adjusted_workdays).map_err(|mut error| {
        error.line = line_of_field(text, &error.field);
        error
    })
}

/// The line of `list[index]` in the JSON text: the string literals after the key `list`, in
/// order. `None` when the field is not an element of a list.
fn line_of_field(text: &str, field: &str) -> Option<usize> {
    let (name, rest) = field.split_once('[')?;
    let index: usize = rest.strip_suffix(']')?.parse().ok()?;
    let mut current: Option<String> = None;
    let mut seen = 0usize;
    for (line, literal, is_key) in string_literals(text) {
        if is_key {
            current = Some(literal);
            seen = 0;
        } else if current.as_deref() == Some(name) {
            if seen == index {
                return Some(line);
            }
            seen += 1;
        }
    }
    None
}

/// Every string literal of a JSON text with its 1-based line and whether it is an object key.
fn string_literals(text: &str) -> Vec<(usize, String, bool)> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            '"' => {
                let start = line;
                let mut literal = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                literal.push(escaped);
                            }
                        }
                        '"' => break,
                        '\n' => {
                            line += 1;
                            literal.push(c);
                        }
                        _ => literal.push(c),
                    }
                }
                while chars.peek().is_some_and(|c| c.is_whitespace() && *c != '\n') {
                    chars.next();
                }
                let is_key = chars.peek() == Some(&':');
                out.push((start, literal, is_key));
            }
            _ => {}
        }
    }
    out
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

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    const GOOD: &str = r#"{
 "2027": {
  "holidays": [
   "2027-01-01",
   "2027-02-08"
  ],
  "adjusted_workdays": [
   "2027-02-07"
  ]
 }
}"#;

    #[test]
    fn a_year_in_the_seed_shape_is_read_keyed_or_bare() {
        let keyed = parse_year(2027, GOOD).unwrap();
        assert_eq!(keyed.holidays, BTreeSet::from([day(2027, 1, 1), day(2027, 2, 8)]));
        assert_eq!(keyed.adjusted_workdays, BTreeSet::from([day(2027, 2, 7)]));
        let bare = parse_year(
            2027,
            r#"{"holidays": ["2027-01-01", "2027-02-08"], "adjusted_workdays": ["2027-02-07"]}"#,
        )
        .unwrap();
        assert_eq!(bare, keyed);
    }

    #[test]
    fn each_refusal_names_the_line_the_field_and_the_reason() {
        let cases = [
            // 2027-01-02 is a Saturday.
            (
                GOOD.replace("2027-02-08", "2027-01-02"),
                5,
                "holidays[1]",
                "is a Saturday",
            ),
            (
                GOOD.replace("2027-02-08", "2027-01-01"),
                5,
                "holidays[1]",
                "listed twice",
            ),
            (
                GOOD.replace("2027-02-07", "2027-01-01"),
                8,
                "adjusted_workdays[0]",
                "listed twice",
            ),
            (
                GOOD.replace("2027-02-08", "2026-10-01"),
                5,
                "holidays[1]",
                "is not in 2027",
            ),
            (
                GOOD.replace("2027-02-07", "2027-02-09"),
                8,
                "adjusted_workdays[0]",
                "is a Tuesday",
            ),
            (
                GOOD.replace("2027-02-08", "2027-2-8"),
                5,
                "holidays[1]",
                "not a YYYY-MM-DD",
            ),
        ];
        for (text, line, field, reason) in cases {
            let error = parse_year(2027, &text).unwrap_err();
            assert_eq!((error.line, error.field.as_str()), (Some(line), field), "{error}");
            assert!(error.to_string().contains(reason), "{error}");
            assert!(
                error.to_string().starts_with(&format!("line {line}: {field}: ")),
                "{error}"
            );
        }
    }

    #[test]
    fn a_file_for_another_year_or_of_another_shape_is_refused() {
        let error = parse_year(2028, GOOD).unwrap_err();
        assert_eq!(error.field, "year");
        assert!(matches!(
            error.problem,
            NoticeProblem::YearMismatch { expected: 2028, .. }
        ));
        let two = r#"{"2027": {"holidays": [], "adjusted_workdays": []}, "2028": {"holidays": [], "adjusted_workdays": []}}"#;
        assert_eq!(parse_year(2027, two).unwrap_err().field, "year");
        let syntax = parse_year(2027, "{\n \"holidays\": [\n").unwrap_err();
        assert_eq!((syntax.field.as_str(), syntax.line), ("file", Some(3)));
        let unknown =
            parse_year(2027, r#"{"holidays": [], "adjusted_workdays": [], "note": 1}"#).unwrap_err();
        assert!(matches!(unknown.problem, NoticeProblem::Shape(_)));
    }

    #[test]
    fn checked_lists_without_text_name_the_field_only() {
        let error = check_year(2027, &[], &["2027-01-04".into()]).unwrap_err();
        assert_eq!((error.line, error.field.as_str()), (None, "adjusted_workdays[0]"));
        assert_eq!(
            error.to_string(),
            "adjusted_workdays[0]: 2027-01-04 is a Monday; an adjusted working day must be a Saturday or Sunday"
        );
    }
}
