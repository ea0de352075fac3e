//! Phased and segmented cases (分期 / 分段): one project's land applied for in several cases,
//! each its own parcels and stages (DOMAIN.md, "Advance use and phased cases").
//!
//! A case may say which part of its project it is: a [`Phase`] with a kind ([`PhaseKind::Phase`]
//! 分期 or [`PhaseKind::Segment`] 分段), a number from 1 and an optional name
//! (`K0+000–K12+500`). Only the project's *live* cases count: a case that is not rejected and not
//! withdrawn. Those two stages are final (no transition leaves them), so a case that left the
//! project's count never comes back into it.
//!
//! [`admit`] decides a new case of a project, in this order:
//!
//! 1. without a phase: allowed when the project has no other live case (the case is the whole
//!    project); otherwise [`PhaseError::PhaseRequired`];
//! 2. with a phase: only when the project is on the green channel ([`project_on_green_channel`]:
//!    on a key-project list, or one of its live cases has the green channel in force by a
//!    leader's grant), per [`crate::green::phasing_allowed`]; otherwise
//!    [`PhaseError::NotOnGreenChannel`];
//! 3. a live case without a phase already covers the whole project:
//!    [`PhaseError::ProjectNotPhased`] (withdraw it, or apply for the rest later);
//! 4. a project is applied for in phases or in segments, never both:
//!    [`PhaseError::MixedKinds`];
//! 5. one kind and number per live case: [`PhaseError::Duplicate`].
//!
//! Worked example: a provincial highway on the key-project list opens `segment 1 K0+000–K12+500`
//! (allowed: first live case, green), then `segment 2` (allowed), then `phase 3` (refused,
//! mixed kinds), then `segment 2` again (refused, duplicate). Once segment 2 is withdrawn, a new
//! `segment 2` is allowed.
//!
//! The parcels of two live cases of one project may not overlap: an overlap counts when its area
//! (on the ellipsoid) is at least [`OVERLAP_TOLERANCE_M2`], the spatial check's sliver rule, so
//! parcels that only touch along an edge, or differ by a surveying sliver, pass
//! ([`overlap_counts`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    green::phasing_allowed,
    ledger::{Amount, OffsetPosition, Quantities, QuotaPosition},
    stage::Stage,
};

/// Whether a project is applied for in phases (分期) or segments (分段).
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
pub enum PhaseKind {
    /// 分期: batches in time (first phase, second phase).
    Phase,
    /// 分段: stretches of a linear work (a highway's K0+000–K12+500).
    Segment,
}

impl PhaseKind {
    /// Every kind.
    pub const ALL: &'static [PhaseKind] = <PhaseKind as strum::VariantArray>::VARIANTS;

    /// The stable code, as stored.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Parses a stored or submitted code.
    ///
    /// # Errors
    /// [`UnknownPhaseKind`] when `code` is not `phase` or `segment`.
    pub fn parse(code: &str) -> Result<Self, UnknownPhaseKind> {
        crate::code::parse(code).ok_or_else(|| UnknownPhaseKind(code.to_owned()))
    }
}

impl fmt::Display for PhaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A text that is not a phase kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phase kind {0:?} is not one of phase, segment")]
pub struct UnknownPhaseKind(pub String);

/// The highest phase number: no project is applied for in more parts.
pub const MAX_NUMBER: u32 = 999;

/// The longest phase name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Why a submitted phase is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhaseInputError {
    /// The number is below 1 or above [`MAX_NUMBER`].
    #[error("the phase number must be 1 to {MAX_NUMBER}, got {0}")]
    NumberOutOfRange(i64),
    /// The name is given but blank.
    #[error("the phase name, when given, must not be blank")]
    BlankName,
    /// The name is too long.
    #[error("the phase name may have at most {MAX_NAME_CHARS} characters, it has {0}")]
    NameTooLong(usize),
}

impl PhaseInputError {
    /// The field of the phase at fault (`number` or `name`).
    pub fn field(&self) -> &'static str {
        match self {
            PhaseInputError::NumberOutOfRange(_) => "number",
            PhaseInputError::BlankName | PhaseInputError::NameTooLong(_) => "name",
        }
    }
}

/// Which part of its project a case is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    kind: PhaseKind,
    number: u32,
    name: Option<String>,
}

impl Phase {
    /// A phase from what a client sent or the database holds: the number 1 to [`MAX_NUMBER`], the name
    /// trimmed, not blank, at most [`MAX_NAME_CHARS`] characters.
    ///
    /// # Errors
    /// [`PhaseInputError`] naming what is wrong.
    pub fn parse(kind: PhaseKind, number: i64, name: Option<&str>) -> Result<Self, PhaseInputError> {
        let number = u32::try_from(number)
            .ok()
            .filter(|n| (1..=MAX_NUMBER).contains(n))
            .ok_or(PhaseInputError::NumberOutOfRange(number))?;
        let name = match name.map(str::trim) {
            None => None,
            Some("") => return Err(PhaseInputError::BlankName),
            Some(n) if n.chars().count() > MAX_NAME_CHARS => {
                return Err(PhaseInputError::NameTooLong(n.chars().count()))
            }
            Some(n) => Some(n.to_owned()),
        };
        Ok(Self { kind, number, name })
    }

    /// Phase or segment.
    pub fn kind(&self) -> PhaseKind {
        self.kind
    }

    /// Its number, from 1.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Its name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.number)
    }
}

/// A live case (neither rejected nor withdrawn) of the project, as [`admit`] weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCase {
    /// The case.
    pub id: Uuid,
    /// Its phase, if it states one.
    pub phase: Option<(PhaseKind, u32)>,
    /// Whether the green channel is in force for it ([`crate::green::GreenChannel::is_active`]).
    pub green: bool,
}

/// Why a new case of a project was refused its phase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhaseError {
    /// Another live case exists, and the new one states no phase.
    #[error("the project already has a live case ({other}); a further case must state its phase or segment")]
    PhaseRequired {
        /// A live case of the project.
        other: Uuid,
    },
    /// Phasing is a green-channel effect.
    #[error("only a project on the green channel may be applied for in phases or segments")]
    NotOnGreenChannel,
    /// A live case states no phase: it is the whole project.
    #[error("the project's live case {case} states no phase: it covers the whole project")]
    ProjectNotPhased {
        /// The case without a phase.
        case: Uuid,
    },
    /// The project's live cases are of the other kind.
    #[error("the project is applied for by {project_kind}, not by {asked}")]
    MixedKinds {
        /// The kind of the project's live cases.
        project_kind: PhaseKind,
        /// The kind asked for.
        asked: PhaseKind,
    },
    /// A live case already has this kind and number.
    #[error("{kind} {number} of the project is already case {case}")]
    Duplicate {
        /// The kind.
        kind: PhaseKind,
        /// The number.
        number: u32,
        /// The live case that has it.
        case: Uuid,
    },
}

impl PhaseError {
    /// A stable code for problem types.
    pub fn code(&self) -> &'static str {
        match self {
            PhaseError::PhaseRequired { .. } => "phase-required",
            PhaseError::NotOnGreenChannel => "not-on-green-channel",
            PhaseError::ProjectNotPhased { .. } => "project-not-phased",
            PhaseError::MixedKinds { .. } => "phase-kind-mixed",
            PhaseError::Duplicate { .. } => "phase-duplicate",
        }
    }

    /// Whether the refusal is about the request alone (422) rather than a conflict with the
    /// project's other cases (409).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            PhaseError::PhaseRequired { .. } | PhaseError::NotOnGreenChannel
        )
    }
}

/// Whether a project is on the green channel (for phasing, and for advance use): on a
/// key-project list, or one of its live cases has the green channel in force (a leader's grant).
pub fn project_on_green_channel(on_key_list: bool, live: &[LiveCase]) -> bool {
    on_key_list || live.iter().any(|c| c.green)
}

/// Whether a new case stating `phase` may join a project whose live cases are `live`; `green` is
/// [`project_on_green_channel`]. See the module doc for the rules and their order.
///
/// # Errors
/// The first [`PhaseError`] that applies, in the order of the module doc.
pub fn admit(phase: Option<&Phase>, green: bool, live: &[LiveCase]) -> Result<(), PhaseError> {
    let Some(phase) = phase else {
        return match live.first() {
            None => Ok(()),
            Some(other) => Err(PhaseError::PhaseRequired { other: other.id }),
        };
    };
    phasing_allowed(green).map_err(|_| PhaseError::NotOnGreenChannel)?;
    for case in live {
        let Some((kind, number)) = case.phase else {
            return Err(PhaseError::ProjectNotPhased { case: case.id });
        };
        if kind != phase.kind {
            return Err(PhaseError::MixedKinds {
                project_kind: kind,
                asked: phase.kind,
            });
        }
        if number == phase.number {
            return Err(PhaseError::Duplicate {
                kind,
                number,
                case: case.id,
            });
        }
    }
    Ok(())
}

/// Below this area, in m², an overlap between two live cases of one project does not count:
/// the spatial check's sliver rule, so parcels that touch along an edge or differ by a
/// surveying sliver pass.
pub const OVERLAP_TOLERANCE_M2: f64 = 1.0;

/// Whether an overlap of `area_m2` (ellipsoidal) between the parcels of two live cases of one
/// project counts, and so refuses the parcels.
pub fn overlap_counts(area_m2: f64) -> bool {
    area_m2 >= OVERLAP_TOLERANCE_M2
}

/// One case of a project as the project view sums it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseFigures {
    /// Its stage.
    pub stage: Stage,
    /// The ellipsoidal area of its parcels, in m².
    pub area_m2: f64,
    /// Where it stands on quota.
    pub quota: QuotaPosition,
    /// Where it stands on farmland offset.
    pub offset: OffsetPosition,
}

/// How many of a project's cases are in one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageCount {
    /// The stage.
    pub stage: Stage,
    /// How many cases are in it.
    pub cases: u32,
}

/// A project's cases summed (DOMAIN.md: "the project view sums their areas, quota and
/// offsets").
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectTotals {
    /// The area of the live cases (neither rejected nor withdrawn), in m²: the land the project
    /// is applying for or holds. A closed case's parcels no longer count.
    pub live_area_m2: f64,
    /// Quota held, over every case (a closed case has given its holding back).
    pub quota_held_mu: Amount,
    /// Quota consumed, over every case (a conversion once approved stays consumed even if its
    /// case is later withdrawn).
    pub quota_consumed_mu: Amount,
    /// Offset locked, over every case.
    pub offset_locked: Quantities,
    /// Offset consumed, over every case.
    pub offset_consumed: Quantities,
    /// How many cases are in each stage, in the order of the stages; stages with none left out.
    pub per_stage: Vec<StageCount>,
}

/// Whether a case in `stage` is live: it counts for the phase rules, the overlap rule and the
/// project's area.
pub fn is_live(stage: Stage) -> bool {
    !matches!(stage, Stage::Rejected | Stage::Withdrawn)
}

/// The totals of a project's cases.
pub fn totals(cases: &[CaseFigures]) -> ProjectTotals {
    let per_stage = Stage::ALL
        .iter()
        .filter_map(|&stage| {
            let n = cases.iter().filter(|c| c.stage == stage).count();
            (n > 0).then(|| StageCount {
                stage,
                cases: u32::try_from(n).unwrap_or(u32::MAX),
            })
        })
        .collect();
    ProjectTotals {
        live_area_m2: cases.iter().filter(|c| is_live(c.stage)).map(|c| c.area_m2).sum(),
        quota_held_mu: cases.iter().map(|c| c.quota.held_mu).sum(),
        quota_consumed_mu: cases.iter().map(|c| c.quota.consumed_mu).sum(),
        offset_locked: cases
            .iter()
            .fold(Quantities::ZERO, |s, c| s.plus(&c.offset.locked)),
        offset_consumed: cases
            .iter()
            .fold(Quantities::ZERO, |s, c| s.plus(&c.offset.consumed)),
        per_stage,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn live(n: u128, phase: Option<(PhaseKind, u32)>) -> LiveCase {
        LiveCase {
            id: id(n),
            phase,
            green: false,
        }
    }

    fn segment(number: i64) -> Phase {
        Phase::parse(PhaseKind::Segment, number, Some(" K0+000–K12+500 ")).unwrap()
    }

    #[test]
    fn a_phase_needs_a_number_from_one_and_a_name_that_is_not_blank_or_too_long() {
        assert_eq!(segment(1).name(), Some("K0+000–K12+500"));
        assert_eq!(
            Phase::parse(PhaseKind::Phase, 0, None),
            Err(PhaseInputError::NumberOutOfRange(0))
        );
        assert_eq!(
            Phase::parse(PhaseKind::Phase, -3, None).unwrap_err().field(),
            "number"
        );
        assert!(Phase::parse(PhaseKind::Phase, 999, None).is_ok());
        assert!(Phase::parse(PhaseKind::Phase, 1000, None).is_err());
        assert_eq!(
            Phase::parse(PhaseKind::Phase, 1, Some("  ")),
            Err(PhaseInputError::BlankName)
        );
        let long = "段".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            Phase::parse(PhaseKind::Phase, 1, Some(&long)),
            Err(PhaseInputError::NameTooLong(MAX_NAME_CHARS + 1))
        );
        assert_eq!(PhaseKind::parse("segment"), Ok(PhaseKind::Segment));
        assert!(PhaseKind::parse("Segment").is_err());
    }

    #[test]
    fn the_first_case_needs_no_phase_and_a_second_one_does() {
        assert_eq!(admit(None, false, &[]), Ok(()));
        assert_eq!(
            admit(None, true, &[live(1, Some((PhaseKind::Segment, 1)))]),
            Err(PhaseError::PhaseRequired { other: id(1) })
        );
    }

    #[test]
    fn phasing_is_only_for_a_project_on_the_green_channel() {
        assert_eq!(
            admit(Some(&segment(1)), false, &[]),
            Err(PhaseError::NotOnGreenChannel)
        );
        assert_eq!(admit(Some(&segment(1)), true, &[]), Ok(()));
        let granted = LiveCase {
            green: true,
            ..live(1, None)
        };
        assert!(project_on_green_channel(false, &[granted]));
        assert!(project_on_green_channel(true, &[]));
        assert!(!project_on_green_channel(false, &[live(1, None)]));
    }

    #[test]
    fn a_phase_is_refused_beside_a_live_case_without_one_of_the_other_kind_or_with_the_same_number() {
        assert_eq!(
            admit(Some(&segment(2)), true, &[live(1, None)]),
            Err(PhaseError::ProjectNotPhased { case: id(1) })
        );
        let phase_2 = Phase::parse(PhaseKind::Phase, 2, None).unwrap();
        assert_eq!(
            admit(Some(&phase_2), true, &[live(1, Some((PhaseKind::Segment, 1)))]),
            Err(PhaseError::MixedKinds {
                project_kind: PhaseKind::Segment,
                asked: PhaseKind::Phase
            })
        );
        let both = [
            live(1, Some((PhaseKind::Segment, 1))),
            live(2, Some((PhaseKind::Segment, 2))),
        ];
        assert_eq!(
            admit(Some(&segment(2)), true, &both),
            Err(PhaseError::Duplicate {
                kind: PhaseKind::Segment,
                number: 2,
                case: id(2)
            })
        );
        assert_eq!(admit(Some(&segment(3)), true, &both), Ok(()));
    }

    #[test]
    fn the_totals_sum_every_case_on_the_ledgers_and_only_the_live_ones_in_area() {
        let mu = |v: f64| Amount::parse(v).unwrap();
        let quantities = |area: f64| Quantities {
            area_m2: mu(area),
            paddy_m2: mu(area / 2.0),
            capacity_kg: mu(area / 10.0),
        };
        let case = |stage, area_m2, held, consumed, locked: f64, used: f64| CaseFigures {
            stage,
            area_m2,
            quota: QuotaPosition {
                needed_mu: None,
                held_mu: mu(held),
                consumed_mu: mu(consumed),
            },
            offset: OffsetPosition {
                needed: None,
                locked: quantities(locked),
                consumed: quantities(used),
            },
        };
        let cases = [
            case(Stage::Supply, 10_000.0, 0.0, 15.0, 0.0, 800.0),
            case(Stage::Conversion, 5_000.5, 7.5, 0.0, 400.0, 0.0),
            case(Stage::Withdrawn, 3_000.0, 0.0, 4.25, 0.0, 100.0),
            case(Stage::Conversion, 0.0, 0.0, 0.0, 0.0, 0.0),
        ];
        let t = totals(&cases);
        assert!((t.live_area_m2 - 15_000.5).abs() < 1e-9);
        assert_eq!(t.quota_held_mu, mu(7.5));
        assert_eq!(t.quota_consumed_mu, mu(19.25));
        assert_eq!(t.offset_locked, quantities(400.0));
        assert_eq!(t.offset_consumed, quantities(900.0));
        let stages: Vec<(Stage, u32)> = t.per_stage.iter().map(|s| (s.stage, s.cases)).collect();
        assert_eq!(
            stages,
            [(Stage::Conversion, 2), (Stage::Supply, 1), (Stage::Withdrawn, 1)]
        );
    }

    #[test]
    fn an_overlap_under_one_square_metre_does_not_count() {
        assert!(!overlap_counts(0.0));
        assert!(!overlap_counts(0.999));
        assert!(overlap_counts(1.0));
        assert!(overlap_counts(2500.0));
    }
}
