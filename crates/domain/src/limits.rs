//! Time limits per stage (限时办结), deadlines and remaining working days.
//!
//! Each stage from `accepted` to `registration` has a limit in working days,
//! one for the normal track and a shorter one for the green channel. The
//! numbers are the deployment's (`seeds/time-limits.json`); [`TimeLimits::default`]
//! holds the defaults from `DOMAIN.md`.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{bureau_date, Deadline, WorkCalendar};
use crate::clock::StageClock;
use crate::stage::{CaseState, Stage};

/// The stages that have a time limit.
pub const LIMITED_STAGES: [Stage; 5] = [
    Stage::Accepted,
    Stage::PreReview,
    Stage::Conversion,
    Stage::Supply,
    Stage::Registration,
];

/// The longest limit accepted, in working days: a guard against typos (a
/// limit of 2000 for 20), about four years of working days.
pub const MAX_LIMIT_DAYS: u32 = 1_000;

/// The track a case is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The normal track.
    Normal,
    /// The green channel (绿色通道).
    Green,
}

impl Channel {
    /// The green channel when `green`, else the normal track.
    pub fn from_green(green: bool) -> Self {
        if green {
            Channel::Green
        } else {
            Channel::Normal
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Channel::Normal => "normal",
            Channel::Green => "green",
        })
    }
}

/// The limits of one stage, in working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageLimit {
    /// On the normal track.
    pub normal: u32,
    /// On the green channel.
    pub green: u32,
}

impl StageLimit {
    /// The limit on `channel`.
    pub fn days(&self, channel: Channel) -> u32 {
        match channel {
            Channel::Normal => self.normal,
            Channel::Green => self.green,
        }
    }
}

/// Why a limits table was refused.
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    /// The text is not JSON in the shape `{"accepted": {"normal": 2, "green": 1}, ...}`.
    #[error("the time limits are not in the expected JSON shape: {0}")]
    Json(#[from] serde_json::Error),
    /// A stage without a time limit (draft, completed, a side state) is listed.
    #[error("{0} has no time limit; only accepted, pre_review, conversion, supply and registration do")]
    NotLimited(Stage),
    /// A stage that needs a limit is missing.
    #[error("no time limit for {0}")]
    Missing(Stage),
    /// A limit is outside `1..=MAX_LIMIT_DAYS`.
    #[error("the {channel} limit of {stage} must be 1 to {MAX_LIMIT_DAYS} working days, got {days}")]
    OutOfRange {
        /// The stage.
        stage: Stage,
        /// The track.
        channel: Channel,
        /// The limit given.
        days: u32,
    },
    /// The green channel would be slower than the normal track.
    #[error("the green limit of {stage} ({green}) is longer than the normal one ({normal})")]
    GreenSlowerThanNormal {
        /// The stage.
        stage: Stage,
        /// The normal limit.
        normal: u32,
        /// The green limit.
        green: u32,
    },
}

/// The limits table: every limited stage has a normal and a green limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<Stage, StageLimit>",
    into = "BTreeMap<Stage, StageLimit>"
)]
pub struct TimeLimits {
    stages: BTreeMap<Stage, StageLimit>,
}

impl TimeLimits {
    /// Validates a table: exactly the [`LIMITED_STAGES`], each limit in
    /// `1..=MAX_LIMIT_DAYS`, green no longer than normal.
    ///
    /// # Errors
    /// [`LimitsError`] naming the first stage that breaks a rule.
    pub fn new(stages: BTreeMap<Stage, StageLimit>) -> Result<Self, LimitsError> {
        if let Some(&stage) = stages.keys().find(|s| !LIMITED_STAGES.contains(s)) {
            return Err(LimitsError::NotLimited(stage));
        }
        for stage in LIMITED_STAGES {
            let limit = stages.get(&stage).ok_or(LimitsError::Missing(stage))?;
            for channel in [Channel::Normal, Channel::Green] {
                let days = limit.days(channel);
                if !(1..=MAX_LIMIT_DAYS).contains(&days) {
                    return Err(LimitsError::OutOfRange { stage, channel, days });
                }
            }
            if limit.green > limit.normal {
                return Err(LimitsError::GreenSlowerThanNormal {
                    stage,
                    normal: limit.normal,
                    green: limit.green,
                });
            }
        }
        Ok(Self { stages })
    }

    /// Parses the limits file (`seeds/time-limits.json`): an object from stage
    /// codes to `{"normal": days, "green": days}`.
    ///
    /// # Errors
    /// [`LimitsError::Json`] for the wrong shape or an unknown stage code, and
    /// the other variants as in [`TimeLimits::new`].
    pub fn from_json(text: &str) -> Result<Self, LimitsError> {
        let stages: BTreeMap<Stage, StageLimit> = serde_json::from_str(text)?;
        Self::new(stages)
    }

    /// The limits of `stage`, if it has any.
    pub fn get(&self, stage: Stage) -> Option<StageLimit> {
        self.stages.get(&stage).copied()
    }

    /// The limit of `stage` on `channel`, in working days, if it has one.
    pub fn limit(&self, stage: Stage, channel: Channel) -> Option<u32> {
        self.get(stage).map(|limit| limit.days(channel))
    }

    /// Every stage and its limits, in stage order.
    pub fn iter(&self) -> impl Iterator<Item = (Stage, StageLimit)> + '_ {
        self.stages.iter().map(|(&stage, &limit)| (stage, limit))
    }
}

impl Default for TimeLimits {
    /// The defaults from `DOMAIN.md`: accepted 2/1, pre-review, conversion and
    /// supply 20/10, registration 5/1 working days (normal/green).
    fn default() -> Self {
        let limit = |normal, green| StageLimit { normal, green };
        Self {
            stages: BTreeMap::from([
                (Stage::Accepted, limit(2, 1)),
                (Stage::PreReview, limit(20, 10)),
                (Stage::Conversion, limit(20, 10)),
                (Stage::Supply, limit(20, 10)),
                (Stage::Registration, limit(5, 1)),
            ]),
        }
    }
}

impl TryFrom<BTreeMap<Stage, StageLimit>> for TimeLimits {
    type Error = LimitsError;

    fn try_from(stages: BTreeMap<Stage, StageLimit>) -> Result<Self, Self::Error> {
        Self::new(stages)
    }
}

impl From<TimeLimits> for BTreeMap<Stage, StageLimit> {
    fn from(limits: TimeLimits) -> Self {
        limits.stages
    }
}

/// The deadline of a case in `state` whose stage clock is `clock`, seen at `now`.
///
/// In correction the stage left is the one whose limit applies; its clock is
/// stopped by the open pause, so the deadline moves with `now`. `None` for
/// stages without a limit (draft and the final stages).
pub fn case_deadline(
    limits: &TimeLimits,
    calendar: &WorkCalendar,
    state: &CaseState,
    channel: Channel,
    clock: &StageClock,
    now: DateTime<Utc>,
) -> Option<Deadline> {
    let days = limits.limit(state.clock_stage(), channel)?;
    Some(clock.deadline(calendar, days, now))
}

/// Where a case stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remaining {
    /// Working days after today up to the deadline day:
    /// `working_days_between(today, deadline.date)`. 0 means the deadline is
    /// today (it closes at midnight); negative counts the working days past it.
    pub working_days: i64,
    /// The deadline.
    pub deadline: Deadline,
    /// Whether the deadline has passed at `now`. This can be true while
    /// `working_days` is 0, over a weekend after a Friday deadline.
    pub overdue: bool,
}

/// The deadline of a case and the working days left at `now`; `None` for
/// stages without a limit. See [`case_deadline`].
pub fn remaining_working_days(
    limits: &TimeLimits,
    calendar: &WorkCalendar,
    state: &CaseState,
    channel: Channel,
    clock: &StageClock,
    now: DateTime<Utc>,
) -> Option<Remaining> {
    let deadline = case_deadline(limits, calendar, state, channel, clock, now)?;
    Some(Remaining {
        working_days: calendar.working_days_between(bureau_date(now), deadline.date),
        deadline,
        overdue: deadline.is_past(now),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_those_of_the_domain_rules() {
        let limits = TimeLimits::default();
        assert_eq!(limits.limit(Stage::Accepted, Channel::Normal), Some(2));
        assert_eq!(limits.limit(Stage::Accepted, Channel::Green), Some(1));
        for stage in [Stage::PreReview, Stage::Conversion, Stage::Supply] {
            assert_eq!(limits.limit(stage, Channel::Normal), Some(20));
            assert_eq!(limits.limit(stage, Channel::Green), Some(10));
        }
        assert_eq!(limits.limit(Stage::Registration, Channel::Normal), Some(5));
        assert_eq!(limits.limit(Stage::Registration, Channel::Green), Some(1));
        assert_eq!(limits.limit(Stage::Draft, Channel::Normal), None);
        assert!(TimeLimits::new(limits.stages.clone()).is_ok());
    }

    #[test]
    fn a_table_missing_a_stage_is_refused() {
        let mut stages: BTreeMap<Stage, StageLimit> = TimeLimits::default().into();
        stages.remove(&Stage::Supply);
        assert!(matches!(
            TimeLimits::new(stages),
            Err(LimitsError::Missing(Stage::Supply))
        ));
    }

    #[test]
    fn a_limit_on_a_stage_without_one_is_refused() {
        let mut stages: BTreeMap<Stage, StageLimit> = TimeLimits::default().into();
        stages.insert(Stage::Draft, StageLimit { normal: 3, green: 1 });
        assert!(matches!(
            TimeLimits::new(stages),
            Err(LimitsError::NotLimited(Stage::Draft))
        ));
    }

    #[test]
    fn zero_day_and_green_slower_limits_are_refused() {
        let mut stages: BTreeMap<Stage, StageLimit> = TimeLimits::default().into();
        stages.insert(Stage::Accepted, StageLimit { normal: 0, green: 0 });
        assert!(matches!(
            TimeLimits::new(stages.clone()),
            Err(LimitsError::OutOfRange { days: 0, .. })
        ));
        stages.insert(Stage::Accepted, StageLimit { normal: 2, green: 3 });
        assert!(matches!(
            TimeLimits::new(stages),
            Err(LimitsError::GreenSlowerThanNormal { .. })
        ));
    }

    #[test]
    fn an_unknown_stage_code_in_the_file_is_refused() {
        let text = r#"{"acceptance": {"normal": 2, "green": 1}}"#;
        assert!(matches!(TimeLimits::from_json(text), Err(LimitsError::Json(_))));
    }
}
