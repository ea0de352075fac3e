//! `GET /api/v1/cases/{id}/checks/{check_id}/report.pdf`: the check report (审查报告), A4, in
//! Chinese, compiled by the `landuse-report` crate.
//!
//! The handler reads everything in one scoped transaction (so another county's case is 404),
//! then hands plain data to a blocking thread behind a semaphore: projecting to the parcels'
//! Gauss–Krüger zone (PROJ handles are not `Send`, so they are made there), drawing the map
//! and compiling take CPU, not I/O, and never run on the async workers. The fonts are read once,
//! when the first report is printed.

use std::{path::PathBuf, sync::Arc};

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Extension,
};
use chrono::{Datelike, Timelike};
use geo_types::{Geometry, MultiPolygon};
use landuse_domain::check::LayerResult;
use landuse_report::{
    map::{MapInput, Shape},
    model::{
        ApprovalRow, Area, CaseInfo, CheckInfo, HitRow, LegendEntry, MissingRow, RecordRow, ReportTime,
        RuleRow, VersionRow,
    },
    Renderer, Report,
};
use landuse_spatial::{
    area::AreaFigures,
    crs::{GkZone, Srid, Transformer},
    wkb_io,
};
use tokio::sync::{OnceCell, Semaphore};
use uuid::Uuid;

use super::desk::{self, Desk};
use crate::{
    app::AppState,
    auth::Caller,
    config::ReviewArgs,
    http::error::ApiError,
    reads::ReadHint,
    store::review::{self as store, DocumentEvent},
};

/// The most control features drawn around the parcels.
const MAX_FEATURES: i64 = 4000;

/// Prints reports: the fonts (read on first use), and a semaphore so that at most the configured
/// number compile at once.
pub struct Printer {
    font_dir: PathBuf,
    renderer: OnceCell<Arc<Renderer>>,
    permits: Semaphore,
}

impl Printer {
    /// A printer for the configured font folder and concurrency.
    pub fn new(args: &ReviewArgs) -> Self {
        Self {
            font_dir: args.font_dir.clone(),
            renderer: OnceCell::new(),
            permits: Semaphore::new(args.report_concurrency.max(1)),
        }
    }

    async fn renderer(&self) -> Result<Arc<Renderer>, ApiError> {
        self.renderer
            .get_or_try_init(|| async {
                let dir = self.font_dir.clone();
                let loaded = tokio::task::spawn_blocking(move || Renderer::load(&dir))
                    .await
                    .map_err(|e| ApiError::internal("loading the report fonts", e))?;
                loaded
                    .map(Arc::new)
                    .map_err(|e| ApiError::internal("loading the report fonts", e))
            })
            .await
            .cloned()
    }

    /// Projects, draws and compiles `source` on a blocking thread, waiting for a permit first.
    ///
    /// # Errors
    /// Fonts missing, a projection or the compiler failing (500, logged).
    pub async fn print(&self, source: ReportSource) -> Result<Vec<u8>, ApiError> {
        let renderer = self.renderer().await?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::internal("waiting for a report slot", e))?;
        tokio::task::spawn_blocking(move || {
            let report = source.into_report()?;
            renderer
                .render(&report)
                .map_err(|e| ApiError::internal("compiling the check report", e))
        })
        .await
        .map_err(|e| ApiError::internal("compiling the check report", e))?
    }
}

/// `GET /api/v1/cases/{id}/checks/{check_id}/report.pdf`: the check's report as a PDF; the same
/// check prints the same bytes (its date is the check's time).
#[utoipa::path(
    get,
    path = "/cases/{id}/checks/{check_id}/report.pdf",
    tag = "checks",
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("check_id" = Uuid, Path, description = "The check id"),
    ),
    responses((
        status = 200,
        description = "The check report (审查报告): A4, PDF/A-2b, fonts embedded",
        content_type = "application/pdf",
        body = PdfDocument,
    ), (
        status = 409,
        description = "The case has no parcels to draw (type `no-parcels`): upload them first",
    ))
)]
#[tracing::instrument(skip_all, fields(case = %id, check = %check_id))]
pub async fn report_pdf(
    State(state): State<AppState>,
    Extension(printer): Extension<Arc<Printer>>,
    caller: Caller,
    hint: ReadHint,
    Path((id, check_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let source = ReportSource::load(&state, &caller, &hint, id, check_id).await?;
    let pdf = printer.print(source).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("inline; filename=\"check-report-{check_id}.pdf\""))
                    .map_err(|e| ApiError::internal("naming the report", e))?,
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        pdf,
    )
        .into_response())
}

/// A PDF document, as the OpenAPI document describes the report's body: binary, not JSON.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfDocument(pub Vec<u8>);

/// Everything a report prints, read from the database: plain data that can cross to a blocking
/// thread.
pub struct ReportSource {
    report: Report,
    parcels: Vec<MultiPolygon<f64>>,
    overlaps: Vec<(String, bool, Geometry<f64>)>,
    features: Vec<(String, Geometry<f64>)>,
}

impl ReportSource {
    /// Reads check `check_id` of case `id` as `caller` sees it.
    ///
    /// # Errors
    /// 404 for a case the caller may not see or a check not of it; database failures.
    pub async fn load(
        state: &AppState,
        caller: &Caller,
        hint: &ReadHint,
        id: Uuid,
        check_id: Uuid,
    ) -> Result<Self, ApiError> {
        let now = state.clock.now();
        let mut tx = state.read_for(caller, hint).await?;
        let desk = Desk::load(&mut tx, caller, id, Some(check_id), now).await?;
        let Some(check) = &desk.check else {
            return Err(ApiError::NotFound("check"));
        };
        let version_ids: Vec<Uuid> = check
            .layers
            .iter()
            .flat_map(|l| l.versions.iter().map(|v| v.id))
            .collect();
        let versions = store::versions(&mut tx, &version_ids).await?;
        let documents = store::documents(&mut tx, id).await?;
        let parcels = desk
            .parcels
            .iter()
            .map(|p| {
                wkb_io::from_wkb(&p.wkb)
                    .map(wkb_io::polygons_of)
                    .map_err(|e| ApiError::internal("reading a parcel", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bbox = around(&parcels).ok_or_else(|| {
            ApiError::conflict("no-parcels", "the case has no parcels to draw; upload them first")
        })?;
        let features = store::features_around(&mut tx, &version_ids, bbox.0, bbox.1, MAX_FEATURES).await?;
        drop(tx);
        let features = features
            .into_iter()
            .filter_map(|f| Some((f.kind, wkb_io::from_wkb(&f.wkb).ok()?)))
            .collect();
        let overlaps = check
            .hits
            .iter()
            .filter_map(|h| {
                let geometry = wkb_io::from_wkb(h.wkb.as_deref()?).ok()?;
                Some((h.layer_kind.clone(), h.dismissed_at.is_some(), geometry))
            })
            .collect();
        let report = words(&desk, check, &versions, &documents);
        Ok(Self {
            report,
            parcels,
            overlaps,
            features,
        })
    }

    /// Projects the geometries to the parcels' Gauss–Krüger zone and completes the report.
    ///
    /// # Errors
    /// A geometry PROJ cannot project (500).
    pub fn into_report(self) -> Result<Report, ApiError> {
        let Self {
            mut report,
            parcels,
            overlaps,
            features,
        } = self;
        let centre = parcels
            .iter()
            .flat_map(|mp| mp.0.iter())
            .find_map(|p| p.exterior().0.first())
            .ok_or_else(|| ApiError::internal("drawing the map", anyhow::anyhow!("no parcel")))?;
        let zone =
            GkZone::for_longitude(centre.x).map_err(|e| ApiError::internal("choosing the map's zone", e))?;
        let srid = zone.srid(false);
        let to_plane = Transformer::new(Srid::CGCS2000, srid)
            .map_err(|e| ApiError::internal("projecting the map", e))?;
        let project = |g: &Geometry<f64>| -> Option<Geometry<f64>> {
            match g {
                Geometry::Point(p) => to_plane.point(*p).ok().map(Geometry::Point),
                other => to_plane
                    .multi_polygon(&wkb_io::polygons_of(other.clone()))
                    .ok()
                    .map(Geometry::MultiPolygon),
            }
        };
        let parcels = parcels
            .iter()
            .map(|mp| to_plane.multi_polygon(mp))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal("projecting the parcels", e))?;
        report.map = MapInput {
            crs: format!(
                "CGCS2000 3 度带高斯-克吕格投影，第 {} 带（EPSG:{}，中央经线 {}°E）",
                zone.number(),
                srid.code(),
                zone.central_meridian()
            ),
            parcels,
            overlaps: overlaps
                .iter()
                .filter_map(|(kind, dismissed, g)| {
                    Some(Shape {
                        kind: kind.clone(),
                        dismissed: *dismissed,
                        geometry: project(g)?,
                    })
                })
                .collect(),
            features: features
                .iter()
                .filter_map(|(kind, g)| {
                    Some(Shape {
                        kind: kind.clone(),
                        dismissed: false,
                        geometry: project(g)?,
                    })
                })
                .collect(),
        };
        let mut legend = vec![LegendEntry {
            label: "申请地块".to_owned(),
            colour: "#000000".to_owned(),
            style: "outline".to_owned(),
        }];
        for rule in &report.rules {
            let drawn = |dismissed: bool| {
                report
                    .map
                    .overlaps
                    .iter()
                    .any(|s| s.kind == rule.kind && s.dismissed == dismissed)
            };
            if drawn(false) {
                legend.push(entry(format!("{}（压占）", rule.name), &rule.colour, "fill"));
            }
            if report.map.features.iter().any(|s| s.kind == rule.kind) {
                legend.push(entry(rule.name.clone(), &rule.colour, "tint"));
            }
            if drawn(true) {
                legend.push(entry(format!("{}（已排除）", rule.name), &rule.colour, "dashed"));
            }
        }
        report.legend = legend;
        Ok(report)
    }
}

fn entry(label: String, colour: &str, style: &str) -> LegendEntry {
    LegendEntry {
        label,
        colour: colour.to_owned(),
        style: style.to_owned(),
    }
}

/// A lon/lat box around the parcels wide enough for the map's frame (which keeps a margin and
/// the map's proportions), and a simplification tolerance of about a fifth of a millimetre on
/// the printed map, both in degrees.
fn around(parcels: &[MultiPolygon<f64>]) -> Option<([f64; 4], f64)> {
    let coords: Vec<_> = parcels
        .iter()
        .flat_map(|mp| mp.0.iter())
        .flat_map(|p| p.exterior().0.iter())
        .collect();
    let first = coords.first()?;
    let (mut w, mut s, mut e, mut n) = (first.x, first.y, first.x, first.y);
    for c in &coords {
        w = w.min(c.x);
        e = e.max(c.x);
        s = s.min(c.y);
        n = n.max(c.y);
    }
    let size = (e - w).max(n - s);
    let half = size * 1.2 + 0.0015;
    let (cx, cy) = (f64::midpoint(w, e), f64::midpoint(s, n));
    // A degree of longitude is shorter than one of latitude away from the equator.
    let half_lon = half * 1.8;
    Some((
        [cx - half_lon, cy - half, cx + half_lon, cy + half],
        (size * 1.5 + 0.002) / 120.0 * 0.2,
    ))
}

fn area(figures: &AreaFigures) -> Area {
    Area {
        m2: desk::m2(figures),
        mu: desk::mu(figures),
        ha: desk::ha(figures),
    }
}

/// The report's words and figures: everything but the map.
fn words(
    desk: &Desk,
    check: &desk::CheckDesk,
    versions: &[store::VersionRow],
    documents: &[DocumentEvent],
) -> Report {
    let row = &check.row;
    let result = LayerResult::ALL
        .iter()
        .copied()
        .find(|r| r.code() == row.result)
        .unwrap_or(check.verdict.result);
    let note = if row.stale {
        "地块在本次核查后已变更，本核查已失效，应重新核查。"
    } else if row.confirmed_at.is_none() {
        "本核查尚未确认。"
    } else {
        ""
    };
    let rules = rule_rows(desk);
    let green = match desk.green.basis() {
        Some(landuse_domain::green::GreenBasis::KeyProject) => "是（重点项目）",
        Some(landuse_domain::green::GreenBasis::LeaderGrant) => "是（局领导批准）",
        None => "否",
    };
    let parcels = desk
        .parcels
        .iter()
        .map(|p| {
            if p.name.is_empty() {
                format!("地块{}", p.seq + 1)
            } else {
                p.name.clone()
            }
        })
        .collect::<Vec<_>>();
    let run_at = row.run_at;
    Report {
        check_id: row.id.to_string(),
        created: ReportTime {
            year: run_at.year(),
            month: run_at.month() as u8,
            day: run_at.day() as u8,
            hour: run_at.hour() as u8,
            minute: run_at.minute() as u8,
            second: run_at.second() as u8,
        },
        case: CaseInfo {
            id: desk.case.id.to_string(),
            number: desk.number(),
            title: desk.case.title.clone(),
            project: desk.case.project_name.clone(),
            county: format!("{} {}", desk.case.county_code, desk.case.county_name),
            stage: desk.state.stage().name_zh().to_owned(),
            green: green.to_owned(),
            parcels: format!("{} 个：{}", parcels.len(), parcels.join("、")),
        },
        check: CheckInfo {
            result: result.name_zh().to_owned(),
            result_code: result.code().to_owned(),
            run_at: desk::local_time(row.run_at),
            run_by: row.run_by.clone().unwrap_or_else(|| "—".to_owned()),
            confirmed_at: row
                .confirmed_at
                .map_or_else(|| "未确认".to_owned(), desk::local_time),
            confirmed_by: row.confirmed_by.clone().unwrap_or_else(|| "—".to_owned()),
            note: note.to_owned(),
        },
        case_area: area(&desk.area()),
        rules,
        approvals: approvals(documents),
        records: record_rows(desk),
        missing: missing_rows(desk),
        versions: versions
            .iter()
            .map(|v| VersionRow {
                layer: desk.name_of(&v.kind),
                jurisdiction: v.jurisdiction.clone(),
                version: format!("v{}", v.version_no),
                source: v.source_name.clone(),
                imported_at: desk::local_time(v.imported_at),
            })
            .collect(),
        legend: Vec::new(),
        map: MapInput::default(),
    }
}

/// A row per rule of the check, with its touched features and dismissals.
fn rule_rows(desk: &Desk) -> Vec<RuleRow> {
    desk.rules()
        .into_iter()
        .map(|rule| RuleRow {
            kind: rule.kind.code().to_owned(),
            name: rule.name.clone(),
            colour: rule.colour.to_owned(),
            versions: if rule.versions.is_empty() {
                "—".to_owned()
            } else {
                rule.versions.join("、")
            },
            result: rule.result.name_zh().to_owned(),
            result_code: rule.result.code().to_owned(),
            area: area(&rule.counted),
            share: desk::percent(rule.share),
            hits: rule
                .hits
                .iter()
                .map(|hit| HitRow {
                    feature: hit.feature.clone(),
                    area: area(&hit.overlap),
                    share: desk::percent(hit.share),
                    class: hit.class.name_zh().to_owned(),
                    dismissal: hit.dismissal.as_ref().map_or_else(String::new, |d| {
                        format!("{}（{}）：{}", d.by, desk::local_time(d.at), d.reason)
                    }),
                })
                .collect(),
        })
        .collect()
}

/// The approval records the case's checks called for, in words, in the order recorded.
pub fn record_rows(desk: &Desk) -> Vec<RecordRow> {
    desk.approvals
        .records
        .iter()
        .map(|r| RecordRow {
            kind: r.kind.name_zh().to_owned(),
            document_number: r.document_number.clone(),
            authority: r.authority.clone(),
            decided_on: r.decided_on.to_string(),
            conclusion: r.conclusion.clone().unwrap_or_else(|| "—".to_owned()),
            answers: r
                .answers
                .iter()
                .map(|f| format!("{} {}", desk.name_of(f.layer.code()), f.feature))
                .collect::<Vec<_>>()
                .join("、"),
            status: match r.lapsed {
                Some(true) => "已失效",
                Some(false) => "有效",
                None => "—",
            }
            .to_owned(),
        })
        .collect()
}

/// The records the latest confirmed check still calls for, in words.
pub fn missing_rows(desk: &Desk) -> Vec<MissingRow> {
    desk.approvals
        .missing
        .iter()
        .map(|m| MissingRow {
            kind: m.kind.name_zh().to_owned(),
            layer: desk.name_of(m.feature.layer.code()),
            feature: m.feature.feature.clone(),
            blocks: format!("{} → {}", m.before_from.name_zh(), m.before_to.name_zh()),
        })
        .collect()
}

/// The documents recorded on the case, one row each, in the order they were recorded.
fn approvals(documents: &[DocumentEvent]) -> Vec<ApprovalRow> {
    let mut rows = Vec::new();
    for event in documents {
        let Some(fields) = event.data.as_object() else {
            continue;
        };
        for (key, value) in fields {
            let kind = match key.as_str() {
                "pre_review_opinion" => "用地预审与选址意见书",
                "conversion_approval" => "农用地转用和土地征收批准文件",
                "supply_decision" => "供地决定",
                "certificate_number" => "不动产权证书",
                _ => continue,
            };
            let document = match value {
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Object(decision) => supply_words(decision),
                other => other.to_string(),
            };
            rows.push(ApprovalRow {
                kind: kind.to_owned(),
                document,
                by: event.actor.clone().unwrap_or_else(|| "—".to_owned()),
                at: desk::local_time(event.at),
            });
        }
    }
    rows
}

fn supply_words(decision: &serde_json::Map<String, serde_json::Value>) -> String {
    let method = match decision.get("method").and_then(serde_json::Value::as_str) {
        Some("allocation") => "划拨",
        Some("tender") => "招标出让",
        Some("auction") => "拍卖出让",
        Some("listing") => "挂牌出让",
        Some("agreement") => "协议出让",
        Some("lease") => "租赁",
        Some("capital") => "作价出资",
        Some(other) => other,
        None => "—",
    };
    let industrial = decision
        .get("industrial")
        .and_then(serde_json::Value::as_bool)
        .is_some_and(|b| b);
    format!(
        "供地方式：{method}{}",
        if industrial { "（工业用地）" } else { "" }
    )
}
