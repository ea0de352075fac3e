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

/// A request for advance use (先行用地).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdvanceUseRequest {
    /// Whether the case is on the green channel.
    pub green: bool,
    /// The project's level.
    pub project_level: ProjectLevel,
    /// The project's sector.
    pub project_sector: ProjectSector,
    /// Whether the works asked for control the project's schedule (控制性工程).
    pub controls_schedule: bool,
    /// The area asked for.
    pub requested_area: SquareMetres,
    /// The area that passed pre-review.
    pub pre_reviewed_area: SquareMetres,
}

/// Why advance use was refused. Conditions are checked in the order of the variants.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum AdvanceUseError {
    /// Advance use is a green-channel effect.
    #[error("advance use is only for cases on the green channel")]
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
    #[error("the case has no pre-reviewed area")]
    NotPreReviewed,
    /// The requested area is over the allowed share of the pre-reviewed area.
    #[error("advance use of {requested} exceeds {max_share_percent}% of the pre-reviewed area ({allowed})")]
    AreaOverShare {
        /// The area asked for.
        requested: SquareMetres,
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
}

/// Tolerance on the area comparison, in m²: below any survey's precision, it
/// keeps floating-point rounding from refusing a request of exactly the share.
const AREA_TOLERANCE_M2: f64 = 1e-6;

/// Whether `request` qualifies for advance use under `rules`.
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
    if request.pre_reviewed_area.value() <= 0.0 {
        return Err(AdvanceUseError::NotPreReviewed);
    }
    let allowed = request.pre_reviewed_area.value() * f64::from(rules.max_share_percent) / 100.0;
    if request.requested_area.value() > allowed + AREA_TOLERANCE_M2 {
        return Err(AdvanceUseError::AreaOverShare {
            requested: request.requested_area,
            allowed: SquareMetres::new(allowed).unwrap_or(SquareMetres::ZERO),
            max_share_percent: rules.max_share_percent,
        });
    }
    Ok(())
}
