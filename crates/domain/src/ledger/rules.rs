//! Who may move a case's quota and offset, and at which stages: one table, like the stage
//! rules of [`crate::transition`].
//!
//! The stages follow the life of an allocation: quota is requested and allocated while the case
//! is before its conversion approval, and held until then; the approval (`conversion → supply`)
//! consumes what is held and locked, and from then on nothing returns. A case rejected or
//! withdrawn *before* the approval gives back what it holds ([`LedgerAction::ReturnOnClose`]);
//! one closed after it has nothing left to give (consumed quota and offsets stay consumed).

use std::fmt;

use serde::Serialize;

use crate::role::Role;
use crate::stage::Stage;

/// Something done to a case's side of the ledgers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerAction {
    /// Record (or change) what the case asks of its county's quota.
    RequestQuota,
    /// Cancel the request in force, so the case stops waiting.
    CancelQuotaRequest,
    /// Give the case its request in full from the county's account.
    AllocateQuota,
    /// A reviewer returns what the case holds (a mistake corrected before approval).
    ReleaseQuota,
    /// Lock offset indicators against the latest confirmed check, or bring a lock to it.
    LockOffset,
    /// A reviewer returns the case's outstanding lock before approval.
    ReleaseOffset,
    /// Use up a lock left over after the approval (the approval itself consumes).
    ConsumeOffset,
    /// What a case rejected or withdrawn before its approval holds goes back.
    ReturnOnClose,
}

impl LedgerAction {
    /// What the action does, in the words of a refusal ("quota cannot be allocated …").
    pub fn doing(self) -> &'static str {
        match self {
            LedgerAction::RequestQuota => "request quota",
            LedgerAction::CancelQuotaRequest => "cancel a quota request",
            LedgerAction::AllocateQuota => "allocate quota",
            LedgerAction::ReleaseQuota => "release quota",
            LedgerAction::LockOffset => "lock offset indicators",
            LedgerAction::ReleaseOffset => "release offset indicators",
            LedgerAction::ConsumeOffset => "consume offset indicators",
            LedgerAction::ReturnOnClose => "return what a closed case held",
        }
    }
}

impl fmt::Display for LedgerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.doing())
    }
}

/// One row of the ledger table: an action, who may take it and from which stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LedgerRule {
    /// The action.
    pub action: LedgerAction,
    /// The roles that may take it.
    pub roles: &'static [Role],
    /// The stages of the case it may be taken from.
    pub stages: &'static [Stage],
}

const BEFORE_APPROVAL: &[Stage] = &[
    Stage::Draft,
    Stage::Accepted,
    Stage::PreReview,
    Stage::Conversion,
    Stage::Correction,
];
const REVIEWED_BEFORE_APPROVAL: &[Stage] = &[
    Stage::Accepted,
    Stage::PreReview,
    Stage::Conversion,
    Stage::Correction,
];
const CHECKED_BEFORE_APPROVAL: &[Stage] = &[Stage::PreReview, Stage::Conversion, Stage::Correction];
const APPROVED: &[Stage] = &[Stage::Supply, Stage::Registration, Stage::Completed];
const CLOSED: &[Stage] = &[Stage::Rejected, Stage::Withdrawn];

static RULES: [LedgerRule; 8] = {
    use LedgerAction::{
        AllocateQuota, CancelQuotaRequest, ConsumeOffset, LockOffset, ReleaseOffset, ReleaseQuota,
        RequestQuota, ReturnOnClose,
    };
    use Role::{Officer, Reviewer};
    [
        LedgerRule {
            action: RequestQuota,
            roles: &[Officer, Reviewer],
            stages: BEFORE_APPROVAL,
        },
        LedgerRule {
            action: CancelQuotaRequest,
            roles: &[Officer, Reviewer],
            stages: BEFORE_APPROVAL,
        },
        LedgerRule {
            action: AllocateQuota,
            roles: &[Reviewer],
            stages: REVIEWED_BEFORE_APPROVAL,
        },
        LedgerRule {
            action: ReleaseQuota,
            roles: &[Reviewer],
            stages: REVIEWED_BEFORE_APPROVAL,
        },
        // A lock is made against a confirmed check, which exists from pre-review on.
        LedgerRule {
            action: LockOffset,
            roles: &[Reviewer],
            stages: CHECKED_BEFORE_APPROVAL,
        },
        LedgerRule {
            action: ReleaseOffset,
            roles: &[Reviewer],
            stages: REVIEWED_BEFORE_APPROVAL,
        },
        LedgerRule {
            action: ConsumeOffset,
            roles: &[Reviewer],
            stages: APPROVED,
        },
        // Whoever closes the case: the reviewer rejects, the officer withdraws.
        LedgerRule {
            action: ReturnOnClose,
            roles: &[Officer, Reviewer],
            stages: CLOSED,
        },
    ]
};

/// The ledger table.
pub fn rules() -> &'static [LedgerRule] {
    &RULES
}

/// Why a ledger action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LedgerRefusal {
    /// The role may never take the action.
    #[error("the role {role} may not {action}")]
    RoleMayNot {
        /// The actor's role.
        role: Role,
        /// The action.
        action: LedgerAction,
    },
    /// The case's stage does not allow the action.
    #[error("the case is {stage}; cannot {action} at that stage")]
    WrongStage {
        /// The case's stage.
        stage: Stage,
        /// The action.
        action: LedgerAction,
    },
}

/// Whether `role` may take `action` on a case at `stage`: the role first, then the stage, so
/// the same request always gets the same answer.
///
/// # Errors
/// [`LedgerRefusal::RoleMayNot`] or [`LedgerRefusal::WrongStage`].
///
/// ```
/// use landuse_domain::ledger::rules::{decide, LedgerAction, LedgerRefusal};
/// use landuse_domain::{role::Role, stage::Stage};
/// assert!(decide(LedgerAction::AllocateQuota, Role::Reviewer, Stage::Conversion).is_ok());
/// assert!(matches!(
///     decide(LedgerAction::ReleaseQuota, Role::Reviewer, Stage::Supply),
///     Err(LedgerRefusal::WrongStage { .. })
/// ));
/// ```
pub fn decide(action: LedgerAction, role: Role, stage: Stage) -> Result<(), LedgerRefusal> {
    role_may(action, role)?;
    if !rule_of(action).stages.contains(&stage) {
        return Err(LedgerRefusal::WrongStage { stage, action });
    }
    Ok(())
}

/// The stages a case may be at for `action`: for a store that selects the cases an action can
/// still reach (the waiting list) from the same table, not a list of its own.
pub fn stages_for(action: LedgerAction) -> &'static [Stage] {
    rule_of(action).stages
}

/// The role half of [`decide`], for a caller that refuses a request before loading the case.
///
/// # Errors
/// [`LedgerRefusal::RoleMayNot`].
pub fn role_may(action: LedgerAction, role: Role) -> Result<(), LedgerRefusal> {
    if rule_of(action).roles.contains(&role) {
        Ok(())
    } else {
        Err(LedgerRefusal::RoleMayNot { role, action })
    }
}

fn rule_of(action: LedgerAction) -> &'static LedgerRule {
    // Every action has its row: `every_action_has_exactly_one_row` holds the table to it.
    RULES
        .iter()
        .find(|r| r.action == action)
        .unwrap_or(&RULES[RULES.len() - 1])
}

/// Whether a case closed after leaving `left` gives back what it holds: only a case closed
/// before its conversion approval. One closed from `supply` on had its quota and offset
/// consumed by the approval, and consumed never returns.
pub fn returns_on_close(left: Stage) -> bool {
    BEFORE_APPROVAL.contains(&left)
}

/// Whether moving a case from `from` to `to` is the conversion approval, which consumes the
/// quota the case holds and the offset it has locked.
pub fn approval_consumes(from: Stage, to: Stage) -> bool {
    from == Stage::Conversion && to == Stage::Supply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_returns_or_is_allocated_once_the_conversion_is_approved() {
        for stage in APPROVED {
            for action in [
                LedgerAction::RequestQuota,
                LedgerAction::AllocateQuota,
                LedgerAction::ReleaseQuota,
                LedgerAction::LockOffset,
                LedgerAction::ReleaseOffset,
                LedgerAction::ReturnOnClose,
            ] {
                assert!(
                    decide(action, Role::Reviewer, *stage).is_err(),
                    "{action} at {stage}"
                );
            }
        }
    }

    #[test]
    fn only_a_reviewer_allocates_locks_and_releases() {
        for action in [
            LedgerAction::AllocateQuota,
            LedgerAction::ReleaseQuota,
            LedgerAction::LockOffset,
            LedgerAction::ReleaseOffset,
            LedgerAction::ConsumeOffset,
        ] {
            for role in [Role::Officer, Role::Planner, Role::Leader, Role::Admin, Role::Gis] {
                assert_eq!(
                    decide(action, role, Stage::Conversion),
                    Err(LedgerRefusal::RoleMayNot { role, action })
                );
            }
        }
    }

    #[test]
    fn a_case_closed_from_supply_returns_nothing_and_only_the_approval_consumes() {
        assert!(!returns_on_close(Stage::Supply));
        for stage in BEFORE_APPROVAL {
            assert!(returns_on_close(*stage), "{stage}");
        }
        assert!(approval_consumes(Stage::Conversion, Stage::Supply));
        assert!(!approval_consumes(Stage::Conversion, Stage::Correction));
        assert!(!approval_consumes(Stage::Correction, Stage::Conversion));
    }

    #[test]
    fn every_action_has_exactly_one_row() {
        use LedgerAction::{
            AllocateQuota, CancelQuotaRequest, ConsumeOffset, LockOffset, ReleaseOffset, ReleaseQuota,
            RequestQuota, ReturnOnClose,
        };
        let all = [
            RequestQuota,
            CancelQuotaRequest,
            AllocateQuota,
            ReleaseQuota,
            LockOffset,
            ReleaseOffset,
            ConsumeOffset,
            ReturnOnClose,
        ];
        for action in all {
            assert_eq!(
                rules().iter().filter(|r| r.action == action).count(),
                1,
                "{action}"
            );
        }
        assert_eq!(rules().len(), all.len());
    }
}
