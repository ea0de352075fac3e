//! What a check report shows, already put into words and figures: the template lays it out and
//! decides nothing. Every text is Chinese first, every figure already formatted, so the same
//! report gives the same bytes whatever the machine's locale.

use serde::Serialize;

use crate::map::MapInput;

/// One check report (审查报告): the case, the check, a row per rule, the touched features,
/// dismissals and recorded approvals, the layer versions used, and the map.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The check's id: the report's number, and the seed of the PDF's document id.
    pub check_id: String,
    /// When the check ran (UTC): the document's date, so the same check prints the same bytes.
    pub created: ReportTime,
    /// The case and its project.
    pub case: CaseInfo,
    /// Who ran and confirmed the check, when, and its result.
    pub check: CheckInfo,
    /// The area of the case's parcels.
    pub case_area: Area,
    /// One row per rule (control layer), in the domain's order.
    pub rules: Vec<RuleRow>,
    /// Documents recorded on the case (opinion, approval, supply decision, certificate).
    pub approvals: Vec<ApprovalRow>,
    /// The approval records the case's checks called for (审批意见), in the order recorded.
    pub records: Vec<RecordRow>,
    /// The records the latest confirmed check still calls for and nobody has recorded.
    pub missing: Vec<MissingRow>,
    /// Every layer version the check used.
    pub versions: Vec<VersionRow>,
    /// The map's legend: one entry per rule drawn, in drawing order.
    pub legend: Vec<LegendEntry>,
    /// The map (not serialised: drawn as SVG beside the data).
    #[serde(skip)]
    pub map: MapInput,
}

/// A UTC instant, as the PDF's creation date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportTime {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59.
    pub second: u8,
}

/// The case and its project.
#[derive(Debug, Clone, Serialize)]
pub struct CaseInfo {
    /// The case's id.
    pub id: String,
    /// The case's number as people quote it (the first block of its id, upper case).
    pub number: String,
    /// The case's title.
    pub title: String,
    /// The project's name.
    pub project: String,
    /// The county, code and name.
    pub county: String,
    /// The stage, in Chinese.
    pub stage: String,
    /// 是 / 否, with the basis.
    pub green: String,
    /// The parcels: count and names.
    pub parcels: String,
}

/// Who ran and confirmed the check, and its result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckInfo {
    /// The case's result after dismissals, in Chinese.
    pub result: String,
    /// The result's code (`prohibited`, …).
    pub result_code: String,
    /// When it ran, Asia/Shanghai.
    pub run_at: String,
    /// Who ran it.
    pub run_by: String,
    /// When it was confirmed, or a dash.
    pub confirmed_at: String,
    /// Who confirmed it, or a dash.
    pub confirmed_by: String,
    /// A note when the check is stale or unconfirmed, else empty.
    pub note: String,
}

/// An area in the three units the bureau uses.
#[derive(Debug, Clone, Serialize)]
pub struct Area {
    /// Square metres, 2 decimals.
    pub m2: String,
    /// Mu, 2 decimals.
    pub mu: String,
    /// Hectares, 4 decimals.
    pub ha: String,
}

/// One rule: a control layer's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRow {
    /// The layer's code.
    pub kind: String,
    /// The layer's Chinese name.
    pub name: String,
    /// Its colour on the map, `#rrggbb`.
    pub colour: String,
    /// The versions used, as `v3 (610900)`; a dash when not checked.
    pub versions: String,
    /// The verdict, in Chinese.
    pub result: String,
    /// The verdict's code.
    pub result_code: String,
    /// The counted overlap (slivers and dismissed hits left out).
    pub area: Area,
    /// The counted overlap's share of the case area, as a percentage.
    pub share: String,
    /// Every hit of the layer.
    pub hits: Vec<HitRow>,
}

/// One touched feature.
#[derive(Debug, Clone, Serialize)]
pub struct HitRow {
    /// The feature: its source id and telling attributes.
    pub feature: String,
    /// The overlap.
    pub area: Area,
    /// Its share of the parcel, as a percentage.
    pub share: String,
    /// 计入 / 碎片 / 已排除.
    pub class: String,
    /// The dismissal: who, when and why; empty when not dismissed.
    pub dismissal: String,
}

/// A document recorded on the case.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalRow {
    /// What kind of document, in Chinese.
    pub kind: String,
    /// Its number or content.
    pub document: String,
    /// Who recorded it.
    pub by: String,
    /// When, Asia/Shanghai.
    pub at: String,
}

/// An approval record a check called for (the State Council's approval, an authority's or a
/// review opinion, the use outside the urban boundary, the geohazard assessment).
#[derive(Debug, Clone, Serialize)]
pub struct RecordRow {
    /// Its kind, in Chinese.
    pub kind: String,
    /// The document's number (文号).
    pub document_number: String,
    /// The authority that decided.
    pub authority: String,
    /// The day of the decision, `2026-12-01`.
    pub decided_on: String,
    /// What it concluded, or a dash.
    pub conclusion: String,
    /// The features it answers: layer name and feature, joined.
    pub answers: String,
    /// 有效 / 已失效 (the latest check no longer hits what it answers), or a dash without a
    /// current check.
    pub status: String,
}

/// A record a hit of the latest confirmed check calls for and no record answers.
#[derive(Debug, Clone, Serialize)]
pub struct MissingRow {
    /// The kind missing, in Chinese.
    pub kind: String,
    /// The layer hit, in Chinese.
    pub layer: String,
    /// The feature hit.
    pub feature: String,
    /// The transition it blocks, in Chinese: `用地预审 → 农转用`.
    pub blocks: String,
}

/// A layer version the check used.
#[derive(Debug, Clone, Serialize)]
pub struct VersionRow {
    /// The layer's Chinese name.
    pub layer: String,
    /// The jurisdiction's code.
    pub jurisdiction: String,
    /// `v3`.
    pub version: String,
    /// The source file's name.
    pub source: String,
    /// When it was imported, Asia/Shanghai.
    pub imported_at: String,
}

/// One entry of the map's legend.
#[derive(Debug, Clone, Serialize)]
pub struct LegendEntry {
    /// What it shows.
    pub label: String,
    /// Its colour, `#rrggbb`.
    pub colour: String,
    /// `fill` (an overlap), `tint` (control features), `outline` (parcels) or `dashed`
    /// (dismissed overlaps).
    pub style: String,
}
