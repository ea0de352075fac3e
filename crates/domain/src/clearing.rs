//! The three-week clearing (三周清零) of ledger items.
//!
//! Every case that enters a municipal stage opens a ledger item, which must be
//! struck off within 21 calendar days of opening, paused time excluded. The
//! numbers are [`ClearingRules`] (default 21 and 7).
//!
//! # Day counting
//! Days are the bureau's local calendar days. The day the item opens is day 0,
//! and the item is due at the close of day `limit_days` (the same "N-th day
//! after D" rule as the working-day limits). On day `k` it has
//! `limit_days + paused_days - k` days left; it is
//! - `due_soon` when 7 days or fewer are left,
//! - `overdue` once the due day has closed (more than 21 days after opening).
//!
//! With the defaults, an item opened on 2026-03-02 (day 0, any hour) is `open`
//! up to 2026-03-15, `due_soon` from 2026-03-16 00:00 +08:00 (day 14, 7 days
//! left), and `overdue` from 2026-03-24 00:00 +08:00 (after day 21, 2026-03-23).
//!
//! Paused days follow the clock's convention: a pause from `p` to `q` covers
//! the days `date(p) < d <= date(q)`, so a pause from 2026-03-05 to 2026-03-10
//! moves both thresholds by 5 days.
//!
//! # Alerts, once
//! A scanner stores each item's last reported status. [`changes`] compares the
//! status at `now` with that record and reports only differences, with an
//! [`Alert`] when the item has newly become `due_soon` or `overdue`. Storing
//! the new status with the alert raises each alert exactly once, however often
//! the scan runs.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{bureau_date, shift_days};
use crate::clock::{stopped_intervals, Pause};
use crate::stage::Stage;
use crate::transition::TransitionEvent;

/// Why clearing rules were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClearingRulesError {
    /// The limit is zero.
    #[error("the clearing limit must be at least 1 day")]
    ZeroLimit,
    /// The warning threshold exceeds the limit.
    #[error("the due-soon threshold ({due_soon_days} days) exceeds the limit ({limit_days} days)")]
    DueSoonBeyondLimit {
        /// The limit.
        limit_days: u32,
        /// The warning threshold.
        due_soon_days: u32,
    },
}

/// The clearing limit and the warning threshold, in calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ClearingRulesRepr", into = "ClearingRulesRepr")]
pub struct ClearingRules {
    limit_days: u32,
    due_soon_days: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearingRulesRepr {
    limit_days: u32,
    due_soon_days: u32,
}

impl ClearingRules {
    /// Rules with an item due `limit_days` after opening and `due_soon` from
    /// `due_soon_days` days left.
    ///
    /// # Errors
    /// [`ClearingRulesError`] for a zero limit or a threshold beyond the limit.
    pub fn new(limit_days: u32, due_soon_days: u32) -> Result<Self, ClearingRulesError> {
        if limit_days == 0 {
            return Err(ClearingRulesError::ZeroLimit);
        }
        if due_soon_days > limit_days {
            return Err(ClearingRulesError::DueSoonBeyondLimit {
                limit_days,
                due_soon_days,
            });
        }
        Ok(Self {
            limit_days,
            due_soon_days,
        })
    }

    /// Days from opening to the due day.
    pub fn limit_days(&self) -> u32 {
        self.limit_days
    }

    /// Days left from which an item is `due_soon`.
    pub fn due_soon_days(&self) -> u32 {
        self.due_soon_days
    }
}

impl Default for ClearingRules {
    /// 21 days, due soon with 7 days or fewer left.
    fn default() -> Self {
        Self {
            limit_days: 21,
            due_soon_days: 7,
        }
    }
}

impl TryFrom<ClearingRulesRepr> for ClearingRules {
    type Error = ClearingRulesError;

    fn try_from(repr: ClearingRulesRepr) -> Result<Self, Self::Error> {
        Self::new(repr.limit_days, repr.due_soon_days)
    }
}

impl From<ClearingRules> for ClearingRulesRepr {
    fn from(rules: ClearingRules) -> Self {
        Self {
            limit_days: rules.limit_days,
            due_soon_days: rules.due_soon_days,
        }
    }
}

/// The status of a ledger item.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ClearingStatus {
    /// More than the warning threshold left.
    Open,
    /// The warning threshold or fewer days left.
    DueSoon,
    /// Past the limit.
    Overdue,
    /// Struck off.
    Cleared,
}

/// The text is not one of the clearing status codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown clearing status {0:?}; expected open, due_soon, overdue or cleared")]
pub struct UnknownClearingStatus(pub String);

impl ClearingStatus {
    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Parses a stored status code.
    ///
    /// # Errors
    /// [`UnknownClearingStatus`] when `code` is not exactly one of the codes.
    pub fn parse(code: &str) -> Result<Self, UnknownClearingStatus> {
        crate::code::parse(code).ok_or_else(|| UnknownClearingStatus(code.to_owned()))
    }
}

/// One item of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerItem {
    /// When the case entered the municipal stage.
    pub opened_at: DateTime<Utc>,
    /// When the item was struck off, if it was.
    #[serde(default)]
    pub cleared_at: Option<DateTime<Utc>>,
    /// Intervals during which the item's clock was stopped.
    #[serde(default)]
    pub pauses: Vec<Pause>,
}

impl LedgerItem {
    /// An item opened at `opened_at`, not cleared, never paused.
    pub fn opened(opened_at: DateTime<Utc>) -> Self {
        Self {
            opened_at,
            cleared_at: None,
            pauses: Vec::new(),
        }
    }

    /// Calendar days paused between opening and `now`.
    pub fn paused_days(&self, now: DateTime<Utc>) -> i64 {
        stopped_intervals(self.opened_at, &self.pauses, now)
            .into_iter()
            .map(|(from, to)| (bureau_date(to) - bureau_date(from)).num_days())
            .sum()
    }

    /// The last day the item may stay open, as seen at `now` (an open pause
    /// keeps moving it).
    pub fn due_date(&self, now: DateTime<Utc>, rules: &ClearingRules) -> NaiveDate {
        let days = i64::from(rules.limit_days) + self.paused_days(now);
        shift_days(bureau_date(self.opened_at), days)
    }

    /// Days left at `now`: from today to the due day; negative once overdue.
    pub fn days_left(&self, now: DateTime<Utc>, rules: &ClearingRules) -> i64 {
        (self.due_date(now, rules) - bureau_date(now)).num_days()
    }

    /// Whether the item is struck off at `now`.
    pub fn is_cleared_at(&self, now: DateTime<Utc>) -> bool {
        self.cleared_at.is_some_and(|cleared| cleared <= now)
    }
}

/// The status of `item` at `now`.
pub fn status_at(item: &LedgerItem, now: DateTime<Utc>, rules: &ClearingRules) -> ClearingStatus {
    if item.is_cleared_at(now) {
        return ClearingStatus::Cleared;
    }
    let left = item.days_left(now, rules);
    if left < 0 {
        ClearingStatus::Overdue
    } else if left <= i64::from(rules.due_soon_days) {
        ClearingStatus::DueSoon
    } else {
        ClearingStatus::Open
    }
}

/// A notification to send once: to the case's officer, the responsible leader
/// and the leading-group office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alert {
    /// The item has become due soon.
    DueSoon,
    /// The item has become overdue.
    Overdue,
}

/// An item whose status differs from the one last recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange<Id> {
    /// The item.
    pub id: Id,
    /// The status last recorded.
    pub from: ClearingStatus,
    /// The status now; record it.
    pub to: ClearingStatus,
    /// The alert to raise, if the item newly became due soon or overdue.
    pub alert: Option<Alert>,
}

/// The items whose status at `now` differs from their recorded last status.
///
/// Each input is `(id, item, last recorded status)`; a newly opened item is
/// recorded as `open`. An item that jumps from `open` straight to `overdue`
/// (a scan was missed) raises only the overdue alert. A status that improves
/// (a pause added afterwards) is reported without an alert.
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// use landuse_domain::clearing::{changes, Alert, ClearingRules, ClearingStatus, LedgerItem};
/// let item = LedgerItem::opened(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap());
/// let now = Utc.with_ymd_and_hms(2026, 3, 16, 1, 0, 0).unwrap();
/// let rules = ClearingRules::default();
/// let found = changes([("item-1", &item, ClearingStatus::Open)], now, &rules);
/// assert_eq!(found[0].alert, Some(Alert::DueSoon));
/// // Recorded as due_soon, the next scan reports nothing.
/// assert!(changes([("item-1", &item, ClearingStatus::DueSoon)], now, &rules).is_empty());
/// ```
pub fn changes<'a, Id>(
    items: impl IntoIterator<Item = (Id, &'a LedgerItem, ClearingStatus)>,
    now: DateTime<Utc>,
    rules: &ClearingRules,
) -> Vec<StatusChange<Id>> {
    items
        .into_iter()
        .filter_map(|(id, item, last)| {
            let current = status_at(item, now, rules);
            (current != last).then(|| StatusChange {
                id,
                from: last,
                to: current,
                alert: alert_for(last, current),
            })
        })
        .collect()
}

fn alert_for(from: ClearingStatus, to: ClearingStatus) -> Option<Alert> {
    use ClearingStatus::{Cleared, DueSoon, Open, Overdue};
    match (from, to) {
        (Open | Cleared, DueSoon) => Some(Alert::DueSoon),
        (Open | DueSoon | Cleared, Overdue) => Some(Alert::Overdue),
        _ => None,
    }
}

/// Counts for the weekly dispatch (调度) of one group of items (a county and
/// stage, say), over the period from `since` to `now`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DispatchCounts {
    /// Items opened in the period.
    pub opened: u32,
    /// Items struck off in the period.
    pub cleared: u32,
    /// Items not struck off at `now` (whatever their status).
    pub still_open: u32,
    /// Of those, due soon.
    pub due_soon: u32,
    /// Of those, overdue.
    pub overdue: u32,
}

impl DispatchCounts {
    /// "Cleared to zero": no overdue item at the snapshot.
    pub fn cleared_to_zero(&self) -> bool {
        self.overdue == 0
    }
}

/// The dispatch counts of `items` for the period `since..now`.
pub fn dispatch_counts<'a>(
    items: impl IntoIterator<Item = &'a LedgerItem>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    rules: &ClearingRules,
) -> DispatchCounts {
    let mut counts = DispatchCounts::default();
    let in_period = |t: DateTime<Utc>| since <= t && t < now;
    for item in items {
        if item.opened_at > now {
            continue;
        }
        counts.opened += u32::from(in_period(item.opened_at));
        counts.cleared += u32::from(item.cleared_at.is_some_and(in_period));
        match status_at(item, now, rules) {
            ClearingStatus::Cleared => {}
            status => {
                counts.still_open += 1;
                counts.due_soon += u32::from(status == ClearingStatus::DueSoon);
                counts.overdue += u32::from(status == ClearingStatus::Overdue);
            }
        }
    }
    counts
}

/// How a ledger item was struck off, derived from the transition that did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrikeOffOutcome {
    /// The case moved on to its next stage.
    Advanced,
    /// The case was returned for correction (a new item opens on the answer).
    ReturnedForCorrection,
    /// The case was rejected.
    Rejected,
    /// The case was withdrawn.
    Withdrawn,
}

/// What a transition does to the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEffect {
    /// Strike off the case's open item with this outcome.
    pub strike_off: Option<StrikeOffOutcome>,
    /// Open a new item (the case entered a municipal stage).
    pub open_new: bool,
}

/// What `event` does to the ledger: leaving a municipal stage strikes the
/// open item off, entering one opens a new item.
pub fn ledger_effect(event: &TransitionEvent) -> LedgerEffect {
    let strike_off = event.from.is_municipal().then_some(match event.to {
        Stage::Correction => StrikeOffOutcome::ReturnedForCorrection,
        Stage::Rejected => StrikeOffOutcome::Rejected,
        Stage::Withdrawn => StrikeOffOutcome::Withdrawn,
        _ => StrikeOffOutcome::Advanced,
    });
    LedgerEffect {
        strike_off,
        open_new: event.to.is_municipal(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rules_with_a_threshold_beyond_the_limit_are_refused() {
        assert_eq!(ClearingRules::new(0, 0), Err(ClearingRulesError::ZeroLimit));
        assert!(ClearingRules::new(7, 8).is_err());
        assert!(ClearingRules::new(7, 7).is_ok());
        assert!(serde_json::from_str::<ClearingRules>(r#"{"limit_days":21,"due_soon_days":30}"#).is_err());
    }

    #[test]
    fn the_default_rules_are_twenty_one_and_seven_days() {
        let rules = ClearingRules::default();
        assert_eq!((rules.limit_days(), rules.due_soon_days()), (21, 7));
    }
}
