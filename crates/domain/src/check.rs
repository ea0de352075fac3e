//! Spatial-check verdicts from overlap figures.
//!
//! The spatial crate measures (how much of each parcel overlaps each feature of
//! each control layer); this module decides what the figures mean: which hits
//! are slivers, which were dismissed, the result per layer, and the case's
//! combined result, the worst of its layers.
//!
//! # Severity
//! [`LayerResult`] is ordered from least to most severe, and the combined
//! result is the maximum:
//!
//! `ok < not_checked < warning < needs_review < needs_offset <
//! needs_overlay_approval < outside_boundary < needs_approval <
//! needs_state_council_approval < prohibited`
//!
//! `not_checked` sits just above `ok`: a case with a layer that could not be
//! checked is never `ok`, yet a finding that is actually known (a needed
//! approval, a prohibition) is not hidden behind an unknown. The unchecked
//! layers are always listed in [`CheckVerdict::unchecked`], and the stage rules
//! refuse a check that has any (see [`crate::transition::Precondition::CheckPassed`]).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::project::{qualifies_for_state_council, OutsideBoundaryUse, ProjectLevel, ProjectSector};
use crate::reason::{Reason, ReasonError};
use crate::role::{Actor, Role};
use crate::units::SquareMetres;

/// A control layer a case is checked against.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LayerKind {
    /// 永久基本农田: permanent basic farmland.
    PermanentFarmland,
    /// 生态保护红线: ecological protection red line.
    EcologicalRedline,
    /// 城镇开发边界: urban development boundary.
    UrbanBoundary,
    /// 耕地: cultivated land from the land survey (DLBM 0101/0102/0103).
    CultivatedLand,
    /// 秦岭核心保护区: Qinling core protection zone.
    QinlingCore,
    /// 秦岭重点保护区: Qinling key protection zone.
    QinlingKey,
    /// 秦岭一般保护区: Qinling general protection zone.
    QinlingGeneral,
    /// 自然保护地核心区: nature-reserve core zone.
    NatureReserveCore,
    /// 自然保护地一般控制区: nature-reserve general zone.
    NatureReserveGeneral,
    /// 地质灾害隐患点: geological hazard sites (points buffered by a radius).
    Geohazard,
    /// 重要矿产资源: important mineral deposits.
    MineralDeposit,
    /// 压覆矿产白名单: areas where no overlay query is needed.
    MineralWhitelist,
    /// 现状建设用地: existing construction land from the land survey (三调 DLTB polygons of the
    /// construction classes). Not a restriction: the part of a case on it needs no new quota.
    ConstructionLand,
    /// 省级以上开发区: provincial-level development zones. Not a restriction: industrial land
    /// supplied inside one is held to the standard-land goal of 100% (`supply::standard`).
    DevelopmentZone,
}

/// The text is not one of the layer codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown layer kind {0:?}")]
pub struct UnknownLayerKind(pub String);

impl LayerKind {
    /// Every layer kind.
    pub const ALL: &'static [LayerKind] = <LayerKind as strum::VariantArray>::VARIANTS;

    /// Every layer kind, as a slice.
    pub fn all() -> &'static [LayerKind] {
        Self::ALL
    }

    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Whether a case's check is incomplete without this layer. Existing construction land only
    /// lowers the quota a case needs: a region without it needs quota for the whole area (the
    /// layer is reported `not_checked`, but the case's result and completeness ignore it).
    /// Development zones only set the standard-land goal of land supplied in them.
    pub fn required(self) -> bool {
        !matches!(self, LayerKind::ConstructionLand | LayerKind::DevelopmentZone)
    }

    /// Parses a layer code.
    ///
    /// # Errors
    /// [`UnknownLayerKind`] when `code` is not exactly one of the codes.
    pub fn parse(code: &str) -> Result<Self, UnknownLayerKind> {
        crate::code::parse(code).ok_or_else(|| UnknownLayerKind(code.to_owned()))
    }
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The text is not one of the layer result codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown layer result {0:?}")]
pub struct UnknownLayerResult(pub String);

/// The result of one layer, or of a whole case. Ordered by severity (see the
/// module docs); `max` is the worst-of combination.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum LayerResult {
    /// No counted overlap.
    Ok,
    /// The layer could not be checked (missing, or no current version).
    NotChecked,
    /// Near a geological hazard site.
    Warning,
    /// In a Qinling key/general zone or a nature-reserve general zone: needs review.
    NeedsReview,
    /// Takes cultivated land: needs farmland offset indicators.
    NeedsOffset,
    /// Covers important mineral deposits: needs overlay approval.
    NeedsOverlayApproval,
    /// Partly outside the urban development boundary, for a use allowed there.
    OutsideBoundary,
    /// In a red-line or core zone, for a declared activity on the allowed list.
    NeedsApproval,
    /// Takes permanent basic farmland for a qualifying project.
    NeedsStateCouncilApproval,
    /// Not allowed.
    Prohibited,
}

impl LayerResult {
    /// Parses a result code.
    ///
    /// # Errors
    /// [`UnknownLayerResult`] when `code` is not exactly one of the codes.
    pub fn parse(code: &str) -> Result<Self, UnknownLayerResult> {
        crate::code::parse(code).ok_or_else(|| UnknownLayerResult(code.to_owned()))
    }

    /// Every result, least severe first.
    pub const ALL: &'static [LayerResult] = <LayerResult as strum::VariantArray>::VARIANTS;

    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Severity rank, 0 for `ok` up to 9 for `prohibited`.
    pub fn severity(self) -> u8 {
        self as u8
    }

    /// The verdict in the words a review page and a signed report use.
    pub fn name_zh(self) -> &'static str {
        match self {
            LayerResult::Ok => "无压占",
            LayerResult::NotChecked => "未核查",
            LayerResult::Warning => "地质灾害预警",
            LayerResult::NeedsReview => "需论证审查",
            LayerResult::NeedsOffset => "需落实耕地占补平衡",
            LayerResult::NeedsOverlayApproval => "需办理压覆矿产审批",
            LayerResult::OutsideBoundary => "超出城镇开发边界",
            LayerResult::NeedsApproval => "需主管部门同意",
            LayerResult::NeedsStateCouncilApproval => "需报国务院批准",
            LayerResult::Prohibited => "禁止占用",
        }
    }
}

impl fmt::Display for LayerResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The worst of `results`; `ok` when there are none.
pub fn worst_of(results: impl IntoIterator<Item = LayerResult>) -> LayerResult {
    results.into_iter().max().unwrap_or(LayerResult::Ok)
}

/// The land class (地类编码, DLBM) of a cultivated-land polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Dlbm {
    /// 0101 水田: paddy field.
    Paddy,
    /// 0102 水浇地: irrigated land.
    Irrigated,
    /// 0103 旱地: dry land.
    Dry,
}

/// The text is not a cultivated-land DLBM code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a cultivated-land DLBM code (0101, 0102 or 0103)")]
pub struct UnknownDlbm(pub String);

impl Dlbm {
    /// The four-digit code.
    pub fn code(self) -> &'static str {
        match self {
            Dlbm::Paddy => "0101",
            Dlbm::Irrigated => "0102",
            Dlbm::Dry => "0103",
        }
    }

    /// Parses `0101`, `0102` or `0103`.
    ///
    /// # Errors
    /// [`UnknownDlbm`] for anything else.
    pub fn parse(code: &str) -> Result<Self, UnknownDlbm> {
        match code {
            "0101" => Ok(Dlbm::Paddy),
            "0102" => Ok(Dlbm::Irrigated),
            "0103" => Ok(Dlbm::Dry),
            other => Err(UnknownDlbm(other.to_owned())),
        }
    }
}

impl TryFrom<String> for Dlbm {
    type Error = UnknownDlbm;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        Self::parse(&code)
    }
}

impl From<Dlbm> for String {
    fn from(dlbm: Dlbm) -> Self {
        dlbm.code().to_owned()
    }
}

/// Why a sliver rule or verdict rules were refused.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum RulesError {
    /// The sliver area threshold is negative or not finite.
    #[error("a sliver area threshold must be a finite number of m² ≥ 0, got {0}")]
    SliverArea(f64),
    /// The sliver share threshold is outside `0..=1`.
    #[error("a sliver share threshold must be between 0 and 1, got {0}")]
    SliverShare(f64),
    /// The geohazard buffer radius is negative or not finite.
    #[error("the geohazard buffer radius must be a finite number of metres ≥ 0, got {0}")]
    BufferRadius(f64),
}

/// When a hit is a sliver: listed, but not counted.
///
/// A hit is a sliver when its overlap is under `max_area_m2`, or under
/// `max_share` of its parcel's area (both strict).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SliverRuleRepr", into = "SliverRuleRepr")]
pub struct SliverRule {
    max_area_m2: f64,
    max_share: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SliverRuleRepr {
    max_area_m2: f64,
    max_share: f64,
}

impl SliverRule {
    /// The default from `DOMAIN.md`: under 1 m² or under 0.01% of the parcel.
    pub const DEFAULT: SliverRule = SliverRule {
        max_area_m2: 1.0,
        max_share: 0.0001,
    };

    /// A rule with these thresholds.
    ///
    /// # Errors
    /// [`RulesError::SliverArea`] for a negative or non-finite area,
    /// [`RulesError::SliverShare`] for a share outside `0..=1`.
    pub fn new(max_area_m2: f64, max_share: f64) -> Result<Self, RulesError> {
        if !max_area_m2.is_finite() || max_area_m2 < 0.0 {
            return Err(RulesError::SliverArea(max_area_m2));
        }
        if !(0.0..=1.0).contains(&max_share) {
            return Err(RulesError::SliverShare(max_share));
        }
        Ok(Self {
            max_area_m2,
            max_share,
        })
    }

    /// Overlaps under this many m² are slivers.
    pub fn max_area_m2(&self) -> f64 {
        self.max_area_m2
    }

    /// Overlaps under this share of the parcel area are slivers.
    pub fn max_share(&self) -> f64 {
        self.max_share
    }

    /// Whether an overlap of `overlap` on a parcel of `parcel_area` is a sliver.
    pub fn is_sliver(&self, overlap: SquareMetres, parcel_area: SquareMetres) -> bool {
        overlap.value() < self.max_area_m2 || overlap.value() < self.max_share * parcel_area.value()
    }
}

impl Default for SliverRule {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<SliverRuleRepr> for SliverRule {
    type Error = RulesError;

    fn try_from(repr: SliverRuleRepr) -> Result<Self, Self::Error> {
        Self::new(repr.max_area_m2, repr.max_share)
    }
}

impl From<SliverRule> for SliverRuleRepr {
    fn from(rule: SliverRule) -> Self {
        Self {
            max_area_m2: rule.max_area_m2,
            max_share: rule.max_share,
        }
    }
}

/// The configurable numbers of the verdicts: sliver rules per layer (the
/// default for layers not listed) and the geohazard buffer radius.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "VerdictRulesRepr", into = "VerdictRulesRepr")]
pub struct VerdictRules {
    default_sliver: SliverRule,
    slivers: BTreeMap<LayerKind, SliverRule>,
    geohazard_buffer_m: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictRulesRepr {
    #[serde(default)]
    default_sliver: SliverRule,
    #[serde(default)]
    slivers: BTreeMap<LayerKind, SliverRule>,
    #[serde(default = "default_buffer")]
    geohazard_buffer_m: f64,
}

fn default_buffer() -> f64 {
    VerdictRules::DEFAULT_GEOHAZARD_BUFFER_M
}

impl VerdictRules {
    /// The default geohazard buffer radius: 200 m.
    pub const DEFAULT_GEOHAZARD_BUFFER_M: f64 = 200.0;

    /// These rules with `rule` for `kind`.
    #[must_use]
    pub fn with_sliver_rule(mut self, kind: LayerKind, rule: SliverRule) -> Self {
        self.slivers.insert(kind, rule);
        self
    }

    /// These rules with a geohazard buffer radius of `metres`.
    ///
    /// # Errors
    /// [`RulesError::BufferRadius`] for a negative or non-finite radius.
    pub fn with_geohazard_buffer(mut self, metres: f64) -> Result<Self, RulesError> {
        if !metres.is_finite() || metres < 0.0 {
            return Err(RulesError::BufferRadius(metres));
        }
        self.geohazard_buffer_m = metres;
        Ok(self)
    }

    /// The sliver rule for `kind`.
    pub fn sliver_rule(&self, kind: LayerKind) -> SliverRule {
        self.slivers.get(&kind).copied().unwrap_or(self.default_sliver)
    }

    /// The radius geohazard points are buffered by before intersecting, in metres.
    pub fn geohazard_buffer_m(&self) -> f64 {
        self.geohazard_buffer_m
    }
}

impl Default for VerdictRules {
    fn default() -> Self {
        Self {
            default_sliver: SliverRule::DEFAULT,
            slivers: BTreeMap::new(),
            geohazard_buffer_m: Self::DEFAULT_GEOHAZARD_BUFFER_M,
        }
    }
}

impl TryFrom<VerdictRulesRepr> for VerdictRules {
    type Error = RulesError;

    fn try_from(repr: VerdictRulesRepr) -> Result<Self, Self::Error> {
        let rules = Self {
            default_sliver: repr.default_sliver,
            slivers: repr.slivers,
            geohazard_buffer_m: Self::DEFAULT_GEOHAZARD_BUFFER_M,
        };
        rules.with_geohazard_buffer(repr.geohazard_buffer_m)
    }
}

impl From<VerdictRules> for VerdictRulesRepr {
    fn from(rules: VerdictRules) -> Self {
        Self {
            default_sliver: rules.default_sliver,
            slivers: rules.slivers,
            geohazard_buffer_m: rules.geohazard_buffer_m,
        }
    }
}

/// One feature of a layer overlapping one parcel, as the spatial crate measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The feature's identifier in its layer version.
    pub feature_id: String,
    /// The area of the parcel the overlap lies in.
    pub parcel_area: SquareMetres,
    /// The overlap area. For the urban boundary: the part of the parcel outside it.
    pub overlap: SquareMetres,
    /// Whether a planner dismissed this hit (with an audited reason).
    #[serde(default)]
    pub dismissed: bool,
    /// The land class, for cultivated land only.
    #[serde(default)]
    pub dlbm: Option<Dlbm>,
}

/// What the spatial crate measured for one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerFigures {
    /// The layer.
    pub kind: LayerKind,
    /// Whether the layer was checked: it exists and has a current version.
    pub checked: bool,
    /// The overlaps found. For the urban boundary, one hit per parcel with any
    /// part outside the boundary, its overlap being the area outside.
    #[serde(default)]
    pub hits: Vec<Hit>,
}

/// What the verdicts need to know about the case and its project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseContext {
    /// The project's level, if known.
    #[serde(default)]
    pub project_level: Option<ProjectLevel>,
    /// The project's sector, if known.
    #[serde(default)]
    pub project_sector: Option<ProjectSector>,
    /// Whether the case declares an activity on the allowed list of the red
    /// line and the core zones.
    #[serde(default)]
    pub declared_allowed_activity: bool,
    /// The use that lets the project lie outside the urban boundary, if any.
    #[serde(default)]
    pub outside_boundary_use: Option<OutsideBoundaryUse>,
    /// Whether every parcel lies wholly in a mineral whitelist area.
    #[serde(default)]
    pub wholly_in_mineral_whitelist: bool,
}

impl CaseContext {
    fn qualifies_for_state_council(self) -> bool {
        match (self.project_level, self.project_sector) {
            (Some(level), Some(sector)) => qualifies_for_state_council(level, sector),
            _ => false,
        }
    }
}

/// Everything one case's check is decided on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInput {
    /// The total area of the case's parcels, for the share of each layer.
    pub case_area: SquareMetres,
    /// What was measured per layer. A layer kind absent here is `not_checked`.
    pub layers: Vec<LayerFigures>,
    /// About the case and its project.
    #[serde(default)]
    pub context: CaseContext,
}

impl CheckInput {
    /// The same input with the `dismissed` hits marked dismissed: each is a layer and the
    /// index of the hit among that layer's hits, as a planner's dismissals are stored. An index
    /// that names no hit changes nothing.
    #[must_use]
    pub fn with_dismissed(mut self, dismissed: &[(LayerKind, usize)]) -> Self {
        for figures in &mut self.layers {
            for (index, hit) in figures.hits.iter_mut().enumerate() {
                if dismissed.contains(&(figures.kind, index)) {
                    hit.dismissed = true;
                }
            }
        }
        self
    }
}

/// Why check figures cannot be decided on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckInputError {
    /// The same layer is given twice.
    #[error("layer {0} is given twice")]
    DuplicateLayer(LayerKind),
    /// A cultivated-land hit has no DLBM code.
    #[error("cultivated-land feature {feature_id:?} has no DLBM code")]
    DlbmMissing {
        /// The feature.
        feature_id: String,
    },
    /// A hit's parcel has no area, so its share cannot be computed.
    #[error("feature {feature_id:?} of {kind} overlaps a parcel with no area")]
    EmptyParcel {
        /// The layer.
        kind: LayerKind,
        /// The feature.
        feature_id: String,
    },
}

/// How a hit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitClass {
    /// Counted in the layer's area and result.
    Counted,
    /// Under the sliver thresholds: listed, not counted.
    Sliver,
    /// Dismissed by a planner: listed beside its dismissal, not counted.
    Dismissed,
}

impl HitClass {
    /// How the hit counts, in the words of a review page and a report.
    pub fn name_zh(self) -> &'static str {
        match self {
            HitClass::Counted => "计入",
            HitClass::Sliver => "碎片，不计入",
            HitClass::Dismissed => "已排除",
        }
    }
}

/// Cultivated area by land class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CultivatedSplit {
    /// 0101 水田.
    pub paddy: SquareMetres,
    /// 0102 水浇地.
    pub irrigated: SquareMetres,
    /// 0103 旱地.
    pub dry: SquareMetres,
}

impl CultivatedSplit {
    /// The total cultivated area.
    pub fn total(&self) -> SquareMetres {
        self.paddy + self.irrigated + self.dry
    }

    fn add(&mut self, dlbm: Dlbm, area: SquareMetres) {
        let slot = match dlbm {
            Dlbm::Paddy => &mut self.paddy,
            Dlbm::Irrigated => &mut self.irrigated,
            Dlbm::Dry => &mut self.dry,
        };
        *slot = *slot + area;
    }
}

/// The verdict on one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerVerdict {
    /// The layer.
    pub kind: LayerKind,
    /// Its result.
    pub result: LayerResult,
    /// The counted overlap: slivers and dismissed hits excluded.
    pub counted_area: SquareMetres,
    /// The counted overlap's share of the case area (0 to 1).
    pub counted_share: f64,
    /// Each hit with how it counts, in input order.
    pub hits: Vec<(Hit, HitClass)>,
    /// For cultivated land: the counted area by land class.
    pub cultivated: Option<CultivatedSplit>,
}

impl LayerVerdict {
    /// The hits that are slivers.
    pub fn slivers(&self) -> impl Iterator<Item = &Hit> {
        self.hits_of(HitClass::Sliver)
    }

    /// The hits a planner dismissed.
    pub fn dismissed(&self) -> impl Iterator<Item = &Hit> {
        self.hits_of(HitClass::Dismissed)
    }

    /// The hits that count.
    pub fn counted(&self) -> impl Iterator<Item = &Hit> {
        self.hits_of(HitClass::Counted)
    }

    fn hits_of(&self, class: HitClass) -> impl Iterator<Item = &Hit> {
        self.hits
            .iter()
            .filter(move |(_, c)| *c == class)
            .map(|(hit, _)| hit)
    }
}

/// The verdict on a whole case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckVerdict {
    /// The case's result: the worst of its layers.
    pub result: LayerResult,
    /// One verdict per layer kind, in [`LayerKind::ALL`] order.
    pub layers: Vec<LayerVerdict>,
    /// Layers that could not be checked.
    pub unchecked: Vec<LayerKind>,
    /// Whether cultivated land counted, so the farmland offset must be locked.
    pub cultivated_land_found: bool,
}

impl CheckVerdict {
    /// The verdict on `kind`.
    pub fn layer(&self, kind: LayerKind) -> Option<&LayerVerdict> {
        self.layers.iter().find(|l| l.kind == kind)
    }

    /// The counted cultivated area by land class (dismissals and slivers left out): what the
    /// farmland offset must cover.
    pub fn cultivated(&self) -> CultivatedSplit {
        self.layer(LayerKind::CultivatedLand)
            .and_then(|l| l.cultivated)
            .unwrap_or_default()
    }

    /// The construction-land quota a case of `case_area` needs: the area less its counted part
    /// on existing construction land (see [`crate::ledger::quota`]). Without a construction-land
    /// layer, the whole area.
    pub fn quota_need_mu(&self, case_area: SquareMetres) -> crate::ledger::Amount {
        let on_construction_land = self
            .layer(LayerKind::ConstructionLand)
            .map_or(SquareMetres::ZERO, |l| l.counted_area);
        crate::ledger::quota::need_mu(case_area, on_construction_land)
    }
}

/// The result a layer gives for a counted overlap, given the case.
fn result_for_overlap(kind: LayerKind, context: CaseContext) -> LayerResult {
    match kind {
        LayerKind::EcologicalRedline | LayerKind::QinlingCore | LayerKind::NatureReserveCore => {
            if context.declared_allowed_activity {
                LayerResult::NeedsApproval
            } else {
                LayerResult::Prohibited
            }
        }
        LayerKind::PermanentFarmland => {
            if context.qualifies_for_state_council() {
                LayerResult::NeedsStateCouncilApproval
            } else {
                LayerResult::Prohibited
            }
        }
        // Building outside the boundary is allowed only for these uses;
        // anything else there is refused.
        LayerKind::UrbanBoundary => {
            if context.outside_boundary_use.is_some() {
                LayerResult::OutsideBoundary
            } else {
                LayerResult::Prohibited
            }
        }
        LayerKind::CultivatedLand => LayerResult::NeedsOffset,
        LayerKind::QinlingKey | LayerKind::QinlingGeneral | LayerKind::NatureReserveGeneral => {
            LayerResult::NeedsReview
        }
        LayerKind::Geohazard => LayerResult::Warning,
        LayerKind::MineralDeposit => {
            if context.wholly_in_mineral_whitelist {
                LayerResult::Ok
            } else {
                LayerResult::NeedsOverlayApproval
            }
        }
        // The whitelist only informs the mineral-deposit verdict; existing construction land
        // only lowers the quota the case needs; a development zone only sets the standard-land
        // goal of land supplied in it.
        LayerKind::MineralWhitelist | LayerKind::ConstructionLand | LayerKind::DevelopmentZone => {
            LayerResult::Ok
        }
    }
}

/// The verdict on one layer.
///
/// # Errors
/// [`CheckInputError::DlbmMissing`] for a counted cultivated-land hit without
/// a DLBM code, [`CheckInputError::EmptyParcel`] for a hit on a parcel of zero area.
pub fn layer_verdict(
    figures: &LayerFigures,
    case_area: SquareMetres,
    context: &CaseContext,
    rules: &VerdictRules,
) -> Result<LayerVerdict, CheckInputError> {
    let sliver = rules.sliver_rule(figures.kind);
    let mut hits = Vec::with_capacity(figures.hits.len());
    let mut counted_area = SquareMetres::ZERO;
    let mut split = CultivatedSplit::default();
    for hit in &figures.hits {
        if hit.parcel_area.value() <= 0.0 {
            return Err(CheckInputError::EmptyParcel {
                kind: figures.kind,
                feature_id: hit.feature_id.clone(),
            });
        }
        let class = if hit.dismissed {
            HitClass::Dismissed
        } else if sliver.is_sliver(hit.overlap, hit.parcel_area) {
            HitClass::Sliver
        } else {
            HitClass::Counted
        };
        if class == HitClass::Counted {
            counted_area = counted_area + hit.overlap;
            if figures.kind == LayerKind::CultivatedLand {
                let dlbm = hit.dlbm.ok_or_else(|| CheckInputError::DlbmMissing {
                    feature_id: hit.feature_id.clone(),
                })?;
                split.add(dlbm, hit.overlap);
            }
        }
        hits.push((hit.clone(), class));
    }
    let any_counted = hits.iter().any(|(_, class)| *class == HitClass::Counted);
    let result = if !figures.checked {
        LayerResult::NotChecked
    } else if any_counted {
        result_for_overlap(figures.kind, *context)
    } else {
        LayerResult::Ok
    };
    Ok(LayerVerdict {
        kind: figures.kind,
        result,
        counted_area,
        counted_share: counted_area.share_of(case_area),
        hits,
        cultivated: (figures.kind == LayerKind::CultivatedLand).then_some(split),
    })
}

/// The verdict on a whole case: one verdict per layer kind (absent kinds are
/// `not_checked`), and the worst of them.
///
/// # Errors
/// [`CheckInputError`] for a layer given twice or figures that cannot be
/// decided on (see [`layer_verdict`]).
pub fn evaluate(input: &CheckInput, rules: &VerdictRules) -> Result<CheckVerdict, CheckInputError> {
    let mut by_kind: BTreeMap<LayerKind, &LayerFigures> = BTreeMap::new();
    for figures in &input.layers {
        if by_kind.insert(figures.kind, figures).is_some() {
            return Err(CheckInputError::DuplicateLayer(figures.kind));
        }
    }
    let mut layers = Vec::with_capacity(LayerKind::ALL.len());
    for &kind in LayerKind::ALL {
        let verdict = match by_kind.get(&kind) {
            Some(figures) => layer_verdict(figures, input.case_area, &input.context, rules)?,
            None => layer_verdict(
                &LayerFigures {
                    kind,
                    checked: false,
                    hits: Vec::new(),
                },
                input.case_area,
                &input.context,
                rules,
            )?,
        };
        layers.push(verdict);
    }
    let unchecked = layers
        .iter()
        .filter(|l| l.result == LayerResult::NotChecked && l.kind.required())
        .map(|l| l.kind)
        .collect();
    let cultivated_land_found = layers
        .iter()
        .any(|l| l.kind == LayerKind::CultivatedLand && l.result == LayerResult::NeedsOffset);
    Ok(CheckVerdict {
        result: worst_of(
            layers
                .iter()
                .filter(|l| l.kind.required() || l.result != LayerResult::NotChecked)
                .map(|l| l.result),
        ),
        layers,
        unchecked,
        cultivated_land_found,
    })
}

/// A planner's dismissal of one hit, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dismissal {
    /// The planner.
    pub by: Uuid,
    /// Why the hit does not hold (for example, a sliver the survey disproves).
    pub reason: Reason,
    /// When.
    pub at: DateTime<Utc>,
}

/// Why a dismissal was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DismissalError {
    /// Only a planner may dismiss a hit.
    #[error("a {0} may not dismiss a hit; only a planner may")]
    RoleMayNot(Role),
    /// The reason is blank or too long.
    #[error(transparent)]
    Reason(#[from] ReasonError),
}

impl DismissalError {
    /// A stable code for problem types.
    pub fn code(&self) -> &'static str {
        match self {
            DismissalError::RoleMayNot(_) => "role-may-not",
            DismissalError::Reason(ReasonError::Blank) => "reason-required",
            DismissalError::Reason(ReasonError::TooLong(_)) => "reason-too-long",
        }
    }
}

impl Dismissal {
    /// Records `actor`'s dismissal of a hit, with `reason`, at `now`.
    ///
    /// # Errors
    /// [`DismissalError::RoleMayNot`] unless the actor is a planner,
    /// [`DismissalError::Reason`] for a blank or overlong reason.
    pub fn record(actor: &Actor, reason: &str, now: DateTime<Utc>) -> Result<Self, DismissalError> {
        if actor.role != Role::Planner {
            return Err(DismissalError::RoleMayNot(actor.role));
        }
        Ok(Self {
            by: actor.id,
            reason: Reason::parse(reason)?,
            at: now,
        })
    }
}
