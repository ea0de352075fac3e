//! Alerts: when a stage's time limit is near or passed, what kinds of alert
//! there are, and who is told.
//!
//! Ledger items raise their own alerts ([`crate::clearing::changes`]); this
//! module adds the same "once, on the change" rule for the stage time limits
//! (限时办结) and names the recipients `DOMAIN.md` gives: the case's officer,
//! the project's responsible leader and the leading-group office.
//!
//! # When a stage deadline is "near"
//! A deadline is near when at most [`DeadlineRules::near_working_days`]
//! working days are left after today (default 3), but never from the first
//! day of a stage: for a stage whose limit is that short (受理, 2 days; green
//! limits of 1 day) the threshold shrinks to `limit - 1`, so a 2-day stage is
//! near with 1 day left and a 1-day stage on the day it is due. It has passed
//! once the close of its last working day is behind (see
//! [`crate::calendar::Deadline::is_past`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clearing::Alert;
use crate::limits::Remaining;
use crate::supply::idle::IdleStatus;

/// Why deadline-alert rules were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineRulesError {
    /// The threshold is beyond any stage limit the service accepts.
    #[error("the near threshold of {0} working days is longer than any time limit")]
    TooLong(u32),
}

/// When a stage deadline counts as near, in working days left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DeadlineRulesRepr", into = "DeadlineRulesRepr")]
pub struct DeadlineRules {
    near_working_days: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadlineRulesRepr {
    near_working_days: u32,
}

impl DeadlineRules {
    /// Rules with a deadline near from `near_working_days` working days left.
    ///
    /// # Errors
    /// [`DeadlineRulesError::TooLong`] beyond [`crate::limits::MAX_LIMIT_DAYS`].
    pub fn new(near_working_days: u32) -> Result<Self, DeadlineRulesError> {
        if near_working_days > crate::limits::MAX_LIMIT_DAYS {
            return Err(DeadlineRulesError::TooLong(near_working_days));
        }
        Ok(Self { near_working_days })
    }

    /// Working days left from which a deadline is near.
    pub fn near_working_days(&self) -> u32 {
        self.near_working_days
    }

    /// The threshold for a stage whose limit is `limit_days`: never reached on
    /// the stage's first day.
    pub fn threshold_for(&self, limit_days: u32) -> u32 {
        self.near_working_days.min(limit_days.saturating_sub(1))
    }
}

impl Default for DeadlineRules {
    /// Near with 3 working days or fewer left.
    fn default() -> Self {
        Self { near_working_days: 3 }
    }
}

impl TryFrom<DeadlineRulesRepr> for DeadlineRules {
    type Error = DeadlineRulesError;

    fn try_from(repr: DeadlineRulesRepr) -> Result<Self, Self::Error> {
        Self::new(repr.near_working_days)
    }
}

impl From<DeadlineRules> for DeadlineRulesRepr {
    fn from(rules: DeadlineRules) -> Self {
        Self {
            near_working_days: rules.near_working_days,
        }
    }
}

/// Where a stage stands against its time limit. Ordered: running < near < passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// More than the threshold left.
    Running,
    /// The threshold or fewer working days left.
    Near,
    /// The deadline has passed.
    Passed,
}

/// The status of a stage deadline, given where it stands ([`Remaining`]) and
/// the stage's limit in working days.
///
/// ```
/// # use chrono::NaiveDate;
/// use landuse_domain::alerts::{deadline_status, DeadlineRules, DeadlineStatus};
/// use landuse_domain::calendar::Deadline;
/// use landuse_domain::limits::Remaining;
/// let deadline = Deadline { date: NaiveDate::from_ymd_opt(2026, 3, 30).unwrap(), provisional: false };
/// let left = |working_days| Remaining { working_days, deadline, overdue: false };
/// let rules = DeadlineRules::default();
/// assert_eq!(deadline_status(&left(4), 20, &rules), DeadlineStatus::Running);
/// assert_eq!(deadline_status(&left(3), 20, &rules), DeadlineStatus::Near);
/// // A two-day stage is near with one day left, not from its first day.
/// assert_eq!(deadline_status(&left(2), 2, &rules), DeadlineStatus::Running);
/// assert_eq!(deadline_status(&left(1), 2, &rules), DeadlineStatus::Near);
/// ```
pub fn deadline_status(remaining: &Remaining, limit_days: u32, rules: &DeadlineRules) -> DeadlineStatus {
    if remaining.overdue {
        DeadlineStatus::Passed
    } else if remaining.working_days <= i64::from(rules.threshold_for(limit_days)) {
        DeadlineStatus::Near
    } else {
        DeadlineStatus::Running
    }
}

/// An alert about a stage's time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineAlert {
    /// The deadline has become near.
    Near,
    /// The deadline has passed.
    Passed,
}

/// The alert to raise when a stage deadline is `current` and the furthest
/// status already alerted for this stay in the stage is `alerted` (`Running`
/// when none was).
///
/// Each alert is raised once per stay: a deadline that moves later again (a
/// correction, the green channel revoked) and comes near a second time raises
/// nothing new. A stay that jumps from running to passed (a missed scan)
/// raises only the passed alert.
pub fn deadline_alert(alerted: DeadlineStatus, current: DeadlineStatus) -> Option<DeadlineAlert> {
    if current <= alerted {
        return None;
    }
    match current {
        DeadlineStatus::Running => None,
        DeadlineStatus::Near => Some(DeadlineAlert::Near),
        DeadlineStatus::Passed => Some(DeadlineAlert::Passed),
    }
}

/// Every kind of alert the service raises.
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
pub enum AlertKind {
    /// A ledger item has 7 days or fewer left (three-week clearing).
    LedgerDueSoon,
    /// A ledger item is open more than 21 days.
    LedgerOverdue,
    /// A stage's time limit is near.
    DeadlineNear,
    /// A stage's time limit has passed.
    DeadlinePassed,
    /// Supplied land not started turns idle within the warning period (闲置土地, `supply::idle`).
    LandIdleSoon,
    /// Supplied land not started one full year after the agreed start: idle.
    LandIdle,
    /// Supplied land started but under a third developed or a quarter invested, halted a year.
    LandPartialIdle,
    /// Supplied land not started two full years after the agreed start: may be taken back.
    LandReclaimable,
    /// A mineral overlay query is unanswered on its due day (`overlay`): the reminder.
    OverlayReminder,
    /// A mineral overlay query is unanswered past its due day: the alert.
    OverlayLate,
}

/// The text is not one of the alert kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown alert kind {0:?}; expected ledger_due_soon, ledger_overdue, deadline_near, deadline_passed, land_idle_soon, land_idle, land_partial_idle, land_reclaimable, overlay_reminder or overlay_late"
)]
pub struct UnknownAlertKind(pub String);

impl AlertKind {
    /// Every kind.
    pub const ALL: &'static [AlertKind] = <AlertKind as strum::VariantArray>::VARIANTS;

    /// The stable code used in the database, the feed and webhooks.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Parses a code.
    ///
    /// # Errors
    /// [`UnknownAlertKind`] when `code` is not one of the codes.
    pub fn parse(code: &str) -> Result<Self, UnknownAlertKind> {
        crate::code::parse(code).ok_or_else(|| UnknownAlertKind(code.to_owned()))
    }

    /// The line the bureau reads.
    pub fn title_zh(self) -> &'static str {
        match self {
            AlertKind::LedgerDueSoon => "台账事项即将到期（三周清零剩余7天以内）",
            AlertKind::LedgerOverdue => "台账事项已超三周未销号",
            AlertKind::DeadlineNear => "办理时限即将届满",
            AlertKind::DeadlinePassed => "已超出办理时限",
            AlertKind::LandIdleSoon => "供地后未动工，即将满一年构成闲置",
            AlertKind::LandIdle => "供地后满一年未动工，已构成闲置土地",
            AlertKind::LandPartialIdle => "已动工但开发不足且中止满一年，已构成闲置土地",
            AlertKind::LandReclaimable => "供地后满两年未动工，可无偿收回",
            AlertKind::OverlayReminder => "压覆矿产查询今日到期，尚未答复",
            AlertKind::OverlayLate => "压覆矿产查询已超期未答复",
        }
    }

    /// The alert about supplied land that has newly reached `status` (see
    /// [`crate::supply::idle::alert_for`], which says when it is newly reached); `None` for a
    /// status nobody is warned of.
    ///
    /// ```
    /// use landuse_domain::alerts::AlertKind;
    /// use landuse_domain::supply::idle::IdleStatus;
    /// assert_eq!(AlertKind::of_idle(IdleStatus::Idle), Some(AlertKind::LandIdle));
    /// assert_eq!(AlertKind::of_idle(IdleStatus::GovernmentCaused), None);
    /// ```
    pub fn of_idle(status: IdleStatus) -> Option<Self> {
        match status {
            IdleStatus::DueSoon => Some(AlertKind::LandIdleSoon),
            IdleStatus::Idle => Some(AlertKind::LandIdle),
            IdleStatus::PartialIdle => Some(AlertKind::LandPartialIdle),
            IdleStatus::Reclaimable => Some(AlertKind::LandReclaimable),
            IdleStatus::OnSchedule
            | IdleStatus::GovernmentCaused
            | IdleStatus::Started
            | IdleStatus::Completed => None,
        }
    }

    /// Whether the alert is about supplied land (an idle-land alert).
    pub fn is_land(self) -> bool {
        matches!(
            self,
            AlertKind::LandIdleSoon
                | AlertKind::LandIdle
                | AlertKind::LandPartialIdle
                | AlertKind::LandReclaimable
        )
    }

    /// Whether the alert is about a ledger item (else a stage deadline).
    pub fn is_ledger(self) -> bool {
        matches!(self, AlertKind::LedgerDueSoon | AlertKind::LedgerOverdue)
    }

    /// The furthest deadline status this kind reports, for a stage-deadline alert.
    pub fn deadline_status(self) -> Option<DeadlineStatus> {
        match self {
            AlertKind::DeadlineNear => Some(DeadlineStatus::Near),
            AlertKind::DeadlinePassed => Some(DeadlineStatus::Passed),
            AlertKind::LedgerDueSoon
            | AlertKind::LedgerOverdue
            | AlertKind::LandIdleSoon
            | AlertKind::LandIdle
            | AlertKind::LandPartialIdle
            | AlertKind::LandReclaimable
            | AlertKind::OverlayReminder
            | AlertKind::OverlayLate => None,
        }
    }
}

impl From<Alert> for AlertKind {
    fn from(alert: Alert) -> Self {
        match alert {
            Alert::DueSoon => AlertKind::LedgerDueSoon,
            Alert::Overdue => AlertKind::LedgerOverdue,
        }
    }
}

impl From<crate::overlay::OverlayAlert> for AlertKind {
    fn from(alert: crate::overlay::OverlayAlert) -> Self {
        match alert {
            crate::overlay::OverlayAlert::Reminder => AlertKind::OverlayReminder,
            crate::overlay::OverlayAlert::Late => AlertKind::OverlayLate,
        }
    }
}

impl From<DeadlineAlert> for AlertKind {
    fn from(alert: DeadlineAlert) -> Self {
        match alert {
            DeadlineAlert::Near => AlertKind::DeadlineNear,
            DeadlineAlert::Passed => AlertKind::DeadlinePassed,
        }
    }
}

/// Someone an alert is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipient {
    /// The county officer who opened the case.
    CaseOfficer {
        /// The officer's user id.
        user_id: Uuid,
    },
    /// The leader responsible for the project (a name on the key-project list).
    ResponsibleLeader {
        /// As the key-project list names them.
        name: String,
    },
    /// The leading-group office (领导小组办公室), told of every alert.
    LeadingGroupOffice,
}

/// Who is told of an alert about a case: its officer, the project's
/// responsible leader, and always the leading-group office. An officer or
/// leader that is not on record is left out rather than guessed.
pub fn recipients(officer: Option<Uuid>, responsible_leader: Option<&str>) -> Vec<Recipient> {
    let mut out = Vec::with_capacity(3);
    if let Some(user_id) = officer {
        out.push(Recipient::CaseOfficer { user_id });
    }
    if let Some(name) = responsible_leader.map(str::trim).filter(|n| !n.is_empty()) {
        out.push(Recipient::ResponsibleLeader {
            name: name.to_owned(),
        });
    }
    out.push(Recipient::LeadingGroupOffice);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::calendar::Deadline;
    use chrono::NaiveDate;

    fn remaining(working_days: i64, overdue: bool) -> Remaining {
        Remaining {
            working_days,
            deadline: Deadline {
                date: NaiveDate::from_ymd_opt(2026, 3, 30).unwrap(),
                provisional: false,
            },
            overdue,
        }
    }

    #[test]
    fn a_twenty_day_stage_is_near_from_three_working_days_left() {
        let rules = DeadlineRules::default();
        assert_eq!(
            deadline_status(&remaining(20, false), 20, &rules),
            DeadlineStatus::Running
        );
        assert_eq!(
            deadline_status(&remaining(4, false), 20, &rules),
            DeadlineStatus::Running
        );
        assert_eq!(
            deadline_status(&remaining(3, false), 20, &rules),
            DeadlineStatus::Near
        );
        assert_eq!(
            deadline_status(&remaining(0, false), 20, &rules),
            DeadlineStatus::Near
        );
        assert_eq!(
            deadline_status(&remaining(0, true), 20, &rules),
            DeadlineStatus::Passed
        );
    }

    #[test]
    fn a_one_day_stage_is_near_only_on_the_day_it_is_due() {
        let rules = DeadlineRules::default();
        assert_eq!(
            deadline_status(&remaining(1, false), 1, &rules),
            DeadlineStatus::Running
        );
        assert_eq!(
            deadline_status(&remaining(0, false), 1, &rules),
            DeadlineStatus::Near
        );
    }

    #[test]
    fn each_deadline_alert_is_raised_once_per_stay() {
        use DeadlineStatus::{Near, Passed, Running};
        assert_eq!(deadline_alert(Running, Running), None);
        assert_eq!(deadline_alert(Running, Near), Some(DeadlineAlert::Near));
        assert_eq!(deadline_alert(Near, Near), None);
        assert_eq!(deadline_alert(Near, Running), None);
        assert_eq!(deadline_alert(Near, Passed), Some(DeadlineAlert::Passed));
        assert_eq!(deadline_alert(Running, Passed), Some(DeadlineAlert::Passed));
        assert_eq!(deadline_alert(Passed, Passed), None);
        assert_eq!(deadline_alert(Passed, Near), None);
    }

    #[test]
    fn alert_kinds_round_trip_through_their_codes() {
        for &kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.code()), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.code())
            );
        }
        assert!(AlertKind::parse("due_soon").is_err());
        assert_eq!(AlertKind::from(Alert::DueSoon), AlertKind::LedgerDueSoon);
        assert_eq!(AlertKind::from(DeadlineAlert::Passed), AlertKind::DeadlinePassed);
    }

    #[test]
    fn the_office_is_always_told_and_unknown_people_are_left_out() {
        let officer = Uuid::from_u128(7);
        assert_eq!(
            recipients(Some(officer), Some(" 张副局长 ")),
            vec![
                Recipient::CaseOfficer { user_id: officer },
                Recipient::ResponsibleLeader {
                    name: "张副局长".to_owned()
                },
                Recipient::LeadingGroupOffice,
            ]
        );
        assert_eq!(recipients(None, Some("  ")), vec![Recipient::LeadingGroupOffice]);
        assert_eq!(
            serde_json::to_value(Recipient::LeadingGroupOffice).unwrap(),
            serde_json::json!({"kind": "leading_group_office"})
        );
    }

    #[test]
    fn rules_read_from_settings_are_checked() {
        let rules: DeadlineRules = serde_json::from_str(r#"{"near_working_days": 5}"#).unwrap();
        assert_eq!(rules.near_working_days(), 5);
        assert!(serde_json::from_str::<DeadlineRules>(r#"{"near_working_days": 5000}"#).is_err());
        assert_eq!(rules.threshold_for(2), 1);
    }
}
