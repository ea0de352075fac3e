//! The green channel (绿色通道): who is on it, queue order, and advance use.
//!
//! A case is on the green channel when its project is on a key-project list,
//! or when a `leader` grants it with a reason; a grant can be revoked (by a
//! leader, with a reason), and both are audited. Green cases get the shorter
//! limits ([`crate::limits::Channel::Green`]), come first in every queue
//! ([`QueueKey`]), and may ask for advance use ([`advance_use`]) and for phased
//! or segmented cases ([`phasing_allowed`]).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::project::{ProjectLevel, ProjectSector};
use crate::reason::{Reason, ReasonError};
use crate::role::{Actor, Role};
use crate::units::SquareMetres;

/// Why a green-channel decision was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GreenError {
    /// Only a leader may grant or revoke the green channel.
    #[error("a {0} may not grant or revoke the green channel; only a leader may")]
    RoleMayNot(Role),
    /// The reason is blank or too long.
    #[error(transparent)]
    Reason(#[from] ReasonError),
    /// A grant is already in force.
    #[error("the green channel is already granted")]
    AlreadyGranted,
    /// There is no grant in force to revoke.
    #[error("there is no green-channel grant to revoke")]
    NotGranted,
    /// The case is not on the green channel.
    #[error("the case is not on the green channel")]
    NotOnGreenChannel,
}

impl GreenError {
    /// A stable code for problem types.
    pub fn code(&self) -> &'static str {
        match self {
            GreenError::RoleMayNot(_) => "role-may-not",
            GreenError::Reason(ReasonError::Blank) => "reason-required",
            GreenError::Reason(ReasonError::TooLong(_)) => "reason-too-long",
            GreenError::AlreadyGranted => "green-already-granted",
            GreenError::NotGranted => "green-not-granted",
            GreenError::NotOnGreenChannel => "not-on-green-channel",
        }
    }
}

/// The revocation of a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The leader who revoked it.
    pub by: Uuid,
    /// Why.
    pub reason: Reason,
    /// When.
    pub at: DateTime<Utc>,
}

/// A leader's grant of the green channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The leader who granted it.
    pub by: Uuid,
    /// Why.
    pub reason: Reason,
    /// When.
    pub at: DateTime<Utc>,
    /// The revocation, once revoked.
    #[serde(default)]
    pub revoked: Option<Revocation>,
}

impl Grant {
    /// Whether the grant is in force (not revoked).
    pub fn is_active(&self) -> bool {
        self.revoked.is_none()
    }
}

/// Why a case is on the green channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GreenBasis {
    /// Its project is on a key-project list.
    KeyProject,
    /// A leader granted it.
    LeaderGrant,
}

fn leader_reason(actor: &Actor, reason: &str) -> Result<Reason, GreenError> {
    if actor.role != Role::Leader {
        return Err(GreenError::RoleMayNot(actor.role));
    }
    Ok(Reason::parse(reason)?)
}

/// A case's green-channel standing: key-project listing and the latest grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GreenChannel {
    /// Whether the case's project is on a key-project list.
    pub key_project: bool,
    /// The latest leader grant, revoked or not.
    #[serde(default)]
    pub grant: Option<Grant>,
}

impl GreenChannel {
    /// Why the case is on the green channel, or `None` when it is not. The
    /// key-project listing is named first when both apply.
    pub fn basis(&self) -> Option<GreenBasis> {
        if self.key_project {
            Some(GreenBasis::KeyProject)
        } else if self.grant.as_ref().is_some_and(Grant::is_active) {
            Some(GreenBasis::LeaderGrant)
        } else {
            None
        }
    }

    /// Whether the case is on the green channel.
    pub fn is_active(&self) -> bool {
        self.basis().is_some()
    }

    /// A leader's grant, to store as the case's grant. Allowed on a key-project
    /// case too, so the case stays green if its project leaves the list.
    ///
    /// # Errors
    /// [`GreenError::RoleMayNot`] unless `actor` is a leader,
    /// [`GreenError::Reason`] for a blank reason,
    /// [`GreenError::AlreadyGranted`] when a grant is in force.
    pub fn grant(&self, actor: &Actor, reason: &str, now: DateTime<Utc>) -> Result<Grant, GreenError> {
        let reason = leader_reason(actor, reason)?;
        if self.grant.as_ref().is_some_and(Grant::is_active) {
            return Err(GreenError::AlreadyGranted);
        }
        Ok(Grant {
            by: actor.id,
            reason,
            at: now,
            revoked: None,
        })
    }

    /// A leader's revocation of the grant in force, to store on it. A
    /// key-project listing is not revoked this way: it follows the list.
    ///
    /// # Errors
    /// [`GreenError::RoleMayNot`] unless `actor` is a leader,
    /// [`GreenError::Reason`] for a blank reason,
    /// [`GreenError::NotGranted`] when no grant is in force.
    pub fn revoke(&self, actor: &Actor, reason: &str, now: DateTime<Utc>) -> Result<Revocation, GreenError> {
        let reason = leader_reason(actor, reason)?;
        if !self.grant.as_ref().is_some_and(Grant::is_active) {
            return Err(GreenError::NotGranted);
        }
        Ok(Revocation {
            by: actor.id,
            reason,
            at: now,
        })
    }
}

/// Whether a case may be applied for in phases or segments (分期/分段): only on
/// the green channel.
///
/// # Errors
/// [`GreenError::NotOnGreenChannel`] when `green` is false.
pub fn phasing_allowed(green: bool) -> Result<(), GreenError> {
    if green {
        Ok(())
    } else {
        Err(GreenError::NotOnGreenChannel)
    }
}

/// The sort key of a case in a work queue: green first, then the nearest
/// deadline (cases without one last), then the id so the order is total and
/// stable between runs.
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// use landuse_domain::green::QueueKey;
/// let soon = Utc.with_ymd_and_hms(2026, 3, 3, 16, 0, 0).unwrap();
/// let later = Utc.with_ymd_and_hms(2026, 3, 9, 16, 0, 0).unwrap();
/// let mut queue = vec![
///     QueueKey { green: false, deadline: Some(soon), id: 1 },
///     QueueKey { green: true, deadline: Some(later), id: 2 },
///     QueueKey { green: false, deadline: None, id: 3 },
///     QueueKey { green: false, deadline: Some(later), id: 4 },
/// ];
/// queue.sort();
/// let ids: Vec<i32> = queue.iter().map(|k| k.id).collect();
/// assert_eq!(ids, [2, 1, 4, 3]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueKey<Id> {
    /// Whether the case is on the green channel.
    pub green: bool,
    /// When its current deadline passes ([`crate::calendar::Deadline::ends_at`]).
    pub deadline: Option<DateTime<Utc>>,
    /// The case's id.
    pub id: Id,
}

impl<Id: Ord> Ord for QueueKey<Id> {
    fn cmp(&self, other: &Self) -> Ordering {
        queue_order(self, other)
    }
}

impl<Id: Ord> PartialOrd for QueueKey<Id> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The queue order (see [`QueueKey`]): `Less` when `a` comes first.
pub fn queue_order<Id: Ord>(a: &QueueKey<Id>, b: &QueueKey<Id>) -> Ordering {
    let deadline_order = match (a.deadline, b.deadline) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    b.green
        .cmp(&a.green)
        .then(deadline_order)
        .then_with(|| a.id.cmp(&b.id))
}

/// The configurable number of advance use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AdvanceUseRulesRepr", into = "AdvanceUseRulesRepr")]
pub struct AdvanceUseRules {
    max_share_percent: u8,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceUseRulesRepr {
    max_share_percent: u8,
}

/// The share is outside `0..=100` percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the advance-use share must be 0 to 100 percent, got {0}")]
pub struct ShareOutOfRange(pub u8);

impl AdvanceUseRules {
    /// Rules allowing at most `max_share_percent` of the pre-reviewed area.
    ///
    /// # Errors
    /// [`ShareOutOfRange`] above 100.
    pub fn new(max_share_percent: u8) -> Result<Self, ShareOutOfRange> {
        if max_share_percent > 100 {
            return Err(ShareOutOfRange(max_share_percent));
        }
        Ok(Self { max_share_percent })
    }

    /// The most of the pre-reviewed area advance use may take, in percent.
    pub fn max_share_percent(&self) -> u8 {
        self.max_share_percent
    }
}

impl Default for AdvanceUseRules {
    /// At most 30% of the pre-reviewed area.
    fn default() -> Self {
        Self {
            max_share_percent: 30,
        }
    }
}

impl TryFrom<AdvanceUseRulesRepr> for AdvanceUseRules {
    type Error = ShareOutOfRange;

    fn try_from(repr: AdvanceUseRulesRepr) -> Result<Self, Self::Error> {
        Self::new(repr.max_share_percent)
    }
}

impl From<AdvanceUseRules> for AdvanceUseRulesRepr {
    fn from(rules: AdvanceUseRules) -> Self {
        Self {
            max_share_percent: rules.max_share_percent,
        }
    }
}

/// A request for advance use (先行用地), with the project's figures it is judged against.
///
/// Areas are ellipsoidal (CGCS2000), as every area of the service. The project's advance-use
/// area is the union of the parcels of all its requests that are not refused, so parcels that
/// overlap an earlier request do not count twice. Its pre-reviewed area is the union of the
/// parcels of its live cases (not rejected or withdrawn) that passed pre-review: the pre-review
/// and site-selection opinion is recorded and the case is at `pre_review` or later (a case in
/// correction counts by the stage it left).
///
/// The project is on the green channel when it is on a key-project list, or when a leader's
/// grant is in force on one of its live cases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdvanceUseRequest {
    /// Whether the project is on the green channel.
    pub green: bool,
    /// The project's level.
    pub project_level: ProjectLevel,
    /// The project's sector.
    pub project_sector: ProjectSector,
    /// Whether the works asked for control the project's schedule (控制性工程).
    pub controls_schedule: bool,
    /// The area of this request's own parcels.
    pub requested_area: SquareMetres,
    /// The project's advance-use area before this request.
    pub used_area: SquareMetres,
    /// The project's advance-use area with this request: the union of both.
    pub area_with_request: SquareMetres,
    /// The project's pre-reviewed area.
    pub pre_reviewed_area: SquareMetres,
}

/// Why advance use was refused. Conditions are checked in the order of the variants.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum AdvanceUseError {
    /// Advance use is a green-channel effect.
    #[error("advance use is only for projects on the green channel")]
    NotOnGreenChannel,
    /// Only national or provincial projects qualify.
    #[error("advance use is only for national or provincial projects, not {0}")]
    LevelNotEligible(ProjectLevel),
    /// Only energy, transport or water projects qualify.
    #[error("advance use is only for energy, transport or water projects, not {0}")]
    SectorNotEligible(ProjectSector),
    /// Only works that control the project's schedule qualify.
    #[error("advance use is only for works that control the project's schedule")]
    NotScheduleControlling,
    /// There is no pre-reviewed area to take a share of.
    #[error("the project has no pre-reviewed area")]
    NotPreReviewed,
    /// The project's advance-use area with this request is over the allowed share of its
    /// pre-reviewed area.
    #[error(
        "advance use would reach {:.2} m² ({:.2} mu), over {max_share_percent}% of the pre-reviewed area ({:.2} m²): {:.2} m² ({:.2} mu) used, {:.2} m² ({:.2} mu) remaining, {:.2} m² requested",
        with_request.value(), with_request.mu_rounded(), allowed.value(), used.value(), used.mu_rounded(),
        self.remaining().value(), self.remaining().mu_rounded(), requested.value()
    )]
    AreaOverShare {
        /// The area of the request's own parcels.
        requested: SquareMetres,
        /// The project's advance-use area before the request.
        used: SquareMetres,
        /// The project's advance-use area had the request passed.
        with_request: SquareMetres,
        /// The most allowed.
        allowed: SquareMetres,
        /// The share rule, in percent.
        max_share_percent: u8,
    },
}

impl AdvanceUseError {
    /// A stable code for problem types.
    pub fn code(&self) -> &'static str {
        match self {
            AdvanceUseError::NotOnGreenChannel => "not-on-green-channel",
            AdvanceUseError::LevelNotEligible(_) => "advance-use-level",
            AdvanceUseError::SectorNotEligible(_) => "advance-use-sector",
            AdvanceUseError::NotScheduleControlling => "advance-use-not-schedule-controlling",
            AdvanceUseError::NotPreReviewed => "advance-use-not-pre-reviewed",
            AdvanceUseError::AreaOverShare { .. } => "advance-use-area-over-share",
        }
    }

    /// For [`AdvanceUseError::AreaOverShare`], what the project may still use: the allowed
    /// area less the used one, never below zero; zero otherwise.
    pub fn remaining(&self) -> SquareMetres {
        match self {
            AdvanceUseError::AreaOverShare { used, allowed, .. } => remaining(*allowed, *used),
            _ => SquareMetres::ZERO,
        }
    }
}

/// The allowed area less the used one, never below zero.
pub fn remaining(allowed: SquareMetres, used: SquareMetres) -> SquareMetres {
    SquareMetres::new(allowed.value() - used.value()).unwrap_or(SquareMetres::ZERO)
}

/// An area in hundredths of a square metre, the precision areas are compared at: below any
/// survey's precision, and coarse enough that floating-point rounding never refuses a request
/// of exactly the share while 0.01 m² more is refused.
pub fn centi_m2(area: SquareMetres) -> i64 {
    // Areas of a city's parcels are far below i64's range in hundredths of a m².
    (area.value() * 100.0).round() as i64
}

/// The most a project may use for advance use: the share of `pre_reviewed` that `rules` allow.
pub fn allowed_area(pre_reviewed: SquareMetres, rules: &AdvanceUseRules) -> SquareMetres {
    SquareMetres::new(pre_reviewed.value() * f64::from(rules.max_share_percent) / 100.0)
        .unwrap_or(SquareMetres::ZERO)
}

/// Whether `request` qualifies for advance use under `rules`. The area is compared in
/// hundredths of a square metre ([`centi_m2`]): exactly the share passes, 0.01 m² more does not.
///
/// # Errors
/// The first [`AdvanceUseError`] that applies, in the order of its variants.
pub fn advance_use(request: &AdvanceUseRequest, rules: &AdvanceUseRules) -> Result<(), AdvanceUseError> {
    if !request.green {
        return Err(AdvanceUseError::NotOnGreenChannel);
    }
    if !request.project_level.is_national_or_provincial() {
        return Err(AdvanceUseError::LevelNotEligible(request.project_level));
    }
    if !matches!(
        request.project_sector,
        ProjectSector::Energy | ProjectSector::Transport | ProjectSector::Water
    ) {
        return Err(AdvanceUseError::SectorNotEligible(request.project_sector));
    }
    if !request.controls_schedule {
        return Err(AdvanceUseError::NotScheduleControlling);
    }
    if centi_m2(request.pre_reviewed_area) <= 0 {
        return Err(AdvanceUseError::NotPreReviewed);
    }
    let allowed = allowed_area(request.pre_reviewed_area, rules);
    if centi_m2(request.area_with_request) > centi_m2(allowed) {
        return Err(AdvanceUseError::AreaOverShare {
            requested: request.requested_area,
            used: request.used_area,
            with_request: request.area_with_request,
            allowed,
            max_share_percent: rules.max_share_percent,
        });
    }
    Ok(())
}

/// Where a request for advance use stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AdvanceUseStatus {
    /// Waiting for a leader; its parcels count in the project's advance-use area.
    Pending,
    /// A leader approved it; the formal case must cover its parcels before conversion.
    Approved,
    /// A leader refused it; its parcels no longer count.
    Refused,
}

impl AdvanceUseStatus {
    /// The stable code stored and shown.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Parses a stored code.
    ///
    /// # Errors
    /// [`crate::project::UnknownCode`] when `code` is not one of the codes.
    pub fn parse(code: &str) -> Result<Self, crate::project::UnknownCode> {
        crate::code::parse(code).ok_or_else(|| {
            crate::project::UnknownCode::new("advance-use status", code, &crate::code::codes::<Self>())
        })
    }
}

impl std::fmt::Display for AdvanceUseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// What a leader decides on a request for advance use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdvanceUseVerdict {
    /// Approve it, under a document number.
    Approve,
    /// Refuse it.
    Refuse,
}

/// A leader's decision on a request, to store on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvanceUseDecision {
    /// The request's status after it.
    pub status: AdvanceUseStatus,
    /// The approval's document number (文号); `None` for a refusal.
    pub document_number: Option<String>,
    /// Why.
    pub reason: Reason,
    /// The leader.
    pub by: Uuid,
    /// When.
    pub at: DateTime<Utc>,
}

/// Why a decision on a request for advance use was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdvanceUseDecisionError {
    /// Only a leader decides on advance use.
    #[error("a {0} may not decide on advance use; only a leader may")]
    RoleMayNot(Role),
    /// The reason is blank or too long.
    #[error(transparent)]
    Reason(#[from] ReasonError),
    /// An approval names its document.
    #[error("an approval needs its document number")]
    DocumentNumberRequired,
    /// The request was decided already.
    #[error("the request is already {0}")]
    AlreadyDecided(AdvanceUseStatus),
}

impl AdvanceUseDecisionError {
    /// A stable code for problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::RoleMayNot(_) => "role-may-not",
            Self::Reason(ReasonError::Blank) => "reason-required",
            Self::Reason(ReasonError::TooLong(_)) => "reason-too-long",
            Self::DocumentNumberRequired => "document-number-required",
            Self::AlreadyDecided(_) => "advance-use-already-decided",
        }
    }
}

/// A leader's decision on a request that stands at `current`.
///
/// # Errors
/// In this order: [`AdvanceUseDecisionError::RoleMayNot`] unless `actor` is a leader; a blank
/// or too long reason; [`AdvanceUseDecisionError::DocumentNumberRequired`] for an approval
/// without a document number; [`AdvanceUseDecisionError::AlreadyDecided`] unless the request
/// is pending.
pub fn decide_advance_use(
    current: AdvanceUseStatus,
    verdict: AdvanceUseVerdict,
    document_number: Option<&str>,
    reason: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<AdvanceUseDecision, AdvanceUseDecisionError> {
    if actor.role != Role::Leader {
        return Err(AdvanceUseDecisionError::RoleMayNot(actor.role));
    }
    let reason = Reason::parse(reason)?;
    let document_number = document_number.map(str::trim).filter(|d| !d.is_empty());
    let (status, document_number) = match verdict {
        AdvanceUseVerdict::Approve => (
            AdvanceUseStatus::Approved,
            Some(document_number.ok_or(AdvanceUseDecisionError::DocumentNumberRequired)?),
        ),
        AdvanceUseVerdict::Refuse => (AdvanceUseStatus::Refused, None),
    };
    if current != AdvanceUseStatus::Pending {
        return Err(AdvanceUseDecisionError::AlreadyDecided(current));
    }
    Ok(AdvanceUseDecision {
        status,
        document_number: document_number.map(str::to_owned),
        reason,
        by: actor.id,
        at: now,
    })
}

/// The part of an approved request's parcels that the project's live cases do not cover.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UncoveredAdvanceUse {
    /// The request.
    pub request_id: Uuid,
    /// The area of its parcels outside every parcel of the project's live cases.
    pub uncovered: SquareMetres,
}

// `SquareMetres` is never NaN (its constructor refuses it), so equality is total.
impl Eq for UncoveredAdvanceUse {}

impl std::fmt::Display for UncoveredAdvanceUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "advance-use request {}: {:.2} m² ({:.2} mu) not covered",
            self.request_id,
            self.uncovered.value(),
            self.uncovered.mu_rounded()
        )
    }
}

/// The approved requests whose parcels are not covered, of those measured: any uncovered
/// area of at least 0.01 m² ([`centi_m2`]) counts, below it is floating-point noise.
pub fn uncovered(measured: &[UncoveredAdvanceUse]) -> Vec<UncoveredAdvanceUse> {
    measured
        .iter()
        .filter(|u| centi_m2(u.uncovered) > 0)
        .copied()
        .collect()
}
