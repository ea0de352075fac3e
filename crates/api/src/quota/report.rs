//! The start-rate report as CSV and as an Excel workbook (.xlsx), for the leading-group office
//! that reads it in a spreadsheet. JSON is the domain's [`StartRateReport`] as it is.
//!
//! Both tabular forms have one row per quarter and county, plus a row for the whole city
//! (county `全市`), and list the projects not started with their responsible leaders: in the
//! CSV as one extra column, in the workbook on a second sheet. A closed quarter's figure is the
//! one frozen when it closed (`frozen_on`); where the records say otherwise now, the
//! `corrected_*` columns give the figure as recorded now and `corrections` names the projects
//! whose records changed, beside the frozen figure and never in its place.

use std::collections::BTreeMap;

use landuse_domain::start_rate::{RateLine, StartRateReport};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

const RATE_HEADER: [&str; 12] = [
    "year",
    "as_of",
    "quarter",
    "ends_on",
    "closed",
    "goal_percent",
    "county_code",
    "county_name",
    "projects",
    "started",
    "percent",
    "goal_met",
];

/// The columns after the figures: when it was frozen and its correction, if any.
const CORRECTION_HEADER: [&str; 6] = [
    "frozen_on",
    "corrected_projects",
    "corrected_started",
    "corrected_percent",
    "corrected_goal_met",
    "corrections",
];

const CITY: &str = "全市";

/// The frozen-on date and the correction of `line` as text cells, empty where there is none.
fn correction_cells(line: &RateLine) -> [String; 6] {
    let correction = line.correction.as_ref();
    [
        optional(line.frozen_on),
        optional(correction.map(|c| c.projects)),
        optional(correction.map(|c| c.started)),
        optional(correction.and_then(|c| c.percent)),
        optional(correction.and_then(|c| c.goal_met)),
        correction.map_or_else(String::new, |c| {
            c.changes
                .iter()
                .map(|change| format!("{} ({})", change.name, change.kind.code()))
                .collect::<Vec<_>>()
                .join("; ")
        }),
    ]
}

fn county_cells(line: &RateLine, names: &BTreeMap<String, String>) -> (String, String) {
    match &line.county {
        Some(code) => (
            code.as_str().to_owned(),
            names.get(code.as_str()).cloned().unwrap_or_default(),
        ),
        None => (String::new(), CITY.to_owned()),
    }
}

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Every rate line of the report in row order: per quarter, each county, then the city.
fn rows(
    report: &StartRateReport,
) -> impl Iterator<Item = (&landuse_domain::start_rate::QuarterRates, &RateLine)> {
    report.quarters.iter().flat_map(|q| {
        q.counties
            .iter()
            .chain(std::iter::once(&q.total))
            .map(move |l| (q, l))
    })
}

/// The report as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese
/// names right; CRLF line ends; fields quoted as RFC 4180 asks, by the `csv` crate). The
/// `not_started` column lists the projects not started as `name (leader)` separated by `; `.
///
/// # Errors
/// What the CSV writer reports (nothing, writing to memory).
pub fn csv(report: &StartRateReport, names: &BTreeMap<String, String>) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    out.write_record(
        RATE_HEADER
            .into_iter()
            .chain(["not_started"])
            .chain(CORRECTION_HEADER),
    )?;
    for (quarter, line) in rows(report) {
        let (code, name) = county_cells(line, names);
        let not_started = line
            .not_started
            .iter()
            .map(|p| match &p.responsible_leader {
                Some(leader) => format!("{} ({leader})", p.name),
                None => p.name.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let cells = [
            report.year.to_string(),
            report.as_of.to_string(),
            quarter.quarter.to_string(),
            quarter.ends_on.to_string(),
            quarter.closed.to_string(),
            quarter.goal_percent.to_string(),
            code,
            name,
            line.projects.to_string(),
            line.started.to_string(),
            optional(line.percent),
            optional(line.goal_met),
            not_started,
        ];
        out.write_record(cells.into_iter().chain(correction_cells(line)))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// The report as an .xlsx workbook: sheet `start rates` with the figures, sheet `not started`
/// with one row per project not started by each quarter's end (county lines only, so each
/// project appears once per quarter).
///
/// # Errors
/// What the workbook writer reports (nothing a valid report triggers).
pub fn xlsx(report: &StartRateReport, names: &BTreeMap<String, String>) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("start rates")?;
    for (col, title) in (0u16..).zip(RATE_HEADER.into_iter().chain(CORRECTION_HEADER)) {
        sheet.write_string_with_format(0, col, title, &bold)?;
    }
    sheet.set_column_width(7, 12)?;
    sheet.set_freeze_panes(1, 0)?;
    for (row, (quarter, line)) in (1u32..).zip(rows(report)) {
        let (code, name) = county_cells(line, names);
        sheet.write_number(row, 0, report.year)?;
        sheet.write_string(row, 1, report.as_of.to_string())?;
        sheet.write_string(row, 2, quarter.quarter.to_string())?;
        sheet.write_string(row, 3, quarter.ends_on.to_string())?;
        sheet.write_boolean(row, 4, quarter.closed)?;
        sheet.write_number(row, 5, quarter.goal_percent)?;
        sheet.write_string(row, 6, code)?;
        sheet.write_string(row, 7, name)?;
        sheet.write_number(row, 8, line.projects)?;
        sheet.write_number(row, 9, line.started)?;
        if let Some(percent) = line.percent {
            sheet.write_number(row, 10, percent)?;
        }
        if let Some(met) = line.goal_met {
            sheet.write_boolean(row, 11, met)?;
        }
        for (col, cell) in (12u16..).zip(correction_cells(line)) {
            if !cell.is_empty() {
                sheet.write_string(row, col, cell)?;
            }
        }
    }

    let sheet = workbook.add_worksheet();
    sheet.set_name("not started")?;
    let header = [
        "quarter",
        "county_code",
        "county_name",
        "project",
        "planned_start",
        "responsible_leader",
        "started_on",
    ];
    for (col, title) in (0u16..).zip(header) {
        sheet.write_string_with_format(0, col, title, &bold)?;
    }
    sheet.set_column_width(3, 30)?;
    sheet.set_freeze_panes(1, 0)?;
    let mut row = 1u32;
    for quarter in &report.quarters {
        for line in &quarter.counties {
            for p in &line.not_started {
                sheet.write_string(row, 0, quarter.quarter.to_string())?;
                sheet.write_string(row, 1, p.county.as_str())?;
                sheet.write_string(row, 2, names.get(p.county.as_str()).cloned().unwrap_or_default())?;
                sheet.write_string(row, 3, &p.name)?;
                sheet.write_string(row, 4, optional(p.planned_start))?;
                sheet.write_string(row, 5, p.responsible_leader.clone().unwrap_or_default())?;
                sheet.write_string(row, 6, optional(p.started_on))?;
                row += 1;
            }
        }
    }
    workbook.save_to_buffer()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::NaiveDate;
    use landuse_domain::{
        county::CountyCode,
        project::ProjectLevel,
        start_rate::{start_rates, ProjectStart, StartRateGoals},
    };
    use uuid::Uuid;

    use super::*;

    fn report() -> StartRateReport {
        report_naming("江北大道, 二期")
    }

    /// The report of two projects, the second (not started) named `not_started`.
    fn report_naming(not_started: &str) -> StartRateReport {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d);
        let project = |n: u128, name: &str, started_on| ProjectStart {
            id: Uuid::from_u128(n),
            name: name.into(),
            county: CountyCode::parse("610902").unwrap(),
            level: ProjectLevel::Municipal,
            on_key_list: true,
            new_start: true,
            year: 2026,
            planned_start: day(2, 1),
            responsible_leader: Some("王副局长".into()),
            started_on,
        };
        let projects = [
            project(1, "安康高新区厂房", day(3, 1)),
            project(2, not_started, None),
        ];
        start_rates(&projects, 2026, day(4, 10).unwrap(), &StartRateGoals::default()).unwrap()
    }

    fn names() -> BTreeMap<String, String> {
        [("610902".to_owned(), "汉滨区".to_owned())].into()
    }

    fn csv_text(report: &StartRateReport) -> String {
        String::from_utf8(csv(report, &names()).unwrap()).unwrap()
    }

    #[test]
    fn the_csv_has_a_row_per_quarter_and_county_plus_the_city_and_quotes_commas() {
        let text = csv_text(&report());
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
        assert_eq!(lines.len(), 1 + 4 * 2);
        assert_eq!(
            lines[1],
            "2026,2026-04-10,Q1,2026-03-31,true,80,610902,汉滨区,2,1,50,false,\"江北大道, 二期 (王副局长)\",,,,,,",
            "a figure computed from the records has no freeze date and no correction"
        );
        assert!(lines[2].contains(",全市,2,1,50,false,"));
    }

    #[test]
    fn a_name_with_a_comma_a_quote_and_a_newline_reads_back_as_written() {
        let name = "江北大道, \"二期\"\n续建";
        let text = csv_text(&report_naming(name));
        let body = text.strip_prefix('\u{feff}').unwrap();
        let mut reader = ::csv::Reader::from_reader(body.as_bytes());
        let header = reader.headers().unwrap().clone();
        let column = header.iter().position(|h| h == "not_started").unwrap();
        let first = reader.records().next().unwrap().unwrap();
        assert_eq!(&first[column], format!("{name} (王副局长)"));
        assert_eq!(
            first.len(),
            header.len(),
            "the quoted newline stays inside its field"
        );
    }

    #[test]
    fn the_workbook_is_a_zip_with_both_sheets() {
        let bytes = xlsx(&report(), &names()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        assert!(bytes.len() > 1000);
    }
}
