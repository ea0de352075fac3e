//! Which action may move a case, by whom, and on what conditions.
//!
//! The rules are one table ([`rules`]): each row names an action, the stage it
//! is taken from, where it leads, the role that may take it, whether it needs
//! a reason, and its preconditions over the [`CaseFacts`] the caller loads.
//! [`decide`] looks the row up and either returns the [`TransitionEvent`] to
//! append to the case's history, or a [`TransitionError`] naming the rule that
//! refused it. Nothing else changes; the caller persists the event and the new
//! state in one transaction.
//!
//! Refusals are checked in a fixed order, so the same request always gets the
//! same answer: the role first (a role that may never take the action), then
//! the stage, then the reason, then the preconditions in table order.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::approval::MissingApproval;
use crate::check::{CheckVerdict, LayerKind, LayerResult};
use crate::green::{self, UncoveredAdvanceUse};
use crate::ledger::{Amount, OffsetPosition, QuotaPosition, Shortfall};
use crate::overlay::OverlayGap;
use crate::reason::Reason;
use crate::role::{Actor, Role};
use crate::stage::{CaseState, Stage};

/// Something a person does to a case.
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
pub enum Action {
    /// The county officer submits a draft to the municipal bureau (`draft → accepted`).
    Submit,
    /// The reviewer moves the case to the next stage on the main path. From
    /// `accepted` this is the confirmation that the file is complete.
    Advance,
    /// The reviewer returns the case to the applicant for more material; the
    /// case remembers the stage it left and its clock stops.
    RequestCorrection,
    /// The county officer answers a correction; the case goes back to the stage it left.
    AnswerCorrection,
    /// The reviewer refuses the case (final).
    Reject,
    /// The county officer withdraws the case (final).
    Withdraw,
}

impl Action {
    /// Every action.
    pub const ALL: &'static [Action] = <Action as strum::VariantArray>::VARIANTS;

    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Parses an action code.
    ///
    /// # Errors
    /// [`UnknownAction`] when `code` is not exactly one of the codes.
    pub fn parse(code: &str) -> Result<Self, UnknownAction> {
        crate::code::parse(code).ok_or_else(|| UnknownAction(code.to_owned()))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The text is not one of the action codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action {0:?}")]
pub struct UnknownAction(pub String);

/// Where a rule leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A fixed stage.
    Stage(Stage),
    /// The stage the case left when it was returned for correction.
    StageLeft,
}

/// A condition a rule needs, checked against [`CaseFacts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr, strum::VariantArray)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Precondition {
    /// The latest spatial check is confirmed by a planner, not stale, checked
    /// every layer, and found nothing `prohibited`.
    CheckPassed,
    /// The pre-review and site-selection opinion is issued.
    OpinionIssued,
    /// The construction-land quota the case holds covers what its confirmed check says it
    /// needs (配足).
    QuotaAllocated,
    /// When the check found cultivated land: the locked offset covers the cultivated area, the
    /// paddy area and the grain capacity of the latest confirmed check.
    OffsetLockedIfCultivated,
    /// The conversion and expropriation approval is recorded.
    ConversionApproved,
    /// The supply decision is recorded, with the standard-land indicators for industrial land.
    SupplyDecisionRecorded,
    /// The real-estate certificate number is recorded.
    CertificateRecorded,
    /// Every record the latest confirmed check calls for before this transition is recorded
    /// ([`crate::approval`]).
    ApprovalsRecorded,
    /// Every approved advance-use parcel of the case's project lies within the parcels of the
    /// project's live cases, this case included ([`crate::green`]).
    AdvanceUseCovered,
    /// When the latest confirmed check counts a `needs_overlay_approval` hit: an overlay query
    /// answered favourably and still valid ([`crate::overlay`]).
    OverlayAnswered,
}

impl Precondition {
    /// The stable code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    fn check(self, facts: &CaseFacts, from: Stage) -> Result<(), TransitionError> {
        match self {
            Precondition::ApprovalsRecorded => {
                let missing: Vec<MissingApproval> = facts
                    .approvals_missing
                    .iter()
                    .filter(|m| m.before_from == from)
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(TransitionError::ApprovalMissing { missing })
                }
            }
            Precondition::AdvanceUseCovered => {
                let uncovered = green::uncovered(&facts.advance_use_uncovered);
                if uncovered.is_empty() {
                    Ok(())
                } else {
                    Err(TransitionError::AdvanceUseUncovered { uncovered })
                }
            }
            Precondition::OverlayAnswered => match &facts.overlay_gap {
                Some(gap) => Err(TransitionError::OverlayAnswerMissing { gap: gap.clone() }),
                None => Ok(()),
            },
            Precondition::CheckPassed => facts.check.passed(),
            Precondition::OpinionIssued => present(
                facts.pre_review_opinion.as_deref(),
                TransitionError::OpinionNotIssued,
            ),
            Precondition::QuotaAllocated => match facts.quota.shortfall() {
                None => Err(TransitionError::QuotaNeedUnknown),
                Some(short_by) if !short_by.is_zero() => Err(TransitionError::QuotaShort {
                    needed: facts.quota.needed_mu.unwrap_or_default(),
                    held: facts.quota.held_mu + facts.quota.consumed_mu,
                    short_by,
                }),
                Some(_) => Ok(()),
            },
            Precondition::OffsetLockedIfCultivated if facts.check.cultivated_land_found() => {
                match facts.offset.shortfalls() {
                    None => Err(TransitionError::OffsetNeedUnknown),
                    Some(shortfalls) if !shortfalls.is_empty() => {
                        Err(TransitionError::OffsetShort { shortfalls })
                    }
                    Some(_) => Ok(()),
                }
            }
            Precondition::ConversionApproved => present(
                facts.conversion_approval.as_deref(),
                TransitionError::ConversionNotApproved,
            ),
            Precondition::SupplyDecisionRecorded => match &facts.supply_decision {
                None => Err(TransitionError::SupplyDecisionMissing),
                Some(decision) if decision.industrial && !decision.standard_land_indicators_present => {
                    Err(TransitionError::StandardLandIndicatorsMissing)
                }
                Some(_) => Ok(()),
            },
            Precondition::CertificateRecorded => present(
                facts.certificate_number.as_deref(),
                TransitionError::CertificateMissing,
            ),
            Precondition::OffsetLockedIfCultivated => Ok(()),
        }
    }
}

/// `Ok` when `text` is present and not blank, else `missing`.
fn present(text: Option<&str>, missing: TransitionError) -> Result<(), TransitionError> {
    match text {
        Some(text) if !text.trim().is_empty() => Ok(()),
        _ => Err(missing),
    }
}

/// One row of the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// The action.
    pub action: Action,
    /// The stage the action is taken from.
    pub from: Stage,
    /// Where it leads.
    pub to: Target,
    /// The only role that may take it.
    pub role: Role,
    /// Whether the actor must give a reason.
    pub reason_required: bool,
    /// Conditions checked in this order; the first that fails refuses.
    pub requires: &'static [Precondition],
}

const fn rule(
    action: Action,
    from: Stage,
    to: Target,
    role: Role,
    reason_required: bool,
    requires: &'static [Precondition],
) -> Rule {
    Rule {
        action,
        from,
        to,
        role,
        reason_required,
        requires,
    }
}

static RULES: [Rule; 21] = {
    use Action::{Advance, AnswerCorrection, Reject, RequestCorrection, Submit, Withdraw};
    use Precondition::{
        AdvanceUseCovered, ApprovalsRecorded, CertificateRecorded, CheckPassed, ConversionApproved,
        OffsetLockedIfCultivated, OpinionIssued, OverlayAnswered, QuotaAllocated, SupplyDecisionRecorded,
    };
    use Role::{Officer, Reviewer};
    use Stage::{
        Accepted, Completed, Conversion, Correction, Draft, PreReview, Registration, Rejected, Supply,
        Withdrawn,
    };
    use Target::{Stage as To, StageLeft};
    [
        rule(Submit, Draft, To(Accepted), Officer, false, &[]),
        // Advancing from `accepted` is the reviewer's confirmation that the file is complete.
        rule(Advance, Accepted, To(PreReview), Reviewer, false, &[]),
        rule(
            Advance,
            PreReview,
            To(Conversion),
            Reviewer,
            false,
            &[CheckPassed, ApprovalsRecorded, OpinionIssued, AdvanceUseCovered],
        ),
        // The check is asked for again: a parcel changed during conversion makes
        // it stale, and the offset depends on the cultivated land it found.
        rule(
            Advance,
            Conversion,
            To(Supply),
            Reviewer,
            false,
            &[
                CheckPassed,
                ApprovalsRecorded,
                OverlayAnswered,
                QuotaAllocated,
                OffsetLockedIfCultivated,
                ConversionApproved,
            ],
        ),
        rule(
            Advance,
            Supply,
            To(Registration),
            Reviewer,
            false,
            &[SupplyDecisionRecorded],
        ),
        rule(
            Advance,
            Registration,
            To(Completed),
            Reviewer,
            false,
            &[CertificateRecorded],
        ),
        rule(RequestCorrection, Accepted, To(Correction), Reviewer, true, &[]),
        rule(RequestCorrection, PreReview, To(Correction), Reviewer, true, &[]),
        rule(RequestCorrection, Conversion, To(Correction), Reviewer, true, &[]),
        rule(RequestCorrection, Supply, To(Correction), Reviewer, true, &[]),
        rule(AnswerCorrection, Correction, StageLeft, Officer, false, &[]),
        rule(Reject, Accepted, To(Rejected), Reviewer, true, &[]),
        rule(Reject, PreReview, To(Rejected), Reviewer, true, &[]),
        rule(Reject, Conversion, To(Rejected), Reviewer, true, &[]),
        rule(Reject, Supply, To(Rejected), Reviewer, true, &[]),
        // Withdrawing is possible until the land is supplied; after that the
        // registration of a right already granted is not the applicant's to drop.
        rule(Withdraw, Draft, To(Withdrawn), Officer, true, &[]),
        rule(Withdraw, Accepted, To(Withdrawn), Officer, true, &[]),
        rule(Withdraw, PreReview, To(Withdrawn), Officer, true, &[]),
        rule(Withdraw, Conversion, To(Withdrawn), Officer, true, &[]),
        rule(Withdraw, Supply, To(Withdrawn), Officer, true, &[]),
        rule(Withdraw, Correction, To(Withdrawn), Officer, true, &[]),
    ]
};

/// The transition table, one row per action and stage it is allowed from.
///
/// Stages and actions missing from the table are refused with
/// [`TransitionError::NotAllowedFrom`].
pub fn rules() -> &'static [Rule] {
    &RULES
}

/// The row for `action` from `stage`, if the action is allowed there.
pub fn rule_for(action: Action, stage: Stage) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.action == action && r.from == stage)
}

/// Where the latest spatial check of a case stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CheckFacts {
    /// No check has run.
    #[default]
    None,
    /// A check ran but no planner has confirmed it.
    Unconfirmed,
    /// A parcel changed after the latest check, which no longer describes the case.
    Stale,
    /// A planner confirmed the latest check, and no parcel has changed since.
    Confirmed(CheckSummary),
}

impl CheckFacts {
    fn passed(&self) -> Result<(), TransitionError> {
        match self {
            CheckFacts::None => Err(TransitionError::CheckMissing),
            CheckFacts::Unconfirmed => Err(TransitionError::CheckNotConfirmed),
            CheckFacts::Stale => Err(TransitionError::CheckStale),
            CheckFacts::Confirmed(summary) if summary.worst == LayerResult::Prohibited => {
                Err(TransitionError::CheckProhibited)
            }
            CheckFacts::Confirmed(summary) if !summary.unchecked_layers.is_empty() => {
                Err(TransitionError::CheckIncomplete {
                    layers: summary.unchecked_layers.clone(),
                })
            }
            CheckFacts::Confirmed(_) => Ok(()),
        }
    }

    /// Whether the confirmed check found cultivated land. Without a confirmed
    /// check the answer is `true`: an unknown must not waive the offset.
    pub fn cultivated_land_found(&self) -> bool {
        match self {
            CheckFacts::Confirmed(summary) => summary.cultivated_land_found,
            CheckFacts::None | CheckFacts::Unconfirmed | CheckFacts::Stale => true,
        }
    }
}

/// What a confirmed check found, as far as the stage rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSummary {
    /// The case's combined result (worst of the layers).
    pub worst: LayerResult,
    /// Whether cultivated land counted (beyond slivers and dismissals).
    pub cultivated_land_found: bool,
    /// Layers reported `not_checked`. A check with any is incomplete.
    #[serde(default)]
    pub unchecked_layers: Vec<LayerKind>,
}

impl From<&CheckVerdict> for CheckSummary {
    fn from(verdict: &CheckVerdict) -> Self {
        Self {
            worst: verdict.result,
            cultivated_land_found: verdict.cultivated_land_found,
            unchecked_layers: verdict.unchecked.clone(),
        }
    }
}

/// How the land is supplied (供地方式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SupplyMethod {
    /// 划拨: allocation.
    Allocation,
    /// 出让: transfer of use rights.
    Transfer,
    /// 租赁: lease.
    Lease,
}

/// The recorded supply decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupplyDecision {
    /// How the land is supplied.
    pub method: SupplyMethod,
    /// Whether the land is for industrial use.
    pub industrial: bool,
    /// For industrial land: whether the standard-land indicators (标准地指标) are present.
    pub standard_land_indicators_present: bool,
}

/// What the caller knows about a case, loaded before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFacts {
    /// The latest spatial check.
    #[serde(default)]
    pub check: CheckFacts,
    /// Number of the pre-review and site-selection opinion, once issued.
    #[serde(default)]
    pub pre_review_opinion: Option<String>,
    /// The case's quota: needed (from the confirmed check), held, consumed.
    #[serde(default)]
    pub quota: QuotaPosition,
    /// The case's farmland offset: needed, locked, consumed.
    #[serde(default)]
    pub offset: OffsetPosition,
    /// Number of the conversion and expropriation approval, once recorded.
    #[serde(default)]
    pub conversion_approval: Option<String>,
    /// The supply decision, once recorded.
    #[serde(default)]
    pub supply_decision: Option<SupplyDecision>,
    /// The real-estate certificate number, once recorded.
    #[serde(default)]
    pub certificate_number: Option<String>,
    /// The approval records the latest confirmed check calls for and that are not recorded
    /// ([`crate::approval::missing`]), each with the transition it blocks.
    #[serde(default)]
    pub approvals_missing: Vec<MissingApproval>,
    /// For each approved advance-use request of the case's project, the area of its parcels
    /// outside the parcels of the project's live cases, this case included (the store measures,
    /// [`green::uncovered`] decides what counts).
    #[serde(default)]
    pub advance_use_uncovered: Vec<UncoveredAdvanceUse>,
    /// When the latest confirmed check calls for an overlay query and no favourable answer is
    /// valid today: what is missing ([`crate::overlay::gap`]).
    #[serde(default)]
    pub overlay_gap: Option<OverlayGap>,
}

/// Why a transition was refused. Each variant names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The action is not allowed from the case's current stage.
    #[error("{action} is not allowed from {stage}")]
    NotAllowedFrom {
        /// The case's stage.
        stage: Stage,
        /// The action asked for.
        action: Action,
    },
    /// The actor's role may not take this action.
    #[error("the role {role} may not {action}")]
    RoleMayNot {
        /// The actor's role.
        role: Role,
        /// The action asked for.
        action: Action,
    },
    /// The action needs a reason and none (or a blank one) was given.
    #[error("{action} needs a reason")]
    ReasonRequired {
        /// The action asked for.
        action: Action,
    },
    /// The reason is too long.
    #[error("the reason is too long: {chars} characters")]
    ReasonTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// No spatial check has run.
    #[error("the case has no spatial check")]
    CheckMissing,
    /// The latest spatial check is not confirmed by a planner.
    #[error("the latest spatial check is not confirmed by a planner")]
    CheckNotConfirmed,
    /// A parcel changed after the latest check.
    #[error("the latest spatial check is stale: a parcel changed after it ran")]
    CheckStale,
    /// The confirmed check found a prohibited overlap.
    #[error("the spatial check found a prohibited overlap")]
    CheckProhibited,
    /// The confirmed check could not check some layers.
    #[error("the spatial check did not check every layer: {}", join_codes(layers))]
    CheckIncomplete {
        /// The layers reported `not_checked`.
        layers: Vec<LayerKind>,
    },
    /// The pre-review opinion is not issued.
    #[error("the pre-review and site-selection opinion is not issued")]
    OpinionNotIssued,
    /// What the case needs is not known: it is computed from a confirmed check.
    #[error("the quota the case needs is not known: it is computed from a confirmed spatial check")]
    QuotaNeedUnknown,
    /// The quota held does not cover the need.
    #[error(
        "the case holds {held} mu of construction-land quota and needs {needed} mu: {short_by} mu short"
    )]
    QuotaShort {
        /// What the confirmed check says the case needs, in mu.
        needed: Amount,
        /// What it holds (or has consumed), in mu.
        held: Amount,
        /// The difference.
        short_by: Amount,
    },
    /// The offset the case needs is not known: no grain capacity was ever stated for it.
    #[error("the case takes cultivated land and no farmland offset is locked: lock it with the grain capacity from the land-quality grading")]
    OffsetNeedUnknown,
    /// The locked offset does not cover what the latest confirmed check measures.
    #[error(
        "the locked farmland offset does not cover the latest confirmed check: {}",
        join_shortfalls(shortfalls)
    )]
    OffsetShort {
        /// Each quantity short, with what is needed and locked.
        shortfalls: Vec<Shortfall>,
    },
    /// The conversion approval is not recorded.
    #[error("the conversion and expropriation approval is not recorded")]
    ConversionNotApproved,
    /// No supply decision is recorded.
    #[error("no supply decision is recorded")]
    SupplyDecisionMissing,
    /// Industrial land without the standard-land indicators.
    #[error("industrial land needs the standard-land indicators")]
    StandardLandIndicatorsMissing,
    /// No certificate number is recorded.
    #[error("no real-estate certificate number is recorded")]
    CertificateMissing,
    /// A record the confirmed check calls for is missing.
    #[error("approval records missing: {}", join_missing(missing))]
    ApprovalMissing {
        /// Each record missing, for which hit.
        missing: Vec<MissingApproval>,
    },
    /// Approved advance-use parcels of the project lie outside its live cases' parcels.
    #[error(
        "the project's cases do not cover its approved advance use: {}",
        join_uncovered(uncovered)
    )]
    AdvanceUseUncovered {
        /// Each request not covered, with the area left uncovered.
        uncovered: Vec<UncoveredAdvanceUse>,
    },
    /// The confirmed check hits a mineral deposit and no favourable overlay answer is valid.
    #[error("a valid overlay query answer (压覆矿产查询) is missing: {gap}")]
    OverlayAnswerMissing {
        /// What is missing: no answer, a refusal, or a lapsed answer.
        gap: OverlayGap,
    },
}

fn join_uncovered(uncovered: &[UncoveredAdvanceUse]) -> String {
    uncovered
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn join_missing(missing: &[MissingApproval]) -> String {
    missing
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn join_shortfalls(shortfalls: &[Shortfall]) -> String {
    shortfalls
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn join_codes(layers: &[LayerKind]) -> String {
    layers.iter().map(|l| l.code()).collect::<Vec<_>>().join(", ")
}

/// How a refusal maps onto the caller's world: the API turns these into 403,
/// 409 and 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The actor may not do this at all.
    Forbidden,
    /// The case is not in a state that allows it.
    Conflict,
    /// The request itself is incomplete (a missing reason).
    Invalid,
}

impl TransitionError {
    /// A stable code for the rule, for problem types and logs.
    pub fn code(&self) -> &'static str {
        match self {
            TransitionError::NotAllowedFrom { .. } => "not-allowed-from",
            TransitionError::RoleMayNot { .. } => "role-may-not",
            TransitionError::ReasonRequired { .. } => "reason-required",
            TransitionError::ReasonTooLong { .. } => "reason-too-long",
            TransitionError::CheckMissing => "check-missing",
            TransitionError::CheckNotConfirmed => "check-not-confirmed",
            TransitionError::CheckStale => "check-stale",
            TransitionError::CheckProhibited => "check-prohibited",
            TransitionError::CheckIncomplete { .. } => "check-incomplete",
            TransitionError::OpinionNotIssued => "opinion-not-issued",
            TransitionError::QuotaNeedUnknown => "quota-need-unknown",
            TransitionError::QuotaShort { .. } => "quota-short",
            TransitionError::OffsetNeedUnknown => "offset-not-locked",
            TransitionError::OffsetShort { .. } => "offset-short",
            TransitionError::ConversionNotApproved => "conversion-not-approved",
            TransitionError::SupplyDecisionMissing => "supply-decision-missing",
            TransitionError::StandardLandIndicatorsMissing => "standard-land-indicators-missing",
            TransitionError::CertificateMissing => "certificate-missing",
            TransitionError::ApprovalMissing { .. } => "approval-missing",
            TransitionError::AdvanceUseUncovered { .. } => "advance-use-uncovered",
            TransitionError::OverlayAnswerMissing { gap } => gap.code(),
        }
    }

    /// What kind of refusal this is.
    pub fn refusal(&self) -> Refusal {
        match self {
            TransitionError::RoleMayNot { .. } => Refusal::Forbidden,
            TransitionError::ReasonRequired { .. } | TransitionError::ReasonTooLong { .. } => {
                Refusal::Invalid
            }
            _ => Refusal::Conflict,
        }
    }
}

/// One transition, for the case's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionEvent {
    /// The action taken.
    pub action: Action,
    /// Who took it.
    pub actor: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// The stage before.
    pub from: Stage,
    /// The stage after.
    pub to: Stage,
    /// Why, when given.
    pub reason: Option<Reason>,
    /// The full state after, including the stage a correction returns to.
    pub state_after: CaseState,
}

/// Decides whether `actor` may take `action` on a case in `current`, given
/// `facts`, at `now`.
///
/// # Errors
/// [`TransitionError`] naming the first rule that refuses, in this order:
/// [`RoleMayNot`](TransitionError::RoleMayNot) when no row lets the actor's
/// role take the action; [`NotAllowedFrom`](TransitionError::NotAllowedFrom)
/// when the action has no row for the current stage;
/// [`ReasonRequired`](TransitionError::ReasonRequired) when the row needs a
/// reason and `reason` is missing or blank; then the row's preconditions.
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// # use uuid::Uuid;
/// use landuse_domain::role::{Actor, Role};
/// use landuse_domain::stage::{CaseState, Stage};
/// use landuse_domain::transition::{decide, Action, CaseFacts, TransitionError};
/// let officer = Actor::new(Uuid::nil(), Role::Officer);
/// let now = Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap();
/// let event = decide(&CaseState::draft(), Action::Submit, &officer, &CaseFacts::default(), now, None)?;
/// assert_eq!((event.from, event.to), (Stage::Draft, Stage::Accepted));
///
/// let refused = decide(&event.state_after, Action::Advance, &officer, &CaseFacts::default(), now, None);
/// assert_eq!(refused.unwrap_err().code(), "role-may-not");
/// # Ok::<(), TransitionError>(())
/// ```
pub fn decide(
    current: &CaseState,
    action: Action,
    actor: &Actor,
    facts: &CaseFacts,
    now: DateTime<Utc>,
    reason: Option<String>,
) -> Result<TransitionEvent, TransitionError> {
    let stage = current.stage();
    let any_row_for_role = RULES.iter().any(|r| r.action == action && r.role == actor.role);
    if !any_row_for_role {
        return Err(TransitionError::RoleMayNot {
            role: actor.role,
            action,
        });
    }
    let row = rule_for(action, stage).ok_or(TransitionError::NotAllowedFrom { stage, action })?;
    if row.role != actor.role {
        return Err(TransitionError::RoleMayNot {
            role: actor.role,
            action,
        });
    }
    let reason = match reason.map(Reason::parse) {
        Some(Ok(reason)) => Some(reason),
        Some(Err(crate::reason::ReasonError::TooLong(chars))) => {
            return Err(TransitionError::ReasonTooLong { chars })
        }
        Some(Err(crate::reason::ReasonError::Blank)) | None => None,
    };
    if row.reason_required && reason.is_none() {
        return Err(TransitionError::ReasonRequired { action });
    }
    for precondition in row.requires {
        precondition.check(facts, stage)?;
    }
    let state_after = match row.to {
        Target::Stage(Stage::Correction) => CaseState::in_correction(stage),
        Target::Stage(to) => CaseState::at(to),
        Target::StageLeft => current.returns_to().map_or(CaseState::at(stage), CaseState::at),
    }
    // The table only sends municipal stages to correction and only fixed,
    // non-correction stages elsewhere, so this cannot fail; refuse rather than panic.
    .map_err(|_| TransitionError::NotAllowedFrom { stage, action })?;
    Ok(TransitionEvent {
        action,
        actor: *actor,
        at: now,
        from: stage,
        to: state_after.stage(),
        reason,
        state_after,
    })
}
