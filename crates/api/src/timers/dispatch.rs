//! The weekly dispatch (调度): taken by the sweeper when the scheduled instant has passed,
//! stored, listed at `GET /api/v1/dispatch`, and read at `GET /api/v1/dispatch/{id}` as JSON,
//! CSV or .xlsx (`?format=` or `Accept`). Officers see their counties' rows; reviewers,
//! leaders and admins see all.

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use landuse_domain::{
    calendar::BUREAU_OFFSET,
    clearing::{ClearingRules, DispatchCounts, LedgerItem},
    dispatch::{county_totals, dispatch_rows, DispatchItem, DispatchRow, DispatchSchedule},
    role::Role,
    stage::Stage,
};
use rust_xlsxwriter::{Format, Workbook};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    sweep::{parse_stage, pauses},
    TimerError,
};
use crate::{
    app::AppState,
    auth::Caller,
    http::error::ApiError,
    store::dispatch::{self as store, SnapshotRow, SnapshotTotals},
};

/// The roles that read dispatch reports.
const READERS: [Role; 4] = [Role::Officer, Role::Reviewer, Role::Leader, Role::Admin];

/// The media type of an .xlsx file.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Takes the snapshot of the latest scheduled instant at or before `now`, unless it exists.
/// The figures are those at the scheduled instant, however late the sweep comes.
///
/// # Errors
/// Database failures.
pub async fn take_due(
    tx: &mut PgConnection,
    schedule: &DispatchSchedule,
    rules: &ClearingRules,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, TimerError> {
    let period = schedule.period_ending(schedule.latest_at(now));
    let id = Uuid::now_v7();
    if !store::insert_snapshot(tx, id, period.start, period.end, now).await? {
        return Ok(None);
    }
    let rows = store::week_items(tx, period.start, period.end).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let stage = parse_stage(&row.stage)?;
        let item = LedgerItem {
            opened_at: row.opened_at,
            cleared_at: row.cleared_at,
            pauses: pauses(&row.pause_from, &row.pause_to)?,
        };
        items.push((stage, item));
    }
    let table = dispatch_rows(
        rows.iter().zip(&items).map(|(row, (stage, item))| DispatchItem {
            county_code: &row.county_code,
            stage: *stage,
            green: row.green,
            item,
        }),
        &period,
        rules,
    );
    for row in &table {
        let stored = SnapshotRow {
            county_code: row.county_code.clone(),
            stage: row.stage.code().to_owned(),
            opened: count(row.counts.opened),
            cleared: count(row.counts.cleared),
            still_open: count(row.counts.still_open),
            due_soon: count(row.counts.due_soon),
            overdue: count(row.counts.overdue),
            green_open: count(row.green_open),
        };
        store::insert_snapshot_row(tx, id, &stored).await?;
    }
    tracing::info!(snapshot = %id, period_end = %period.end, rows = table.len(), "dispatch snapshot taken");
    Ok(Some(id))
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn uncount(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// One snapshot in the list, with its totals over the caller's counties.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SnapshotSummary {
    /// The snapshot.
    pub id: Uuid,
    /// The week counted starts here.
    pub period_start: DateTime<Utc>,
    /// The scheduled instant the snapshot describes.
    pub period_end: DateTime<Utc>,
    /// When the sweeper took it.
    pub taken_at: DateTime<Utc>,
    /// Items opened in the week (the caller's counties).
    pub opened: i64,
    /// Items struck off in the week.
    pub cleared: i64,
    /// Items open at the snapshot.
    pub still_open: i64,
    /// Of those, due soon.
    pub due_soon: i64,
    /// Of those, overdue.
    pub overdue: i64,
    /// Counties (of the caller's) with an overdue item: not cleared to zero.
    pub counties_not_cleared: i64,
    /// The snapshot's report.
    pub href: String,
}

impl From<SnapshotTotals> for SnapshotSummary {
    fn from(totals: SnapshotTotals) -> Self {
        Self {
            href: format!("/api/v1/dispatch/{}", totals.id),
            id: totals.id,
            period_start: totals.period_start,
            period_end: totals.period_end,
            taken_at: totals.taken_at,
            opened: totals.opened,
            cleared: totals.cleared,
            still_open: totals.still_open,
            due_soon: totals.due_soon,
            overdue: totals.overdue,
            counties_not_cleared: totals.counties_not_cleared,
        }
    }
}

/// The answer of `GET /api/v1/dispatch`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SnapshotList {
    /// The 200 newest snapshots, newest first.
    pub items: Vec<SnapshotSummary>,
}

/// `GET /api/v1/dispatch`: the snapshots, newest first, with their totals.
#[utoipa::path(get, path = "/api/v1/dispatch", operation_id = "list_dispatch_reports", tag = "reports", responses((status = 200, description = "The weekly snapshots, newest first, with their totals", body = SnapshotList)))]
#[tracing::instrument(skip_all, fields(user = %caller.name))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<SnapshotList>, ApiError> {
    caller.require(&READERS, "read dispatch reports")?;
    let mut tx = state.begin_for(&caller).await?;
    let counties = caller.county_filter();
    let totals = store::snapshot_totals(&mut tx, counties.as_deref()).await?;
    Ok(Json(SnapshotList {
        items: totals.into_iter().map(SnapshotSummary::from).collect(),
    }))
}

/// One line of a report: a county and stage, or a county's total (`stage` absent).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportLine {
    /// County code.
    pub county_code: String,
    /// County name.
    pub county_name: String,
    /// The stage; `None` on a county's total line.
    pub stage: Option<Stage>,
    /// The counts.
    #[serde(flatten)]
    pub counts: DispatchCounts,
    /// Of the still-open items, those on the green channel.
    pub green_open: u32,
    /// `green_open / still_open`, absent when nothing is open.
    pub green_share: Option<f64>,
    /// No overdue item.
    pub cleared_to_zero: bool,
}

impl ReportLine {
    /// A line of `counts`, with the green share the domain computed for it.
    fn new(
        county_code: &str,
        county_name: String,
        stage: Option<Stage>,
        counts: DispatchCounts,
        green_open: u32,
        green_share: Option<f64>,
    ) -> Self {
        Self {
            county_code: county_code.to_owned(),
            county_name,
            stage,
            counts,
            green_open,
            green_share,
            cleared_to_zero: counts.cleared_to_zero(),
        }
    }
}

/// A stored snapshot as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DispatchReport {
    /// Id.
    pub id: Uuid,
    /// The week counted starts here.
    pub period_start: DateTime<Utc>,
    /// The scheduled instant the snapshot describes.
    pub period_end: DateTime<Utc>,
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
    /// One line per county and stage with anything to report.
    pub rows: Vec<ReportLine>,
    /// One line per county (all the caller sees, even those with nothing open).
    pub counties: Vec<ReportLine>,
}

/// Loads a snapshot with the rows of the counties the caller sees.
///
/// # Errors
/// 404 when there is no such snapshot; database failures.
pub async fn load_report(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<DispatchReport, ApiError> {
    let head = store::snapshot_head(conn, id)
        .await?
        .ok_or(ApiError::NotFound("dispatch snapshot"))?;
    let filter = caller.county_filter();
    let stored = store::snapshot_rows(conn, id, filter.as_deref()).await?;
    let counties = store::county_names(conn, filter.as_deref()).await?;
    let mut rows = Vec::with_capacity(stored.len());
    for row in stored {
        let stage = Stage::parse(&row.stage).map_err(|e| ApiError::internal("reading a dispatch row", e))?;
        rows.push(DispatchRow {
            county_code: row.county_code,
            stage,
            counts: DispatchCounts {
                opened: uncount(row.opened),
                cleared: uncount(row.cleared),
                still_open: uncount(row.still_open),
                due_soon: uncount(row.due_soon),
                overdue: uncount(row.overdue),
            },
            green_open: uncount(row.green_open),
        });
    }
    rows.sort_by(|a, b| (&a.county_code, a.stage).cmp(&(&b.county_code, b.stage)));
    let name_of = |code: &str| {
        counties
            .iter()
            .find(|c| c.code == code)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let totals = county_totals(&rows, counties.iter().map(|c| c.code.as_str()));
    Ok(DispatchReport {
        id,
        period_start: head.period_start,
        period_end: head.period_end,
        taken_at: head.taken_at,
        rows: rows
            .iter()
            .map(|r| {
                let name = name_of(&r.county_code);
                ReportLine::new(
                    &r.county_code,
                    name,
                    Some(r.stage),
                    r.counts,
                    r.green_open,
                    r.green_share(),
                )
            })
            .collect(),
        counties: totals
            .iter()
            .map(|t| {
                let name = name_of(&t.county_code);
                ReportLine::new(
                    &t.county_code,
                    name,
                    None,
                    t.counts,
                    t.green_open,
                    t.green_share(),
                )
            })
            .collect(),
    })
}

/// The formats a report is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `application/json`.
    Json,
    /// `text/csv` (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese names).
    Csv,
    /// An .xlsx workbook.
    Xlsx,
}

/// Query parameters of `GET /api/v1/dispatch/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `json`, `csv` or `xlsx`; overrides `Accept`.
    #[param(pattern = "^(json|csv|xlsx)$")]
    pub format: Option<String>,
}

/// The format asked for by `?format=`, else by `Accept`, else JSON.
///
/// # Errors
/// 422 for an unknown `format`.
pub fn negotiate(format: Option<&str>, headers: &HeaderMap) -> Result<ReportFormat, ApiError> {
    match format {
        Some("json") => return Ok(ReportFormat::Json),
        Some("csv") => return Ok(ReportFormat::Csv),
        Some("xlsx") => return Ok(ReportFormat::Xlsx),
        Some(other) => {
            return Err(ApiError::invalid(
                "invalid-parameter",
                "format",
                format!("format must be json, csv or xlsx, not {other:?}"),
            ))
        }
        None => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(if accept.contains(XLSX) {
        ReportFormat::Xlsx
    } else if accept.contains("text/csv") {
        ReportFormat::Csv
    } else {
        ReportFormat::Json
    })
}

/// `GET /api/v1/dispatch/{id}`: one snapshot as JSON, CSV or .xlsx.
#[utoipa::path(get, path = "/api/v1/dispatch/{id}", operation_id = "get_dispatch_report", tag = "reports", params(("id" = Uuid, Path, description = "The snapshot id"), ReportQuery), responses((status = 200, description = "One snapshot", content((DispatchReport = "application/json"), (String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))))]
#[tracing::instrument(skip_all, fields(user = %caller.name, %id))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Query(query): Query<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(&READERS, "read dispatch reports")?;
    let format = negotiate(query.format.as_deref(), &headers)?;
    let mut conn = state.begin_for(&caller).await?;
    let report = load_report(&mut conn, &caller, id).await?;
    let stem = format!(
        "dispatch-{}",
        report.period_end.with_timezone(&BUREAU_OFFSET).format("%Y-%m-%d")
    );
    let attachment = |ext: &str| {
        HeaderValue::from_str(&format!("attachment; filename=\"{stem}.{ext}\""))
            .unwrap_or(HeaderValue::from_static("attachment"))
    };
    Ok(match format {
        ReportFormat::Json => Json(report).into_response(),
        ReportFormat::Csv => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (header::CONTENT_DISPOSITION, attachment("csv")),
            ],
            to_csv(&report).map_err(|e| ApiError::internal("writing the CSV", e))?,
        )
            .into_response(),
        ReportFormat::Xlsx => {
            let bytes = to_xlsx(&report).map_err(|e| ApiError::internal("writing the spreadsheet", e))?;
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(XLSX)),
                    (header::CONTENT_DISPOSITION, attachment("xlsx")),
                ],
                bytes,
            )
                .into_response()
        }
    })
}

/// The lines in reading order: each county's stage lines, then its total line.
fn lines(report: &DispatchReport) -> Vec<&ReportLine> {
    let mut out = Vec::with_capacity(report.rows.len() + report.counties.len());
    for county in &report.counties {
        out.extend(report.rows.iter().filter(|r| r.county_code == county.county_code));
        out.push(county);
    }
    out
}

fn local(instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&BUREAU_OFFSET)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The report as CSV: a header, then each county's stage lines and its total line (`stage`
/// is `all` there). Times are Asia/Shanghai.
///
/// # Errors
/// What the CSV writer reports (nothing, writing to memory).
pub fn to_csv(report: &DispatchReport) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    out.write_record([
        "period_start",
        "period_end",
        "county_code",
        "county_name",
        "stage",
        "opened",
        "cleared",
        "still_open",
        "due_soon",
        "overdue",
        "green_open",
        "green_share",
        "cleared_to_zero",
    ])?;
    let (start, end) = (local(report.period_start), local(report.period_end));
    for line in lines(report) {
        let c = &line.counts;
        out.write_record([
            start.clone(),
            end.clone(),
            line.county_code.clone(),
            line.county_name.clone(),
            line.stage.map_or("all", Stage::code).to_owned(),
            c.opened.to_string(),
            c.cleared.to_string(),
            c.still_open.to_string(),
            c.due_soon.to_string(),
            c.overdue.to_string(),
            line.green_open.to_string(),
            line.green_share.map(|s| format!("{s:.4}")).unwrap_or_default(),
            line.cleared_to_zero.to_string(),
        ])?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// The column headings of the spreadsheet, in the office's words.
pub const XLSX_HEADINGS: [&str; 11] = [
    "县（市、区）代码",
    "县（市、区）",
    "阶段",
    "本周新增",
    "本周销号",
    "在办",
    "即将到期",
    "逾期",
    "绿色通道在办",
    "绿色通道占比",
    "清零",
];

/// The report as an .xlsx workbook: sheet 调度 with each county's stage lines and its total
/// (合计) line, and sheet 清零 with one line per county.
///
/// # Errors
/// When the writer fails.
pub fn to_xlsx(report: &DispatchReport) -> Result<Vec<u8>, TimerError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let title = format!(
        "三周清零调度表  {} 至 {}（北京时间）",
        local(report.period_start),
        local(report.period_end)
    );
    let sheet = workbook.add_worksheet();
    sheet.set_name("调度")?;
    sheet.write_string_with_format(0, 0, &title, &bold)?;
    for (col, heading) in (0u16..).zip(XLSX_HEADINGS) {
        sheet.write_string_with_format(2, col, heading, &bold)?;
    }
    sheet.set_column_width(1, 14)?;
    sheet.set_column_width(2, 18)?;
    for (row, line) in (3u32..).zip(lines(report)) {
        let c = &line.counts;
        sheet.write_string(row, 0, &line.county_code)?;
        sheet.write_string(row, 1, &line.county_name)?;
        sheet.write_string(row, 2, line.stage.map_or("合计", Stage::name_zh))?;
        for (col, n) in (3u16..).zip([
            c.opened,
            c.cleared,
            c.still_open,
            c.due_soon,
            c.overdue,
            line.green_open,
        ]) {
            sheet.write_number(row, col, f64::from(n))?;
        }
        if let Some(share) = line.green_share {
            sheet.write_number_with_format(row, 9, share, &percent)?;
        }
        sheet.write_string(row, 10, if line.cleared_to_zero { "是" } else { "否" })?;
    }
    let summary = workbook.add_worksheet();
    summary.set_name("清零")?;
    summary.write_string_with_format(0, 0, &title, &bold)?;
    for (col, heading) in (0u16..).zip([
        "县（市、区）代码",
        "县（市、区）",
        "在办",
        "即将到期",
        "逾期",
        "清零",
    ]) {
        summary.write_string_with_format(2, col, heading, &bold)?;
    }
    summary.set_column_width(1, 14)?;
    for (row, county) in (3u32..).zip(&report.counties) {
        let c = &county.counts;
        summary.write_string(row, 0, &county.county_code)?;
        summary.write_string(row, 1, &county.county_name)?;
        for (col, n) in (2u16..).zip([c.still_open, c.due_soon, c.overdue]) {
            summary.write_number(row, col, f64::from(n))?;
        }
        summary.write_string(row, 5, if county.cleared_to_zero { "是" } else { "否" })?;
    }
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(county: &str, stage: Option<Stage>, overdue: u32) -> ReportLine {
        ReportLine {
            county_code: county.to_owned(),
            county_name: "汉滨区".to_owned(),
            stage,
            counts: DispatchCounts {
                opened: 2,
                cleared: 1,
                still_open: 2,
                due_soon: 0,
                overdue,
            },
            green_open: 1,
            green_share: Some(0.5),
            cleared_to_zero: overdue == 0,
        }
    }

    #[test]
    fn the_csv_lists_each_countys_stages_then_its_total() {
        let at = DateTime::parse_from_rfc3339("2026-03-09T09:00:00+08:00")
            .unwrap()
            .to_utc();
        let report = DispatchReport {
            id: Uuid::nil(),
            period_start: at - chrono::TimeDelta::days(7),
            period_end: at,
            taken_at: at,
            rows: vec![line("610902", Some(Stage::Accepted), 1)],
            counties: vec![line("610902", None, 1), line("610921", None, 0)],
        };
        let csv = String::from_utf8(to_csv(&report).unwrap()).unwrap();
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[1].starts_with(
            "2026-03-02 09:00,2026-03-09 09:00,610902,汉滨区,accepted,2,1,2,0,1,1,0.5000,false"
        ));
        assert!(lines[2].contains(",all,"));
        assert!(lines[3].ends_with(",true"));
    }

    #[test]
    fn a_name_with_a_comma_a_quote_and_a_newline_reads_back_whole() {
        let at = DateTime::parse_from_rfc3339("2026-03-09T09:00:00+08:00")
            .unwrap()
            .to_utc();
        let mut county = line("610902", None, 0);
        county.county_name = "汉滨,\"新\"\n区".to_owned();
        let report = DispatchReport {
            id: Uuid::nil(),
            period_start: at,
            period_end: at,
            taken_at: at,
            rows: vec![],
            counties: vec![county],
        };
        let bytes = to_csv(&report).unwrap();
        let mut reader = csv::Reader::from_reader(&bytes[3..]);
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[3], "汉滨,\"新\"\n区");
        assert_eq!(record.len(), 13);
    }

    #[test]
    fn a_format_is_chosen_by_parameter_then_by_accept() {
        let mut headers = HeaderMap::new();
        assert_eq!(negotiate(None, &headers).unwrap(), ReportFormat::Json);
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/csv"));
        assert_eq!(negotiate(None, &headers).unwrap(), ReportFormat::Csv);
        assert_eq!(negotiate(Some("xlsx"), &headers).unwrap(), ReportFormat::Xlsx);
        assert!(negotiate(Some("pdf"), &headers).is_err());
    }
}
