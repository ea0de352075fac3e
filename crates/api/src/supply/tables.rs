//! The land-supply reports as tables, for CSV and .xlsx: each report is one or more sheets of
//! typed cells, written by [`csv`] (the first sheet, UTF-8 with a byte-order mark and CRLF, as
//! the start-rate report) and [`xlsx`] (every sheet, numbers as numbers). The rows are built
//! from the same domain report the JSON answer is, so the three forms cannot disagree.

use std::collections::BTreeMap;

use landuse_domain::{
    county::CountyCode,
    ledger::Amount,
    supply::{
        certificate::{HandoverCertificateReport, LagCountyLine},
        idle::{IdleCountyLine, IdleReport, IdleStatus},
        standard::{IndicatorReview, ShareLine, StandardLandLine},
        unsupplied::{CountySupplyLine, LandSupplyReport},
    },
};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use uuid::Uuid;

use super::reports::StandardLandAnswer;

/// The name the tables give the city's line.
pub const CITY: &str = "全市";

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// Yes or no.
    Bool(bool),
    /// Nothing (a figure that does not exist, such as a rate without a base).
    Empty,
}

impl Cell {
    // Dates, ids and codes are passed as they are (mostly `Copy`); only their text is kept.
    #[allow(clippy::needless_pass_by_value)]
    fn text(value: impl ToString) -> Self {
        Self::Text(value.to_string())
    }

    fn amount(value: Amount) -> Self {
        Self::Number(value.value())
    }

    fn optional<T>(value: Option<T>, cell: impl FnOnce(T) -> Cell) -> Self {
        value.map_or(Self::Empty, cell)
    }

    fn csv(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Number(n) => n.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Empty => String::new(),
        }
    }
}

/// One sheet: a name, a header and rows of cells.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// The sheet's name.
    pub name: &'static str,
    /// The column names.
    pub header: Vec<&'static str>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

/// County names by code, for the tables' name column.
pub type Names = BTreeMap<String, String>;

fn county_cells(county: Option<CountyCode>, names: &Names) -> [Cell; 2] {
    match county {
        Some(code) => [
            Cell::text(code.as_str()),
            Cell::Text(names.get(code.as_str()).cloned().unwrap_or_default()),
        ],
        None => [Cell::Empty, Cell::text(CITY)],
    }
}

/// The first sheet as CSV.
///
/// # Errors
/// What the CSV writer reports (nothing, writing to memory).
pub fn csv(sheets: &[Sheet]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    if let Some(sheet) = sheets.first() {
        out.write_record(&sheet.header)?;
        for row in &sheet.rows {
            out.write_record(row.iter().map(Cell::csv))?;
        }
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// Every sheet as an .xlsx workbook.
///
/// # Errors
/// What the workbook writer reports (nothing a valid report triggers).
pub fn xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    for sheet in sheets {
        let ws = workbook.add_worksheet();
        ws.set_name(sheet.name)?;
        for (col, title) in (0u16..).zip(&sheet.header) {
            ws.write_string_with_format(0, col, *title, &bold)?;
        }
        ws.set_freeze_panes(1, 0)?;
        for (row, cells) in (1u32..).zip(&sheet.rows) {
            for (col, cell) in (0u16..).zip(cells) {
                match cell {
                    Cell::Text(t) => {
                        ws.write_string(row, col, t)?;
                    }
                    Cell::Number(n) => {
                        ws.write_number(row, col, *n)?;
                    }
                    Cell::Bool(b) => {
                        ws.write_boolean(row, col, *b)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
    }
    workbook.save_to_buffer()
}

fn supply_county_row(report: &LandSupplyReport, line: &CountySupplyLine, names: &Names) -> Vec<Cell> {
    let mut row = vec![Cell::text(report.as_of)];
    row.extend(county_cells(line.county, names));
    for rate in [&line.all_batches, &line.last_five_years] {
        row.extend([
            Cell::amount(rate.approved_mu),
            Cell::amount(rate.supplied_mu),
            Cell::amount(rate.unsupplied_mu),
            Cell::optional(rate.percent, Cell::Number),
        ]);
    }
    row.extend(line.by_age.iter().map(|a| Cell::amount(a.unsupplied_mu)));
    row
}

/// 批而未供 and 供地率: sheet `counties` (each county, then the city), sheet `batches`.
pub fn land_supply(report: &LandSupplyReport, names: &Names) -> Vec<Sheet> {
    let counties = Sheet {
        name: "counties",
        header: vec![
            "as_of",
            "county_code",
            "county_name",
            "approved_mu",
            "supplied_mu",
            "unsupplied_mu",
            "supply_percent",
            "five_year_approved_mu",
            "five_year_supplied_mu",
            "five_year_unsupplied_mu",
            "five_year_supply_percent",
            "unsupplied_under_one_year_mu",
            "unsupplied_one_to_two_years_mu",
            "unsupplied_two_to_five_years_mu",
            "unsupplied_over_five_years_mu",
        ],
        rows: report
            .counties
            .iter()
            .chain(std::iter::once(&report.total))
            .map(|line| supply_county_row(report, line, names))
            .collect(),
    };
    let batches = Sheet {
        name: "batches",
        header: vec![
            "batch",
            "document_number",
            "county_code",
            "county_name",
            "approved_on",
            "age",
            "approved_mu",
            "supplied_mu",
            "unsupplied_mu",
            "supply_percent",
        ],
        rows: report
            .batches
            .iter()
            .map(|b| {
                let mut row = vec![Cell::text(b.batch), Cell::text(&b.document_number)];
                row.extend(county_cells(Some(b.county), names));
                row.extend([
                    Cell::text(b.approved_on),
                    Cell::text(b.age.code()),
                    Cell::amount(b.approved_mu),
                    Cell::amount(b.supplied_mu),
                    Cell::amount(b.unsupplied_mu),
                    Cell::optional(b.supply_percent, Cell::Number),
                ]);
                row
            })
            .collect(),
    };
    vec![counties, batches]
}

fn idle_county_row(report: &IdleReport, line: &IdleCountyLine, names: &Names) -> Vec<Cell> {
    let mut row = vec![Cell::text(report.as_of)];
    row.extend(county_cells(line.county, names));
    row.push(Cell::amount(line.idle_mu));
    for status in IdleStatus::ALL {
        let total = line.statuses.iter().find(|t| t.status == *status);
        row.push(Cell::Number(f64::from(total.map_or(0, |t| t.count))));
        row.push(Cell::Number(total.map_or(0.0, |t| t.area_mu.value())));
    }
    row.push(Cell::Number(
        line.statuses
            .iter()
            .map(|t| t.fee_wan_yuan)
            .sum::<Amount>()
            .value(),
    ));
    row
}

/// Idle land: sheet `lands` (one row per supplied land), sheet `counties` (each status's count
/// and area per county, then the city).
pub fn idle_land(report: &IdleReport, names: &Names) -> Vec<Sheet> {
    let lands = Sheet {
        name: "lands",
        header: vec![
            "supply",
            "county_code",
            "county_name",
            "status",
            "area_mu",
            "agreed_start_on",
            "due_soon_from",
            "idle_from",
            "reclaimable_from",
            "partial_idle_from",
            "fee_wan_yuan",
            "government_delay_days",
        ],
        rows: report
            .lands
            .iter()
            .map(|l| {
                let mut row = vec![Cell::text(l.supply)];
                row.extend(county_cells(Some(l.county), names));
                row.extend([
                    Cell::text(l.status.code()),
                    Cell::amount(l.area_mu),
                    Cell::text(l.agreed_start_on),
                    Cell::text(l.due_soon_from),
                    Cell::text(l.idle_from),
                    Cell::text(l.reclaimable_from),
                    Cell::optional(l.partial_idle_from, Cell::text),
                    Cell::optional(l.fee_wan_yuan, Cell::amount),
                    Cell::optional(l.government_delay_days, |d| Cell::Number(d as f64)),
                ]);
                row
            })
            .collect(),
    };
    let mut header = vec!["as_of", "county_code", "county_name", "idle_mu"];
    header.extend([
        "on_schedule_count",
        "on_schedule_mu",
        "due_soon_count",
        "due_soon_mu",
        "idle_count",
        "idle_mu_status",
        "partial_idle_count",
        "partial_idle_mu",
        "reclaimable_count",
        "reclaimable_mu",
        "government_caused_count",
        "government_caused_mu",
        "started_count",
        "started_mu",
        "completed_count",
        "completed_mu",
        "fee_wan_yuan",
    ]);
    let counties = Sheet {
        name: "counties",
        header,
        rows: report
            .counties
            .iter()
            .chain(std::iter::once(&report.total))
            .map(|line| idle_county_row(report, line, names))
            .collect(),
    };
    vec![lands, counties]
}

fn share_row(year: i32, line: &StandardLandLine, share: &ShareLine, names: &Names) -> Vec<Cell> {
    let mut row = vec![Cell::Number(f64::from(year))];
    row.extend(county_cells(line.county, names));
    row.extend([
        Cell::text(match share.zone {
            landuse_domain::supply::standard::Zone::DevelopmentZone => "development_zone",
            landuse_domain::supply::standard::Zone::Elsewhere => "elsewhere",
        }),
        Cell::amount(share.industrial_mu),
        Cell::amount(share.standard_mu),
        Cell::optional(share.percent, Cell::Number),
        Cell::Number(f64::from(share.goal_percent)),
        Cell::optional(share.goal_met, Cell::Bool),
    ]);
    row
}

fn review_cells(review: &IndicatorReview) -> Vec<Cell> {
    let mut row = Vec::new();
    for c in &review.indicators {
        row.extend([
            Cell::amount(c.agreed),
            Cell::amount(c.achieved),
            Cell::Bool(c.met),
        ]);
    }
    row.push(Cell::Bool(!review.land_use_standard_missed));
    row.push(Cell::Bool(review.all_met));
    row
}

/// Standard land: sheet `shares` (per county, then the city, inside development zones and
/// elsewhere), sheet `acceptance` (agreed against achieved indicators per completed supply).
pub fn standard_land(answer: &StandardLandAnswer, names: &Names) -> Vec<Sheet> {
    let report = &answer.report;
    let shares = Sheet {
        name: "shares",
        header: vec![
            "year",
            "county_code",
            "county_name",
            "zone",
            "industrial_mu",
            "standard_mu",
            "percent",
            "goal_percent",
            "goal_met",
        ],
        rows: report
            .counties
            .iter()
            .chain(std::iter::once(&report.total))
            .flat_map(|line| {
                [&line.development_zone, &line.elsewhere]
                    .map(|share| share_row(report.year, line, share, names))
            })
            .collect(),
    };
    let acceptance = Sheet {
        name: "acceptance",
        header: vec![
            "supply",
            "county_code",
            "county_name",
            "investment_intensity_agreed",
            "investment_intensity_achieved",
            "investment_intensity_met",
            "floor_area_ratio_agreed",
            "floor_area_ratio_achieved",
            "floor_area_ratio_met",
            "tax_per_mu_agreed",
            "tax_per_mu_achieved",
            "tax_per_mu_met",
            "energy_per_output_agreed",
            "energy_per_output_achieved",
            "energy_per_output_met",
            "land_use_standard_met",
            "all_met",
        ],
        rows: answer
            .acceptance
            .iter()
            .map(|a| {
                let mut row = vec![Cell::text(a.supply)];
                row.extend(county_cells(Some(a.county), names));
                row.extend(review_cells(&a.review));
                row
            })
            .collect(),
    };
    vec![shares, acceptance]
}

fn lag_county_row(report: &HandoverCertificateReport, line: &LagCountyLine, names: &Names) -> Vec<Cell> {
    let mut row = vec![Cell::text(report.as_of)];
    row.extend(county_cells(line.county, names));
    row.extend([
        Cell::Number(f64::from(line.handovers)),
        Cell::Number(f64::from(line.same_day)),
        Cell::optional(line.same_day_percent, Cell::Number),
        Cell::optional(line.max_lag_days, |d| Cell::Number(d as f64)),
    ]);
    row
}

/// 交地即交证: sheet `handovers` (every key-project handover with its lag), sheet `counties`.
pub fn handover_certificate(report: &HandoverCertificateReport, names: &Names) -> Vec<Sheet> {
    let listed: std::collections::BTreeSet<Uuid> = report.not_same_day.iter().map(|l| l.supply).collect();
    let handovers = Sheet {
        name: "handovers",
        header: vec![
            "supply",
            "project",
            "project_name",
            "county_code",
            "county_name",
            "level",
            "handed_over_on",
            "certificate_issued_on",
            "lag_days",
            "pending_days",
            "not_same_day",
        ],
        rows: report
            .handovers
            .iter()
            .map(|l| {
                let mut row = vec![
                    Cell::text(l.supply),
                    Cell::text(l.project),
                    Cell::text(&l.project_name),
                ];
                row.extend(county_cells(Some(l.county), names));
                row.extend([
                    Cell::text(l.level.code()),
                    Cell::text(l.handed_over_on),
                    Cell::optional(l.certificate_issued_on, Cell::text),
                    Cell::optional(l.lag_days, |d| Cell::Number(d as f64)),
                    Cell::optional(l.pending_days, |d| Cell::Number(d as f64)),
                    Cell::Bool(listed.contains(&l.supply)),
                ]);
                row
            })
            .collect(),
    };
    let counties = Sheet {
        name: "counties",
        header: vec![
            "as_of",
            "county_code",
            "county_name",
            "handovers",
            "same_day",
            "same_day_percent",
            "max_lag_days",
        ],
        rows: report
            .counties
            .iter()
            .chain(std::iter::once(&report.total))
            .map(|line| lag_county_row(report, line, names))
            .collect(),
    };
    vec![handovers, counties]
}
