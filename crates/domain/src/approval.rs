//! Approvals that a check calls for: a decision from outside the bureau that a case records
//! before it goes on (DOMAIN.md, "Approvals that a check calls for").
//!
//! A confirmed check's counted hits each carry the result of their layer. Some results ask
//! for a record of a given [`ApprovalKind`] before a given stage transition:
//!
//! | result | record ([`ApprovalKind`]) | before |
//! |---|---|---|
//! | `needs_state_council_approval` | `state_council_approval` (国务院批准) | `conversion → supply` |
//! | `needs_approval` | `authority_opinion` | `pre_review → conversion` |
//! | `needs_review` | `review_opinion` | `pre_review → conversion` |
//! | `outside_boundary` | `outside_boundary_use` | `pre_review → conversion` |
//! | `warning` (geohazard) | `geohazard_assessment` | `pre_review → conversion` |
//!
//! `needs_overlay_approval` asks for a mineral overlay query (压覆矿产查询), which has a life
//! of its own (sent, answered, valid six months) and is not an approval record: it is left
//! out here. `ok`, `needs_offset`, `prohibited` and `not_checked` ask for no record (the offset
//! is the ledger's; a prohibited overlap cannot be approved away).
//!
//! A record answers hits by *feature*, not by the hit's row: a record lists the features
//! ([`FeatureRef`]) it answers, and a hit is answered by a record of its kind that names its
//! feature. So a re-check after a parcel change keeps every record whose features are hit
//! again ([`recheck`]), and a record whose features are no longer hit *lapses*: it stays in
//! the history but answers nothing.
//!
//! Worked example. A case's confirmed check hits the Qinling key zone feature `QL-7` (result
//! `needs_review`) and a geohazard site `DZ-3` (`warning`). [`missing`] gives two needs, both
//! before `pre_review → conversion`: a `review_opinion` for `QL-7` and a `geohazard_assessment`
//! for `DZ-3`. A reviewer records review opinion 陕林审〔2026〕12号 answering `QL-7`; one need
//! remains, and the advance is refused naming `geohazard_assessment` for `geohazard` `DZ-3`.
//! The parcel is then moved off `QL-7`: the re-check no longer hits it, so the review opinion
//! lapses.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::check::{LayerKind, LayerResult};
use crate::role::Role;
use crate::stage::Stage;

/// A decision from outside the bureau that a check result calls for.
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ApprovalKind {
    /// 国务院批准: the State Council's approval of occupying permanent basic farmland.
    StateCouncilApproval,
    /// The approving authority's opinion on an allowed activity in a red line or core zone.
    AuthorityOpinion,
    /// The review opinion for a Qinling key or general zone or a reserve's general zone.
    ReviewOpinion,
    /// The use that allows land outside the urban development boundary, and its approval.
    OutsideBoundaryUse,
    /// The geohazard risk assessment (地质灾害危险性评估报告).
    GeohazardAssessment,
}

/// The text is not one of the approval kind codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown approval kind {0:?}")]
pub struct UnknownApprovalKind(pub String);

impl ApprovalKind {
    /// Every kind.
    pub const ALL: &'static [ApprovalKind] = <ApprovalKind as strum::VariantArray>::VARIANTS;

    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Parses a kind code.
    ///
    /// # Errors
    /// [`UnknownApprovalKind`] when `code` is not exactly one of the codes.
    pub fn parse(code: &str) -> Result<Self, UnknownApprovalKind> {
        crate::code::parse(code).ok_or_else(|| UnknownApprovalKind(code.to_owned()))
    }

    /// The kind of record a layer result calls for, if any (see the module table).
    pub fn called_for(result: LayerResult) -> Option<Self> {
        match result {
            LayerResult::NeedsStateCouncilApproval => Some(Self::StateCouncilApproval),
            LayerResult::NeedsApproval => Some(Self::AuthorityOpinion),
            LayerResult::NeedsReview => Some(Self::ReviewOpinion),
            LayerResult::OutsideBoundary => Some(Self::OutsideBoundaryUse),
            LayerResult::Warning => Some(Self::GeohazardAssessment),
            LayerResult::Ok
            | LayerResult::NotChecked
            | LayerResult::NeedsOffset
            | LayerResult::NeedsOverlayApproval
            | LayerResult::Prohibited => None,
        }
    }

    /// The transition (from, to) the record must exist before. The State Council approves the
    /// conversion of permanent farmland itself, so its approval is needed at the conversion's
    /// approval; the other opinions decide whether the site can be used at all, so a bureau
    /// wants them before the case leaves pre-review.
    pub fn needed_before(self) -> (Stage, Stage) {
        match self {
            Self::StateCouncilApproval => (Stage::Conversion, Stage::Supply),
            Self::AuthorityOpinion
            | Self::ReviewOpinion
            | Self::OutsideBoundaryUse
            | Self::GeohazardAssessment => (Stage::PreReview, Stage::Conversion),
        }
    }

    /// The roles that may record this kind: the municipal reviewer always; the planner also
    /// the geohazard assessment, which is part of the spatial check's own file.
    pub fn recorded_by(self) -> &'static [Role] {
        match self {
            Self::GeohazardAssessment => &[Role::Reviewer, Role::Planner],
            _ => &[Role::Reviewer],
        }
    }

    /// Whether the record must state a conclusion: the geohazard assessment's conclusion (risk
    /// small, medium, large) is what the bureau reads from it.
    pub fn conclusion_required(self) -> bool {
        matches!(self, Self::GeohazardAssessment)
    }

    /// The Chinese name the bureau uses.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::StateCouncilApproval => "国务院批准文件",
            Self::AuthorityOpinion => "主管部门意见",
            Self::ReviewOpinion => "论证审查意见",
            Self::OutsideBoundaryUse => "城镇开发边界外用地批准",
            Self::GeohazardAssessment => "地质灾害危险性评估报告",
        }
    }
}

impl fmt::Display for ApprovalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A feature a check hit: its layer and the feature's identity in it. For an urban-boundary
/// hit (the part of a parcel outside the boundary) the feature is the parcel's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FeatureRef {
    /// The layer.
    pub layer: LayerKind,
    /// The feature's identity in the layer (its source id when it has one).
    pub feature: String,
}

impl fmt::Display for FeatureRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.layer.code(), self.feature)
    }
}

/// One counted hit of a confirmed check, as the approval rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckHit {
    /// The hit's id (its row in the check).
    pub hit_id: Uuid,
    /// The feature hit.
    pub feature: FeatureRef,
    /// The result of its layer.
    pub result: LayerResult,
    /// Whether a planner dismissed it: a dismissed hit calls for nothing.
    pub dismissed: bool,
}

impl CheckHit {
    /// The kind of record this hit calls for, if any.
    pub fn calls_for(&self) -> Option<ApprovalKind> {
        if self.dismissed {
            None
        } else {
            ApprovalKind::called_for(self.result)
        }
    }
}

/// A recorded approval, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// The record's id.
    pub id: Uuid,
    /// Its kind.
    pub kind: ApprovalKind,
    /// The features it answers.
    pub answers: Vec<FeatureRef>,
}

impl ApprovalRecord {
    /// Whether this record answers `hit`: same kind, and it names the hit's feature.
    pub fn answers_hit(&self, hit: &CheckHit) -> bool {
        hit.calls_for() == Some(self.kind) && self.answers.contains(&hit.feature)
    }
}

/// A record a hit calls for and that no record answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingApproval {
    /// The hit.
    pub hit_id: Uuid,
    /// The layer result that calls for it.
    pub result: LayerResult,
    /// The feature hit.
    pub feature: FeatureRef,
    /// The kind of record missing.
    pub kind: ApprovalKind,
    /// The stage the transition it blocks leaves.
    pub before_from: Stage,
    /// The stage the transition it blocks leads to.
    pub before_to: Stage,
}

impl fmt::Display for MissingApproval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} for {} ({}, hit {})",
            self.kind,
            self.feature,
            self.result.code(),
            self.hit_id
        )
    }
}

/// The kinds of record `missing` waits for, each once, in [`ApprovalKind::ALL`]'s order: what a
/// case is "awaiting" on the map.
pub fn kinds_awaited(missing: &[MissingApproval]) -> Vec<ApprovalKind> {
    ApprovalKind::ALL
        .iter()
        .copied()
        .filter(|kind| missing.iter().any(|m| m.kind == *kind))
        .collect()
}

/// For each hit of `hits` that calls for a record, in the hits' order, the record missing: none
/// of `records` of its kind names its feature.
pub fn missing(hits: &[CheckHit], records: &[ApprovalRecord]) -> Vec<MissingApproval> {
    hits.iter()
        .filter_map(|hit| {
            let kind = hit.calls_for()?;
            if records.iter().any(|r| r.answers_hit(hit)) {
                return None;
            }
            let (before_from, before_to) = kind.needed_before();
            Some(MissingApproval {
                hit_id: hit.hit_id,
                result: hit.result,
                feature: hit.feature.clone(),
                kind,
                before_from,
                before_to,
            })
        })
        .collect()
}

/// Which records still answer the hits of a re-check and which lapse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recheck {
    /// Records that answer at least one hit of the new check (the same feature is hit again,
    /// calling for the same kind).
    pub still_answer: Vec<Uuid>,
    /// Records that answer no hit of the new check.
    pub lapsed: Vec<Uuid>,
}

/// Sorts `records` by whether they answer any of `hits`, the counted hits of a new check.
pub fn recheck(records: &[ApprovalRecord], hits: &[CheckHit]) -> Recheck {
    let (still, lapsed): (Vec<_>, Vec<_>) = records
        .iter()
        .partition(|r| hits.iter().any(|h| r.answers_hit(h)));
    Recheck {
        still_answer: still.into_iter().map(|r| r.id).collect(),
        lapsed: lapsed.into_iter().map(|r| r.id).collect(),
    }
}

/// A new record as the caller gives it, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApproval {
    /// Its kind.
    pub kind: ApprovalKind,
    /// The document's number (文号).
    pub document_number: String,
    /// The authority that decided.
    pub authority: String,
    /// The day of the decision.
    pub decided_on: NaiveDate,
    /// What it concluded, when stated.
    pub conclusion: Option<String>,
    /// The hits of the case's latest confirmed check it answers.
    pub hits: Vec<Uuid>,
}

/// A record the rules accept, with the features it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidApproval {
    /// Its kind.
    pub kind: ApprovalKind,
    /// The document's number, trimmed.
    pub document_number: String,
    /// The authority, trimmed.
    pub authority: String,
    /// The day of the decision.
    pub decided_on: NaiveDate,
    /// The conclusion, trimmed; `None` when absent or blank.
    pub conclusion: Option<String>,
    /// The features it answers, one per hit, in the order given, without repeats.
    pub answers: Vec<FeatureRef>,
}

/// Why a new record is refused. Each variant names the field at fault ([`field`](Self::field)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// The document number is blank.
    #[error("the document number is blank")]
    DocumentNumberBlank,
    /// The authority is blank.
    #[error("the authority is blank")]
    AuthorityBlank,
    /// The decision date is after today.
    #[error("the decision date {decided_on} is after today ({today})")]
    DecidedInFuture {
        /// The date given.
        decided_on: NaiveDate,
        /// Today, in the bureau's time zone.
        today: NaiveDate,
    },
    /// This kind needs a conclusion and none was given.
    #[error("a {kind} states its conclusion")]
    ConclusionRequired {
        /// The kind.
        kind: ApprovalKind,
    },
    /// No hit is named.
    #[error("a record answers at least one hit of the case's latest confirmed check")]
    NoHits,
    /// A hit is not one of the case's latest confirmed check.
    #[error("hit {hit} is not a hit of this case's latest confirmed check")]
    HitNotOfCase {
        /// The hit named.
        hit: Uuid,
    },
    /// A hit calls for another kind of record, or for none.
    #[error("hit {hit} ({feature}) calls for {}, not {kind}", .called.map_or("no record", ApprovalKind::code))]
    KindNotCalledFor {
        /// The hit named.
        hit: Uuid,
        /// Its feature.
        feature: FeatureRef,
        /// The kind given.
        kind: ApprovalKind,
        /// The kind the hit calls for, if any.
        called: Option<ApprovalKind>,
    },
}

impl ApprovalError {
    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::DocumentNumberBlank => "document_number",
            Self::AuthorityBlank => "authority",
            Self::DecidedInFuture { .. } => "decided_on",
            Self::ConclusionRequired { .. } => "conclusion",
            Self::NoHits | Self::HitNotOfCase { .. } | Self::KindNotCalledFor { .. } => "hits",
        }
    }

    /// A stable code for the rule, for problem types and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DocumentNumberBlank => "document-number-blank",
            Self::AuthorityBlank => "authority-blank",
            Self::DecidedInFuture { .. } => "decided-in-future",
            Self::ConclusionRequired { .. } => "conclusion-required",
            Self::NoHits => "no-hits",
            Self::HitNotOfCase { .. } => "hit-not-of-case",
            Self::KindNotCalledFor { .. } => "kind-not-called-for",
        }
    }
}

/// Checks a new record against `hits`, the hits of the case's latest confirmed check, on
/// `today` (the bureau's date). Fields are checked in the order of the body: document number,
/// authority, date, conclusion, hits.
///
/// # Errors
/// [`ApprovalError`] naming the first field at fault.
pub fn validate(
    new: &NewApproval,
    hits: &[CheckHit],
    today: NaiveDate,
) -> Result<ValidApproval, ApprovalError> {
    let document_number = new.document_number.trim();
    if document_number.is_empty() {
        return Err(ApprovalError::DocumentNumberBlank);
    }
    let authority = new.authority.trim();
    if authority.is_empty() {
        return Err(ApprovalError::AuthorityBlank);
    }
    if new.decided_on > today {
        return Err(ApprovalError::DecidedInFuture {
            decided_on: new.decided_on,
            today,
        });
    }
    let conclusion = new
        .conclusion
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    if conclusion.is_none() && new.kind.conclusion_required() {
        return Err(ApprovalError::ConclusionRequired { kind: new.kind });
    }
    if new.hits.is_empty() {
        return Err(ApprovalError::NoHits);
    }
    let mut answers: Vec<FeatureRef> = Vec::new();
    for id in &new.hits {
        let hit = hits
            .iter()
            .find(|h| h.hit_id == *id)
            .ok_or(ApprovalError::HitNotOfCase { hit: *id })?;
        let called = hit.calls_for();
        if called != Some(new.kind) {
            return Err(ApprovalError::KindNotCalledFor {
                hit: *id,
                feature: hit.feature.clone(),
                kind: new.kind,
                called,
            });
        }
        if !answers.contains(&hit.feature) {
            answers.push(hit.feature.clone());
        }
    }
    Ok(ValidApproval {
        kind: new.kind,
        document_number: document_number.to_owned(),
        authority: authority.to_owned(),
        decided_on: new.decided_on,
        conclusion,
        answers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(n: u128, layer: LayerKind, feature: &str, result: LayerResult) -> CheckHit {
        CheckHit {
            hit_id: Uuid::from_u128(n),
            feature: FeatureRef {
                layer,
                feature: feature.to_owned(),
            },
            result,
            dismissed: false,
        }
    }

    fn record(n: u128, kind: ApprovalKind, answers: &[&CheckHit]) -> ApprovalRecord {
        ApprovalRecord {
            id: Uuid::from_u128(1000 + n),
            kind,
            answers: answers.iter().map(|h| h.feature.clone()).collect(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    /// A change to a valid body that makes one field wrong.
    type Change = fn(&mut NewApproval);

    fn new_approval(kind: ApprovalKind, hits: &[&CheckHit]) -> NewApproval {
        NewApproval {
            kind,
            document_number: " 陕林审〔2026〕12号 ".to_owned(),
            authority: "陕西省林业局".to_owned(),
            decided_on: day(2026, 12, 1),
            conclusion: Some("同意".to_owned()),
            hits: hits.iter().map(|h| h.hit_id).collect(),
        }
    }

    #[test]
    fn each_result_that_asks_for_a_decision_calls_for_its_own_kind_before_its_own_transition() {
        use ApprovalKind as K;
        use LayerResult as R;
        let table = [
            (
                R::NeedsStateCouncilApproval,
                Some(K::StateCouncilApproval),
                Stage::Conversion,
            ),
            (R::NeedsApproval, Some(K::AuthorityOpinion), Stage::PreReview),
            (R::NeedsReview, Some(K::ReviewOpinion), Stage::PreReview),
            (R::OutsideBoundary, Some(K::OutsideBoundaryUse), Stage::PreReview),
            (R::Warning, Some(K::GeohazardAssessment), Stage::PreReview),
        ];
        for (result, kind, from) in table {
            assert_eq!(ApprovalKind::called_for(result), kind, "{result:?}");
            assert_eq!(kind.map(|k| k.needed_before().0), Some(from), "{result:?}");
        }
        for result in [
            R::Ok,
            R::NotChecked,
            R::NeedsOffset,
            R::NeedsOverlayApproval,
            R::Prohibited,
        ] {
            assert_eq!(ApprovalKind::called_for(result), None, "{result:?}");
        }
    }

    #[test]
    fn codes_parse_back_to_their_kind_and_nothing_else_parses() {
        for kind in ApprovalKind::ALL {
            assert_eq!(ApprovalKind::parse(kind.code()), Ok(*kind));
        }
        assert!(ApprovalKind::parse("State_Council_Approval").is_err());
        assert!(ApprovalKind::parse("").is_err());
    }

    #[test]
    fn only_the_geohazard_assessment_may_be_recorded_by_a_planner() {
        for kind in ApprovalKind::ALL {
            assert!(kind.recorded_by().contains(&Role::Reviewer));
            assert_eq!(
                kind.recorded_by().contains(&Role::Planner),
                *kind == ApprovalKind::GeohazardAssessment
            );
            assert!(!kind.recorded_by().contains(&Role::Officer));
        }
    }

    #[test]
    fn every_hit_that_calls_for_a_record_is_missing_until_a_record_of_its_kind_names_its_feature() {
        let review = hit(1, LayerKind::QinlingKey, "QL-7", LayerResult::NeedsReview);
        let hazard = hit(2, LayerKind::Geohazard, "DZ-3", LayerResult::Warning);
        let offset = hit(3, LayerKind::CultivatedLand, "DL-1", LayerResult::NeedsOffset);
        let hits = [review.clone(), hazard.clone(), offset];
        let gaps = missing(&hits, &[]);
        assert_eq!(gaps.len(), 2);
        assert_eq!(gaps[0].kind, ApprovalKind::ReviewOpinion);
        assert_eq!(gaps[0].feature.feature, "QL-7");
        assert_eq!(
            (gaps[0].before_from, gaps[0].before_to),
            (Stage::PreReview, Stage::Conversion)
        );
        assert_eq!(gaps[1].kind, ApprovalKind::GeohazardAssessment);
        assert_eq!(gaps[1].hit_id, hazard.hit_id);

        // A record of another kind naming the feature answers nothing.
        let wrong = record(1, ApprovalKind::AuthorityOpinion, &[&review]);
        assert_eq!(missing(&hits, &[wrong]).len(), 2);

        let right = record(2, ApprovalKind::ReviewOpinion, &[&review]);
        let gaps = missing(&hits, &[right]);
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].kind, ApprovalKind::GeohazardAssessment);
    }

    #[test]
    fn a_dismissed_hit_calls_for_nothing() {
        let mut hazard = hit(2, LayerKind::Geohazard, "DZ-3", LayerResult::Warning);
        hazard.dismissed = true;
        assert!(missing(&[hazard], &[]).is_empty());
    }

    #[test]
    fn the_missing_record_names_its_kind_layer_feature_and_result() {
        let farmland = hit(
            5,
            LayerKind::PermanentFarmland,
            "JBNT-88",
            LayerResult::NeedsStateCouncilApproval,
        );
        let gaps = missing(&[farmland], &[]);
        let text = gaps[0].to_string();
        assert!(text.contains("state_council_approval"), "{text}");
        assert!(text.contains("permanent_farmland JBNT-88"), "{text}");
        assert!(text.contains("needs_state_council_approval"), "{text}");
        assert_eq!(
            (gaps[0].before_from, gaps[0].before_to),
            (Stage::Conversion, Stage::Supply)
        );
    }

    #[test]
    fn a_recheck_keeps_records_whose_features_are_hit_again_and_lapses_the_others() {
        let ql7 = hit(1, LayerKind::QinlingKey, "QL-7", LayerResult::NeedsReview);
        let dz3 = hit(2, LayerKind::Geohazard, "DZ-3", LayerResult::Warning);
        let review = record(1, ApprovalKind::ReviewOpinion, &[&ql7]);
        let hazard = record(2, ApprovalKind::GeohazardAssessment, &[&dz3]);
        // The new check hits QL-7 again (as a new hit row) but no longer DZ-3.
        let again = hit(10, LayerKind::QinlingKey, "QL-7", LayerResult::NeedsReview);
        let other = hit(11, LayerKind::Geohazard, "DZ-9", LayerResult::Warning);
        let result = recheck(&[review.clone(), hazard.clone()], &[again.clone(), other.clone()]);
        assert_eq!(result.still_answer, vec![review.id]);
        assert_eq!(result.lapsed, vec![hazard.id]);
        let gaps = missing(&[again, other], &[review, hazard]);
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].feature.feature, "DZ-9");
    }

    #[test]
    fn a_recheck_that_changes_the_result_of_a_feature_lapses_its_record() {
        let ql7 = hit(1, LayerKind::QinlingKey, "QL-7", LayerResult::NeedsReview);
        let review = record(1, ApprovalKind::ReviewOpinion, &[&ql7]);
        let now_ok = hit(2, LayerKind::QinlingKey, "QL-7", LayerResult::Ok);
        assert_eq!(
            recheck(std::slice::from_ref(&review), &[now_ok]).lapsed,
            vec![review.id]
        );
    }

    #[test]
    fn a_valid_record_is_trimmed_and_answers_each_feature_once() {
        let ql7 = hit(1, LayerKind::QinlingKey, "QL-7", LayerResult::NeedsReview);
        let ql8 = hit(2, LayerKind::QinlingGeneral, "QL-8", LayerResult::NeedsReview);
        let mut new = new_approval(ApprovalKind::ReviewOpinion, &[&ql7, &ql8, &ql7]);
        new.conclusion = Some("  ".to_owned());
        let valid = validate(&new, &[ql7.clone(), ql8.clone()], day(2026, 12, 7));
        let valid = valid.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(valid.document_number, "陕林审〔2026〕12号");
        assert_eq!(valid.conclusion, None);
        assert_eq!(valid.answers, vec![ql7.feature, ql8.feature]);
    }

    #[test]
    fn a_record_dated_today_passes_and_tomorrow_is_refused_naming_decided_on() {
        let ql7 = hit(1, LayerKind::QinlingKey, "QL-7", LayerResult::NeedsReview);
        let mut new = new_approval(ApprovalKind::ReviewOpinion, &[&ql7]);
        new.decided_on = day(2026, 12, 7);
        assert!(validate(&new, std::slice::from_ref(&ql7), day(2026, 12, 7)).is_ok());
        new.decided_on = day(2026, 12, 8);
        let e = validate(&new, &[ql7], day(2026, 12, 7)).err();
        assert_eq!(e.as_ref().map(ApprovalError::field), Some("decided_on"));
    }

    #[test]
    fn blank_fields_are_refused_naming_the_field() {
        let dz3 = hit(2, LayerKind::Geohazard, "DZ-3", LayerResult::Warning);
        let hits = [dz3.clone()];
        let today = day(2026, 12, 7);
        let base = new_approval(ApprovalKind::GeohazardAssessment, &[&dz3]);
        let cases: [(Change, &str); 4] = [
            (|n| n.document_number = " \t".to_owned(), "document_number"),
            (|n| n.authority = String::new(), "authority"),
            (|n| n.conclusion = None, "conclusion"),
            (|n| n.hits.clear(), "hits"),
        ];
        for (change, field) in cases {
            let mut new = base.clone();
            change(&mut new);
            let e = validate(&new, &hits, today).err();
            assert_eq!(e.as_ref().map(ApprovalError::field), Some(field), "{e:?}");
        }
    }

    #[test]
    fn a_hit_of_another_check_or_of_another_kind_is_refused_naming_hits() {
        let ql7 = hit(1, LayerKind::QinlingKey, "QL-7", LayerResult::NeedsReview);
        let dz3 = hit(2, LayerKind::Geohazard, "DZ-3", LayerResult::Warning);
        let foreign = hit(99, LayerKind::QinlingKey, "QL-1", LayerResult::NeedsReview);
        let today = day(2026, 12, 7);
        let hits = [ql7.clone(), dz3.clone()];

        let e = validate(
            &new_approval(ApprovalKind::ReviewOpinion, &[&foreign]),
            &hits,
            today,
        );
        assert_eq!(e, Err(ApprovalError::HitNotOfCase { hit: foreign.hit_id }));

        let e = validate(&new_approval(ApprovalKind::ReviewOpinion, &[&dz3]), &hits, today).err();
        assert_eq!(e.as_ref().map(ApprovalError::code), Some("kind-not-called-for"));
        assert_eq!(e.as_ref().map(ApprovalError::field), Some("hits"));
        let text = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("geohazard_assessment"), "{text}");
    }
}
