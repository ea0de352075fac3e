//! The stages of a case and the state a case is in.
//!
//! The main path is `draft → accepted → pre_review → conversion → supply →
//! registration → completed`. Beside it are `correction` (the case is back with
//! the applicant, its clock is stopped, and it returns to the stage it left),
//! and the final `rejected` and `withdrawn`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A stage of a case. Serialised as its `snake_case` code.
///
/// The declaration order is the main path, then the side states; `Ord` follows it.
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
pub enum Stage {
    /// Being prepared by the county officer; nothing is due yet.
    Draft,
    /// 受理: the municipal bureau has the file and checks it is complete.
    Accepted,
    /// 用地预审与选址意见书: land pre-review and the site-selection opinion.
    PreReview,
    /// 农用地转用与土地征收报批: conversion of farmland and expropriation.
    Conversion,
    /// 供地: supply by allocation, transfer or lease.
    Supply,
    /// 不动产登记: registration of the real-estate right.
    Registration,
    /// Finished: the certificate is issued.
    Completed,
    /// 补正: returned to the applicant for more material; the clock is stopped.
    Correction,
    /// Refused by the bureau (final).
    Rejected,
    /// Withdrawn by the applicant (final).
    Withdrawn,
}

/// The text is not one of the stage codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage {0:?}")]
pub struct UnknownStage(pub String);

impl Stage {
    /// Every stage: the main path in order, then the side states.
    pub const ALL: &'static [Stage] = <Stage as strum::VariantArray>::VARIANTS;

    /// The main path, in order.
    pub const PATH: [Stage; 7] = [
        Stage::Draft,
        Stage::Accepted,
        Stage::PreReview,
        Stage::Conversion,
        Stage::Supply,
        Stage::Registration,
        Stage::Completed,
    ];

    /// The stable `snake_case` code used in the database, JSON and URLs.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Parses a stage code.
    ///
    /// # Errors
    /// [`UnknownStage`] when `code` is not exactly one of the codes.
    pub fn parse(code: &str) -> Result<Self, UnknownStage> {
        crate::code::parse(code).ok_or_else(|| UnknownStage(code.to_owned()))
    }

    /// The Chinese name the bureau uses for the stage.
    pub fn name_zh(self) -> &'static str {
        match self {
            Stage::Draft => "草稿",
            Stage::Accepted => "受理",
            Stage::PreReview => "用地预审与选址",
            Stage::Conversion => "农转用与征收报批",
            Stage::Supply => "供地",
            Stage::Registration => "不动产登记",
            Stage::Completed => "办结",
            Stage::Correction => "补正",
            Stage::Rejected => "不予批准",
            Stage::Withdrawn => "撤回",
        }
    }

    /// Whether the municipal bureau holds the case at this stage.
    ///
    /// Entering one of these stages opens a ledger item for the three-week
    /// clearing, and only from these can a case be returned for correction.
    pub fn is_municipal(self) -> bool {
        matches!(
            self,
            Stage::Accepted | Stage::PreReview | Stage::Conversion | Stage::Supply
        )
    }

    /// Whether the case can never move again.
    pub fn is_final(self) -> bool {
        matches!(self, Stage::Completed | Stage::Rejected | Stage::Withdrawn)
    }

    /// The next stage on the main path, if this stage is on it and not its end.
    pub fn next(self) -> Option<Stage> {
        match self {
            Stage::Draft => Some(Stage::Accepted),
            Stage::Accepted => Some(Stage::PreReview),
            Stage::PreReview => Some(Stage::Conversion),
            Stage::Conversion => Some(Stage::Supply),
            Stage::Supply => Some(Stage::Registration),
            Stage::Registration => Some(Stage::Completed),
            Stage::Completed | Stage::Correction | Stage::Rejected | Stage::Withdrawn => None,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Stage {
    type Err = UnknownStage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Why a stage and a return stage do not make a case state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CaseStateError {
    /// A case in correction must remember the municipal stage it left.
    #[error("a case in correction must name the municipal stage it returns to")]
    CorrectionWithoutReturnStage,
    /// The stage a correction returns to must be a municipal stage.
    #[error("a correction can only return to a municipal stage, not {0}")]
    ReturnStageNotMunicipal(Stage),
    /// Only a case in correction has a stage to return to.
    #[error("a case at {stage} has no stage to return to, but {returns_to} was given")]
    ReturnStageOutsideCorrection {
        /// The case's stage.
        stage: Stage,
        /// The return stage that was given.
        returns_to: Stage,
    },
}

/// The state of a case: its stage and, in correction, the stage it returns to.
///
/// Built by [`CaseState::new`] (or the two shortcuts), so a case in correction
/// always knows the municipal stage it left and no other case has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "CaseStateRepr", into = "CaseStateRepr")]
pub struct CaseState {
    stage: Stage,
    returns_to: Option<Stage>,
}

#[derive(Serialize, Deserialize)]
struct CaseStateRepr {
    stage: Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    returns_to: Option<Stage>,
}

impl CaseState {
    /// Parses a stored state: `returns_to` must be a municipal stage when
    /// `stage` is `correction`, and absent otherwise.
    ///
    /// # Errors
    /// [`CaseStateError`] naming the inconsistency.
    pub fn new(stage: Stage, returns_to: Option<Stage>) -> Result<Self, CaseStateError> {
        match (stage, returns_to) {
            (Stage::Correction, None) => Err(CaseStateError::CorrectionWithoutReturnStage),
            (Stage::Correction, Some(back)) if !back.is_municipal() => {
                Err(CaseStateError::ReturnStageNotMunicipal(back))
            }
            (Stage::Correction, Some(_)) | (_, None) => Ok(Self { stage, returns_to }),
            (stage, Some(returns_to)) => {
                Err(CaseStateError::ReturnStageOutsideCorrection { stage, returns_to })
            }
        }
    }

    /// A case at `stage`, which must not be `correction`.
    ///
    /// # Errors
    /// [`CaseStateError::CorrectionWithoutReturnStage`] for `correction`.
    pub fn at(stage: Stage) -> Result<Self, CaseStateError> {
        Self::new(stage, None)
    }

    /// A case in correction that returns to `left`, a municipal stage.
    ///
    /// # Errors
    /// [`CaseStateError::ReturnStageNotMunicipal`] when `left` is not municipal.
    pub fn in_correction(left: Stage) -> Result<Self, CaseStateError> {
        Self::new(Stage::Correction, Some(left))
    }

    /// A new case, in `draft`.
    pub fn draft() -> Self {
        Self {
            stage: Stage::Draft,
            returns_to: None,
        }
    }

    /// The stage the case is at.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// In correction, the stage the case returns to; otherwise `None`.
    pub fn returns_to(&self) -> Option<Stage> {
        self.returns_to
    }

    /// The stage whose clock and time limit apply: the stage itself, or in
    /// correction the stage the case left (whose clock is paused).
    pub fn clock_stage(&self) -> Stage {
        self.returns_to.unwrap_or(self.stage)
    }
}

impl TryFrom<CaseStateRepr> for CaseState {
    type Error = CaseStateError;

    fn try_from(repr: CaseStateRepr) -> Result<Self, Self::Error> {
        Self::new(repr.stage, repr.returns_to)
    }
}

impl From<CaseState> for CaseStateRepr {
    fn from(state: CaseState) -> Self {
        Self {
            stage: state.stage,
            returns_to: state.returns_to,
        }
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.returns_to {
            Some(back) => write!(f, "{} (returns to {back})", self.stage),
            None => write!(f, "{}", self.stage),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_code_parses_back_to_its_stage() {
        for &stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.code()).unwrap(), stage);
            let json = serde_json::to_string(&stage).unwrap();
            assert_eq!(json, format!("\"{}\"", stage.code()));
        }
    }

    #[test]
    fn the_municipal_stages_are_accepted_pre_review_conversion_and_supply() {
        let municipal: Vec<Stage> = Stage::ALL.iter().copied().filter(|s| s.is_municipal()).collect();
        assert_eq!(
            municipal,
            vec![
                Stage::Accepted,
                Stage::PreReview,
                Stage::Conversion,
                Stage::Supply
            ]
        );
    }

    #[test]
    fn next_walks_the_main_path() {
        for pair in Stage::PATH.windows(2) {
            assert_eq!(pair[0].next(), Some(pair[1]));
        }
        assert_eq!(Stage::Completed.next(), None);
        assert_eq!(Stage::Correction.next(), None);
    }

    #[test]
    fn a_case_in_correction_must_return_to_a_municipal_stage() {
        assert_eq!(
            CaseState::new(Stage::Correction, None),
            Err(CaseStateError::CorrectionWithoutReturnStage)
        );
        assert_eq!(
            CaseState::in_correction(Stage::Registration),
            Err(CaseStateError::ReturnStageNotMunicipal(Stage::Registration))
        );
        assert!(CaseState::new(Stage::Supply, Some(Stage::Accepted)).is_err());
        let state = CaseState::in_correction(Stage::Conversion).unwrap();
        assert_eq!(state.clock_stage(), Stage::Conversion);
    }

    #[test]
    fn case_states_deserialise_only_when_consistent() {
        let state: CaseState =
            serde_json::from_str(r#"{"stage":"correction","returns_to":"pre_review"}"#).unwrap();
        assert_eq!(state.returns_to(), Some(Stage::PreReview));
        assert!(serde_json::from_str::<CaseState>(r#"{"stage":"correction"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&CaseState::draft()).unwrap(),
            r#"{"stage":"draft"}"#
        );
    }
}
