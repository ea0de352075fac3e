//! One error for the three ledgers (quota, offsets, starts), and the one place it becomes an
//! HTTP answer.
//!
//! A refusal is answered with the status its kind calls for (403 for a role, 422 for a request
//! the ledger can never accept, 409 for one the ledger's current state refuses) and a problem
//! document whose `type` ends in [`LedgerError::code`]; where the refusal has figures (what is
//! left, what falls short and by how much), they are members of the document. A missing case,
//! indicator or project is 404, a stale project version 412, and a database failure whatever
//! [`ApiError`] makes of it.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::NaiveDate;
use landuse_domain::{
    county::CountyCode,
    ledger::{
        rules::{LedgerAction, LedgerRefusal},
        Amount, AmountError, Shortfall,
    },
    role::Role,
    stage::Stage,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::quotas::Holder;
use crate::{
    http::{error::ApiError, etag::etag},
    problem::Problem,
    store::DbError,
};

/// Why a ledger refused, or failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The county is not one of the region's.
    #[error("{0:?} is not a county of the region")]
    UnknownCounty(String),
    /// No such case.
    #[error("no such case")]
    NoSuchCase,
    /// No such offset indicator.
    #[error("no such offset indicator")]
    NoSuchIndicator,
    /// No such project.
    #[error("no such project")]
    NoSuchProject,
    /// The actor's role may not do this.
    #[error("the role {role} may not {doing}")]
    RoleMayNot {
        /// The actor's role.
        role: Role,
        /// What was asked, in the words of a refusal.
        doing: &'static str,
    },
    /// The case is at a stage where the action is not taken (the domain's ledger table).
    #[error("the case is {stage}; cannot {action} at that stage")]
    WrongStage {
        /// The case's stage.
        stage: Stage,
        /// What was asked.
        action: LedgerAction,
    },
    /// A zero amount, or a transfer that moves nothing.
    #[error("the amount must be more than zero")]
    ZeroAmount,

    /// The case has recorded no quota request (or cancelled it).
    #[error("the case has no quota request in force; record what it needs first")]
    NoRequest,
    /// The case already holds quota.
    #[error("the case already holds {mu} mu of {holder} {year} quota; release it first")]
    AlreadyAllocated {
        /// The account it holds from.
        holder: Holder,
        /// The account's year.
        year: i32,
        /// How much it holds.
        mu: Amount,
    },
    /// No quota account for that holder and year.
    #[error("no quota is set for {holder} in {year}")]
    NoAccount {
        /// The holder.
        holder: Holder,
        /// The year.
        year: i32,
    },
    /// The balance does not cover the amount.
    #[error("{holder} has {available} mu of {year} quota left; {needed} mu are needed")]
    Insufficient {
        /// The account's holder.
        holder: Holder,
        /// The account's year.
        year: i32,
        /// What was asked for.
        needed: Amount,
        /// What is left.
        available: Amount,
    },
    /// A key project's request in the same county and year waits unmet.
    #[error(
        "key projects are allocated first: {} key-project case(s) in {holder} wait for {year} quota",
        waiting.len()
    )]
    KeyProjectWaiting {
        /// The county's account.
        holder: Holder,
        /// The year.
        year: i32,
        /// The waiting key-project cases.
        waiting: Vec<Uuid>,
    },
    /// A new yearly amount below what is already allocated or transferred away.
    #[error("{holder} {year}: the yearly amount cannot drop to {granted} mu, {in_use} mu of it are in use")]
    GrantBelowInUse {
        /// The holder.
        holder: Holder,
        /// The year.
        year: i32,
        /// The amount asked for.
        granted: Amount,
        /// What is allocated or transferred away.
        in_use: Amount,
    },
    /// A quota transfer that does not go between a county and the pool.
    #[error("quota moves between a county and the municipal pool only")]
    TransferNotViaPool,

    /// An indicator that cannot be: no area, a paddy area above the area, no source project.
    #[error("{0}")]
    InvalidIndicator(&'static str),
    /// The case's latest spatial check is `missing`, `stale` or `not confirmed`.
    #[error("the case's latest spatial check is {0}; a lock needs a confirmed, current check")]
    CheckNotConfirmed(&'static str),
    /// The check found no cultivated land: nothing to lock.
    #[error("the confirmed check found no cultivated land; the case needs no offset")]
    NothingToLock,
    /// The case holds no offset lock.
    #[error("the case holds no offset lock")]
    NothingLocked,
    /// The county's indicators do not cover the case.
    #[error(
        "the offset indicators of {county} do not cover the case: {}",
        join(shortfalls)
    )]
    Shortfall {
        /// The county.
        county: CountyCode,
        /// Each quantity that falls short.
        shortfalls: Vec<Shortfall>,
    },
    /// An offset transfer of more than the indicator has left.
    #[error("the indicator has less left than the transfer asks: {}", join(shortfalls))]
    TransferExceedsAvailable {
        /// Each quantity that falls short.
        shortfalls: Vec<Shortfall>,
    },
    /// An offset transfer to the county that already holds the indicator.
    #[error("the indicator already belongs to {0}")]
    SameCounty(CountyCode),
    /// A figure of the check report is not a ledger amount.
    #[error("the check report has an unusable figure: {0}")]
    BadFigure(#[from] AmountError),

    /// The project changed since the caller read it.
    #[error("the project changed since it was read")]
    VersionMismatch {
        /// The project's current version.
        current: i64,
    },
    /// A start date after the bureau's today.
    #[error("a start date cannot be after today ({today})")]
    InTheFuture {
        /// The bureau's today.
        today: NaiveDate,
    },
    /// The stored start-rate goals do not parse.
    #[error("the start_rate_goals setting is not valid: {0}")]
    Goals(String),

    /// A database failure, or a stored row the ledgers cannot read.
    #[error(transparent)]
    Db(#[from] DbError),
}

fn join(shortfalls: &[Shortfall]) -> String {
    shortfalls
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The domain's ledger table refuses in two ways; both keep the words of the action.
impl From<LedgerRefusal> for LedgerError {
    fn from(refusal: LedgerRefusal) -> Self {
        match refusal {
            LedgerRefusal::RoleMayNot { role, action } => Self::RoleMayNot {
                role,
                doing: action.doing(),
            },
            LedgerRefusal::WrongStage { stage, action } => Self::WrongStage { stage, action },
        }
    }
}

impl LedgerError {
    /// A stable code, for problem types and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownCounty(_) => "unknown-county",
            Self::NoSuchCase => "no-such-case",
            Self::NoSuchIndicator => "no-such-indicator",
            Self::NoSuchProject => "no-such-project",
            Self::RoleMayNot { .. } => "role-may-not",
            Self::WrongStage { action, .. } => wrong_stage_code(*action),
            Self::ZeroAmount => "zero-amount",
            Self::NoRequest => "quota-no-request",
            Self::AlreadyAllocated { .. } => "quota-already-allocated",
            Self::NoAccount { .. } => "quota-no-account",
            Self::Insufficient { .. } => "quota-insufficient",
            Self::KeyProjectWaiting { .. } => "key-project-waiting",
            Self::GrantBelowInUse { .. } => "quota-grant-below-in-use",
            Self::TransferNotViaPool => "quota-transfer-not-via-pool",
            Self::InvalidIndicator(_) => "invalid-indicator",
            Self::CheckNotConfirmed(_) => "check-not-confirmed",
            Self::NothingToLock => "offset-not-needed",
            Self::NothingLocked => "offset-nothing-locked",
            Self::Shortfall { .. } => "offset-shortfall",
            Self::TransferExceedsAvailable { .. } => "offset-transfer-exceeds-available",
            Self::SameCounty(_) => "offset-same-county",
            Self::BadFigure(_) => "check-figure-unusable",
            Self::VersionMismatch { .. } => "stale-etag",
            Self::InTheFuture { .. } => "start-in-the-future",
            Self::Goals(_) | Self::Db(_) => "internal",
        }
    }

    /// The status of a refusal: the role (403), a request no state of the ledger would accept
    /// (422), or one its current state refuses (409).
    fn refusal_status(&self) -> StatusCode {
        match self {
            Self::RoleMayNot { .. } => StatusCode::FORBIDDEN,
            Self::UnknownCounty(_)
            | Self::ZeroAmount
            | Self::TransferNotViaPool
            | Self::InvalidIndicator(_)
            | Self::SameCounty(_)
            | Self::InTheFuture { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        }
    }

    /// What the API answers for the errors that are not the ledger's refusals (nothing there,
    /// a stale version, a failure); `Err` with the refusal itself otherwise.
    fn not_a_refusal(self) -> Result<ApiError, Self> {
        Ok(match self {
            Self::Db(error) => error.into(),
            Self::NoSuchCase => ApiError::NotFound("case"),
            Self::NoSuchIndicator => ApiError::NotFound("offset indicator"),
            Self::NoSuchProject => ApiError::NotFound("project"),
            Self::VersionMismatch { current } => ApiError::PreconditionFailed {
                current: etag(current),
            },
            error @ Self::Goals(_) => ApiError::internal("reading the start-rate goals", error),
            refusal => return Err(refusal),
        })
    }

    /// The refusal's figures, as members of its problem document.
    fn figures(&self) -> Vec<(&'static str, Value)> {
        match self {
            Self::Insufficient {
                holder,
                year,
                needed,
                available,
            } => vec![
                ("holder", json!(holder)),
                ("year", json!(year)),
                ("needed_mu", json!(needed)),
                ("available_mu", json!(available)),
                ("short_by_mu", json!(*needed - *available)),
            ],
            Self::KeyProjectWaiting {
                holder,
                year,
                waiting,
            } => vec![
                ("holder", json!(holder)),
                ("year", json!(year)),
                ("waiting_cases", json!(waiting)),
            ],
            Self::AlreadyAllocated { holder, year, mu } => {
                vec![
                    ("holder", json!(holder)),
                    ("year", json!(year)),
                    ("mu", json!(mu)),
                ]
            }
            Self::GrantBelowInUse { in_use, .. } => vec![("in_use_mu", json!(in_use))],
            Self::Shortfall { county, shortfalls } => vec![
                ("county_code", json!(county.as_str())),
                ("shortfalls", json!(shortfalls)),
            ],
            Self::TransferExceedsAvailable { shortfalls } => vec![("shortfalls", json!(shortfalls))],
            _ => Vec::new(),
        }
    }
}

/// Which ledger a wrong stage is reported for: the action names it. A return on close touches
/// both, and is only ever asked by the workflow of a case it has just closed.
fn wrong_stage_code(action: LedgerAction) -> &'static str {
    match action {
        LedgerAction::RequestQuota
        | LedgerAction::CancelQuotaRequest
        | LedgerAction::AllocateQuota
        | LedgerAction::ReleaseQuota => "quota-wrong-stage",
        LedgerAction::LockOffset | LedgerAction::ReleaseOffset | LedgerAction::ConsumeOffset => {
            "offset-wrong-stage"
        }
        LedgerAction::ReturnOnClose => "ledger-wrong-stage",
    }
}

/// For callers whose error is [`ApiError`] (the case workflow): the same status and problem
/// type as [`LedgerError::into_response`], without the figures.
impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match error.not_a_refusal() {
            Ok(answer) => answer,
            Err(refusal) => {
                let (slug, detail) = (refusal.code(), refusal.to_string());
                match refusal.refusal_status() {
                    StatusCode::FORBIDDEN => ApiError::Forbidden(detail),
                    StatusCode::UNPROCESSABLE_ENTITY => ApiError::Invalid {
                        slug,
                        detail,
                        field: None,
                    },
                    _ => ApiError::conflict(slug, detail),
                }
            }
        }
    }
}

/// The ledgers' own handlers: a refusal as a problem document with its figures.
impl IntoResponse for LedgerError {
    fn into_response(self) -> Response {
        match self.not_a_refusal() {
            Ok(answer) => answer.into_response(),
            Err(refusal) => {
                let status = refusal.refusal_status();
                let title = match status {
                    StatusCode::FORBIDDEN => "Forbidden",
                    StatusCode::UNPROCESSABLE_ENTITY => "Invalid request",
                    _ => "Refused by the ledger",
                };
                let problem = Problem::new(status, refusal.code(), title).with_detail(refusal.to_string());
                refusal
                    .figures()
                    .into_iter()
                    .fold(problem, |problem, (key, value)| problem.with(key, value))
                    .into_response()
            }
        }
    }
}
