//! Key-project start rates (重点项目开工率): of the municipal new-start key projects of a
//! year, how many had started by the end of each quarter, per county and for the whole city,
//! against the plan's goals (80% by the end of Q1, all by the end of Q2).
//!
//! The caller hands in every project of the year with its attributes and the date the report
//! is made on; [`start_rates`] picks the projects that count ([`counts_for_start_rate`]) and
//! returns, for each quarter, the figures and the list of projects not started with their
//! responsible leaders. Nothing here reads the clock: `as_of` is an argument, so a quarter not
//! yet ended reports the starts recorded so far and says it is still open.
//!
//! A project counts as started by a quarter's end when its recorded start date is on or
//! before both that end and `as_of`. Percentages are rounded to one decimal, and whether a goal
//! is met is decided on the exact counts (`started × 100 ≥ goal × projects`), never on the
//! rounded figure.
//!
//! **A closed quarter is frozen.** Once the bureau's date is past a quarter's last day, the
//! quarter's figure per county is taken ([`figures_to_freeze`]) and kept: the projects that
//! counted, each with the start date known then. The report then shows that figure
//! ([`start_rates_frozen`]); a start recorded later, a start date changed later, or a project
//! put on or taken off the list later shows beside it as a [`Correction`] with the figure the
//! records give now, and never changes it. For example, Q1 2026 of 汉阴县 is frozen on 1 April
//! at 2 of 4 started (50%); a start dated 25 March recorded on 10 April leaves the Q1 figure at
//! 50% and adds a correction "3 of 4 (75%)" naming that project as a start recorded later.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::county::CountyCode;
use crate::project::ProjectLevel;

/// A quarter of the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Quarter {
    /// January to March.
    Q1,
    /// April to June.
    Q2,
    /// July to September.
    Q3,
    /// October to December.
    Q4,
}

/// The number is not a quarter (1 to 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a quarter: expected 1, 2, 3 or 4")]
pub struct InvalidQuarter(pub u8);

impl Quarter {
    /// The four quarters in order.
    pub const ALL: [Quarter; 4] = [Quarter::Q1, Quarter::Q2, Quarter::Q3, Quarter::Q4];

    /// The quarter numbered 1 to 4.
    ///
    /// # Errors
    /// [`InvalidQuarter`] for any other number.
    pub fn from_number(number: u8) -> Result<Self, InvalidQuarter> {
        match number {
            1 => Ok(Quarter::Q1),
            2 => Ok(Quarter::Q2),
            3 => Ok(Quarter::Q3),
            4 => Ok(Quarter::Q4),
            other => Err(InvalidQuarter(other)),
        }
    }

    /// The quarter's number, 1 to 4.
    pub fn number(self) -> u8 {
        match self {
            Quarter::Q1 => 1,
            Quarter::Q2 => 2,
            Quarter::Q3 => 3,
            Quarter::Q4 => 4,
        }
    }

    /// The last day of the quarter in `year`, or `None` for a year `chrono` cannot represent.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use landuse_domain::start_rate::Quarter;
    /// assert_eq!(Quarter::Q1.last_day(2026), NaiveDate::from_ymd_opt(2026, 3, 31));
    /// assert_eq!(Quarter::Q2.last_day(2026), NaiveDate::from_ymd_opt(2026, 6, 30));
    /// ```
    pub fn last_day(self, year: i32) -> Option<NaiveDate> {
        let (month, day) = match self {
            Quarter::Q1 => (3, 31),
            Quarter::Q2 => (6, 30),
            Quarter::Q3 => (9, 30),
            Quarter::Q4 => (12, 31),
        };
        NaiveDate::from_ymd_opt(year, month, day)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Q{}", self.number())
    }
}

/// Why a goal table was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GoalsError {
    /// A goal above 100%.
    #[error("the {quarter} goal is {percent}%; a goal is a percentage from 0 to 100")]
    OutOfRange {
        /// The quarter.
        quarter: Quarter,
        /// The goal given.
        percent: u8,
    },
    /// A later quarter's goal below an earlier one's: starts only accumulate.
    #[error("the {later} goal ({later_percent}%) is below the {earlier} goal ({earlier_percent}%)")]
    Decreasing {
        /// The earlier quarter.
        earlier: Quarter,
        /// Its goal.
        earlier_percent: u8,
        /// The later quarter.
        later: Quarter,
        /// Its goal.
        later_percent: u8,
    },
}

/// The share of projects (in percent) that should have started by the end of each quarter.
///
/// The default is the 2023 plan's: 80% by the end of Q1, 100% from the end of Q2 on. The bureau
/// may set others (the `start_rate_goals` setting); they are data, not code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "GoalsTable", into = "GoalsTable")]
pub struct StartRateGoals([u8; 4]);

/// The serialised form of [`StartRateGoals`]: `{"q1": 80, "q2": 100, "q3": 100, "q4": 100}`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GoalsTable {
    q1: u8,
    q2: u8,
    q3: u8,
    q4: u8,
}

impl TryFrom<GoalsTable> for StartRateGoals {
    type Error = GoalsError;

    fn try_from(t: GoalsTable) -> Result<Self, Self::Error> {
        Self::new([t.q1, t.q2, t.q3, t.q4])
    }
}

impl From<StartRateGoals> for GoalsTable {
    fn from(goals: StartRateGoals) -> Self {
        let [q1, q2, q3, q4] = goals.0;
        Self { q1, q2, q3, q4 }
    }
}

impl Default for StartRateGoals {
    fn default() -> Self {
        Self([80, 100, 100, 100])
    }
}

impl StartRateGoals {
    /// Goals for Q1 to Q4, in percent.
    ///
    /// # Errors
    /// [`GoalsError`] for a goal above 100 or a goal below an earlier quarter's.
    pub fn new(percents: [u8; 4]) -> Result<Self, GoalsError> {
        for (quarter, &percent) in Quarter::ALL.iter().zip(&percents) {
            if percent > 100 {
                return Err(GoalsError::OutOfRange {
                    quarter: *quarter,
                    percent,
                });
            }
        }
        for i in 1..4 {
            if percents[i] < percents[i - 1] {
                return Err(GoalsError::Decreasing {
                    earlier: Quarter::ALL[i - 1],
                    earlier_percent: percents[i - 1],
                    later: Quarter::ALL[i],
                    later_percent: percents[i],
                });
            }
        }
        Ok(Self(percents))
    }

    /// The goal for `quarter`, in percent.
    pub fn goal(&self, quarter: Quarter) -> u8 {
        self.0[usize::from(quarter.number() - 1)]
    }
}

/// A key project as the report needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectStart {
    /// The project.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its county.
    pub county: CountyCode,
    /// The level of the list it is on.
    pub level: ProjectLevel,
    /// Whether it is on a key-project list.
    pub on_key_list: bool,
    /// Whether it is a new start of its list year (新开工).
    pub new_start: bool,
    /// The list year.
    pub year: i32,
    /// When it was planned to start.
    pub planned_start: Option<NaiveDate>,
    /// The responsible leader (包抓领导).
    pub responsible_leader: Option<String>,
    /// When it actually started, once recorded.
    pub started_on: Option<NaiveDate>,
}

/// Whether `project` counts in the start-rate report of `year`: a municipal new-start project
/// on the key-project list of that year.
pub fn counts_for_start_rate(project: &ProjectStart, year: i32) -> bool {
    project.year == year
        && project.on_key_list
        && project.new_start
        && project.level == ProjectLevel::Municipal
}

/// A project not started by a quarter's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotStarted {
    /// The project.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its county.
    pub county: CountyCode,
    /// When it was planned to start.
    pub planned_start: Option<NaiveDate>,
    /// The responsible leader, when one is assigned.
    pub responsible_leader: Option<String>,
    /// A start recorded after the quarter's end, when there is one.
    pub started_on: Option<NaiveDate>,
}

/// The figures of one county (or of the whole city) for one quarter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateLine {
    /// The county; `None` for the whole city.
    pub county: Option<CountyCode>,
    /// Projects that count.
    pub projects: u32,
    /// Of those, started by the quarter's end (and by `as_of`).
    pub started: u32,
    /// `started / projects` in percent, one decimal; `None` without projects.
    pub percent: Option<f64>,
    /// Whether the goal is met; `None` without projects.
    pub goal_met: Option<bool>,
    /// The projects not started, by planned start then name.
    pub not_started: Vec<NotStarted>,
    /// The bureau's date the figure was taken on, for a frozen figure; `None` for a figure
    /// computed from the records as they are.
    pub frozen_on: Option<NaiveDate>,
    /// What the records say now, when it differs from the frozen figure.
    pub correction: Option<Correction>,
}

/// One quarter of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuarterRates {
    /// The quarter.
    pub quarter: Quarter,
    /// Its last day.
    pub ends_on: NaiveDate,
    /// Whether the quarter had ended by `as_of`; an open quarter's figures are the starts so far.
    pub closed: bool,
    /// Whether the figures are the ones taken when the quarter closed (corrections beside
    /// them), rather than computed from the records as they are.
    pub frozen: bool,
    /// The goal, in percent.
    pub goal_percent: u8,
    /// One line per county with projects, by county code.
    pub counties: Vec<RateLine>,
    /// The whole city.
    pub total: RateLine,
}

/// The start-rate report of a year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartRateReport {
    /// The list year.
    pub year: i32,
    /// The day the report describes.
    pub as_of: NaiveDate,
    /// One entry per quarter, Q1 first.
    pub quarters: Vec<QuarterRates>,
}

/// Why a report cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StartRateError {
    /// `chrono` cannot represent the year's quarter ends.
    #[error("{0} is not a year the report can describe")]
    YearOutOfRange(i32),
}

/// `part / whole` in percent, rounded half up to one decimal, from integers so that the same
/// counts always give the same figure.
fn percent_one_decimal(part: u32, whole: u32) -> Option<f64> {
    if whole == 0 {
        return None;
    }
    let tenths = (u64::from(part) * 1000 * 2 + u64::from(whole)) / (u64::from(whole) * 2);
    Some(tenths as f64 / 10.0)
}

/// A project as a figure counts it: who it is, where, whose, and the start date known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenProject {
    /// The project.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its county.
    pub county: CountyCode,
    /// When it was planned to start.
    pub planned_start: Option<NaiveDate>,
    /// The responsible leader.
    pub responsible_leader: Option<String>,
    /// The start date known when the figure was taken.
    pub started_on: Option<NaiveDate>,
}

impl From<&ProjectStart> for FrozenProject {
    fn from(p: &ProjectStart) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            county: p.county,
            planned_start: p.planned_start,
            responsible_leader: p.responsible_leader.clone(),
            started_on: p.started_on,
        }
    }
}

/// One county's figure for one closed quarter, as taken when the quarter closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenFigure {
    /// The list year.
    pub year: i32,
    /// The quarter.
    pub quarter: Quarter,
    /// The county.
    pub county: CountyCode,
    /// The bureau's date it was taken on (after the quarter's last day).
    pub frozen_on: NaiveDate,
    /// The goal then, in percent.
    pub goal_percent: u8,
    /// The projects that counted, with the start dates known then.
    pub projects: Vec<FrozenProject>,
}

/// How the records changed since a figure was frozen, for one project.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ChangeKind {
    /// A start recorded after the figure was taken.
    StartRecordedLater,
    /// The start date changed after the figure was taken.
    StartDateChanged,
    /// The recorded start was withdrawn.
    StartWithdrawn,
    /// The project counts now but did not then (put on the list later, for example).
    AddedLater,
    /// The project counted then but does not now (taken off the list later, for example).
    RemovedLater,
}

impl ChangeKind {
    /// The stable `snake_case` code, as in the JSON report.
    pub fn code(self) -> &'static str {
        self.into()
    }
}

/// One project whose record differs from the frozen figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartChange {
    /// The project.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its county.
    pub county: CountyCode,
    /// What changed.
    pub kind: ChangeKind,
    /// The start date in the frozen figure.
    pub frozen_started_on: Option<NaiveDate>,
    /// The start date recorded now.
    pub started_on: Option<NaiveDate>,
}

/// What the records say now about a frozen figure: the figure they give, and why it differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Correction {
    /// Projects that count now.
    pub projects: u32,
    /// Of those, started by the quarter's end as recorded now.
    pub started: u32,
    /// `started / projects` in percent, one decimal; `None` without projects.
    pub percent: Option<f64>,
    /// Whether the goal is met as recorded now; `None` without projects.
    pub goal_met: Option<bool>,
    /// The projects whose records changed, by name.
    pub changes: Vec<StartChange>,
}

fn line(county: Option<CountyCode>, projects: &[&FrozenProject], by: NaiveDate, goal: u8) -> RateLine {
    let started = |p: &FrozenProject| p.started_on.is_some_and(|d| d <= by);
    let count = u32::try_from(projects.len()).unwrap_or(u32::MAX);
    let started_count = u32::try_from(projects.iter().filter(|p| started(p)).count()).unwrap_or(u32::MAX);
    let mut not_started: Vec<NotStarted> = projects
        .iter()
        .filter(|p| !started(p))
        .map(|p| NotStarted {
            id: p.id,
            name: p.name.clone(),
            county: p.county,
            planned_start: p.planned_start,
            responsible_leader: p.responsible_leader.clone(),
            started_on: p.started_on,
        })
        .collect();
    not_started.sort_by(|a, b| {
        (a.planned_start.is_none(), a.planned_start, &a.name, a.id).cmp(&(
            b.planned_start.is_none(),
            b.planned_start,
            &b.name,
            b.id,
        ))
    });
    RateLine {
        county,
        projects: count,
        started: started_count,
        percent: percent_one_decimal(started_count, count),
        goal_met: (count > 0).then(|| u64::from(started_count) * 100 >= u64::from(goal) * u64::from(count)),
        not_started,
        frozen_on: None,
        correction: None,
    }
}

/// The correction of a frozen figure (`frozen`) by the records now (`now`), or `None` when
/// every project's record is as it was.
fn correction(
    county: Option<CountyCode>,
    frozen: &[&FrozenProject],
    now: &[&FrozenProject],
    ends_on: NaiveDate,
    goal: u8,
) -> Option<Correction> {
    let then: BTreeMap<Uuid, &FrozenProject> = frozen.iter().map(|p| (p.id, *p)).collect();
    let current: BTreeMap<Uuid, &FrozenProject> = now.iter().map(|p| (p.id, *p)).collect();
    let mut changes: Vec<StartChange> = then
        .keys()
        .chain(current.keys().filter(|id| !then.contains_key(id)))
        .filter_map(|id| {
            let (was, is) = (then.get(id), current.get(id));
            let kind = match (was.map(|p| p.started_on), is.map(|p| p.started_on)) {
                (Some(a), Some(b)) if a == b => return None,
                (Some(None), Some(Some(_))) => ChangeKind::StartRecordedLater,
                (Some(Some(_)), Some(Some(_))) => ChangeKind::StartDateChanged,
                (Some(_), Some(None)) => ChangeKind::StartWithdrawn,
                (Some(_), None) => ChangeKind::RemovedLater,
                (None, _) => ChangeKind::AddedLater,
            };
            let project = is.or(was)?;
            Some(StartChange {
                id: *id,
                name: project.name.clone(),
                county: project.county,
                kind,
                frozen_started_on: was.and_then(|p| p.started_on),
                started_on: is.and_then(|p| p.started_on),
            })
        })
        .collect();
    if changes.is_empty() {
        return None;
    }
    changes.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    let figure = line(county, now, ends_on, goal);
    Some(Correction {
        projects: figure.projects,
        started: figure.started,
        percent: figure.percent,
        goal_met: figure.goal_met,
        changes,
    })
}

/// The quarters of `year` that are closed on the bureau's date `today`: those whose last day
/// is over. A quarter's last day itself still belongs to it (a start dated that day may still
/// be recorded), so Q1 closes when 1 April begins.
///
/// ```
/// use chrono::NaiveDate;
/// use landuse_domain::start_rate::{closed_quarters, Quarter};
/// let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
/// assert_eq!(closed_quarters(2026, day(3, 31)), []);
/// assert_eq!(closed_quarters(2026, day(4, 1)), [Quarter::Q1]);
/// assert_eq!(closed_quarters(2025, day(4, 1)).len(), 4);
/// ```
pub fn closed_quarters(year: i32, today: NaiveDate) -> Vec<Quarter> {
    Quarter::ALL
        .into_iter()
        .filter(|q| q.last_day(year).is_some_and(|end| today > end))
        .collect()
}

/// The figures to take on the bureau's date `today` for `year`: for each quarter closed by
/// `today` and each county of `counties` that has no figure in `taken` yet, the projects of
/// that county that count, with their starts as recorded now, and the goal now. A county
/// without such projects gets an empty figure, so that a project added to it later shows as
/// a correction rather than silently becoming the quarter's figure.
///
/// This is the whole freezing rule; whoever calls it (the sweeper, or the first report read
/// after the close) only stores what it returns. The same records and the same `today` give
/// the same figures.
pub fn figures_to_freeze(
    projects: &[ProjectStart],
    year: i32,
    today: NaiveDate,
    goals: &StartRateGoals,
    counties: &[CountyCode],
    taken: &[(Quarter, CountyCode)],
) -> Vec<FrozenFigure> {
    let mut figures = Vec::new();
    for quarter in closed_quarters(year, today) {
        for county in counties {
            if taken.contains(&(quarter, *county)) {
                continue;
            }
            figures.push(FrozenFigure {
                year,
                quarter,
                county: *county,
                frozen_on: today,
                goal_percent: goals.goal(quarter),
                projects: projects
                    .iter()
                    .filter(|p| p.county == *county && counts_for_start_rate(p, year))
                    .map(FrozenProject::from)
                    .collect(),
            });
        }
    }
    figures
}

/// The start-rate report of `year` as of `as_of`, for the projects that count among `projects`.
///
/// ```
/// use chrono::NaiveDate;
/// use landuse_domain::county::CountyCode;
/// use landuse_domain::project::ProjectLevel;
/// use landuse_domain::start_rate::{start_rates, ProjectStart, StartRateGoals};
/// # use uuid::Uuid;
/// let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d);
/// let project = |n: u128, started_on| ProjectStart {
///     id: Uuid::from_u128(n),
///     name: format!("项目{n}"),
///     county: CountyCode::parse("610902").unwrap(),
///     level: ProjectLevel::Municipal,
///     on_key_list: true,
///     new_start: true,
///     year: 2026,
///     planned_start: day(3, 1),
///     responsible_leader: Some("张局长".into()),
///     started_on,
/// };
/// let projects = [project(1, day(2, 10)), project(2, day(3, 31)), project(3, day(4, 2))];
/// let report = start_rates(&projects, 2026, day(7, 1).unwrap(), &StartRateGoals::default())?;
/// let q1 = &report.quarters[0].total;
/// assert_eq!((q1.started, q1.projects, q1.percent), (2, 3, Some(66.7)));
/// assert_eq!(q1.goal_met, Some(false));
/// assert_eq!(report.quarters[1].total.percent, Some(100.0));
/// # Ok::<(), landuse_domain::start_rate::StartRateError>(())
/// ```
///
/// # Errors
/// [`StartRateError::YearOutOfRange`] for a year whose dates cannot be represented.
pub fn start_rates(
    projects: &[ProjectStart],
    year: i32,
    as_of: NaiveDate,
    goals: &StartRateGoals,
) -> Result<StartRateReport, StartRateError> {
    start_rates_frozen(projects, year, as_of, goals, &[])
}

/// The start-rate report of `year` as of `as_of`, with the figures frozen when quarters closed.
///
/// A quarter shows its frozen figures when it had ended by `as_of` and every county with
/// projects that count now has a figure in `frozen` (the caller freezes before it reads); each
/// line then carries a [`Correction`] when the records now differ. Otherwise the quarter is
/// computed from `projects` as [`start_rates`] does.
///
/// # Errors
/// [`StartRateError::YearOutOfRange`] for a year whose dates cannot be represented.
pub fn start_rates_frozen(
    projects: &[ProjectStart],
    year: i32,
    as_of: NaiveDate,
    goals: &StartRateGoals,
    frozen: &[FrozenFigure],
) -> Result<StartRateReport, StartRateError> {
    let counted: Vec<FrozenProject> = projects
        .iter()
        .filter(|p| counts_for_start_rate(p, year))
        .map(FrozenProject::from)
        .collect();
    let mut by_county: BTreeMap<CountyCode, Vec<&FrozenProject>> = BTreeMap::new();
    for project in &counted {
        by_county.entry(project.county).or_default().push(project);
    }
    let all_now: Vec<&FrozenProject> = counted.iter().collect();
    let mut quarters = Vec::with_capacity(4);
    for quarter in Quarter::ALL {
        let ends_on = quarter
            .last_day(year)
            .ok_or(StartRateError::YearOutOfRange(year))?;
        let by = ends_on.min(as_of);
        let figures: BTreeMap<CountyCode, &FrozenFigure> = frozen
            .iter()
            .filter(|f| f.year == year && f.quarter == quarter)
            .map(|f| (f.county, f))
            .collect();
        let use_frozen =
            as_of > ends_on && !figures.is_empty() && by_county.keys().all(|c| figures.contains_key(c));
        if !use_frozen {
            let goal = goals.goal(quarter);
            quarters.push(QuarterRates {
                quarter,
                ends_on,
                closed: as_of >= ends_on,
                frozen: false,
                goal_percent: goal,
                counties: by_county
                    .iter()
                    .map(|(county, list)| line(Some(*county), list, by, goal))
                    .collect(),
                total: line(None, &all_now, by, goal),
            });
            continue;
        }
        // The goal of the latest figure: figures taken on different days under another goal
        // setting keep their own in their county lines.
        let goal = figures
            .values()
            .max_by_key(|f| (f.frozen_on, f.county))
            .map_or_else(|| goals.goal(quarter), |f| f.goal_percent);
        let mut counties = Vec::new();
        let mut all_then: Vec<&FrozenProject> = Vec::new();
        for (county, figure) in &figures {
            let now: &[&FrozenProject] = by_county.get(county).map_or(&[], Vec::as_slice);
            if figure.projects.is_empty() && now.is_empty() {
                continue;
            }
            let then: Vec<&FrozenProject> = figure.projects.iter().collect();
            all_then.extend(&then);
            let mut rate = line(Some(*county), &then, ends_on, figure.goal_percent);
            rate.frozen_on = Some(figure.frozen_on);
            rate.correction = correction(Some(*county), &then, now, ends_on, figure.goal_percent);
            counties.push(rate);
        }
        let mut total = line(None, &all_then, ends_on, goal);
        total.frozen_on = figures.values().map(|f| f.frozen_on).max();
        total.correction = correction(None, &all_then, &all_now, ends_on, goal);
        quarters.push(QuarterRates {
            quarter,
            ends_on,
            closed: true,
            frozen: true,
            goal_percent: goal,
            counties,
            total,
        });
    }
    Ok(StartRateReport {
        year,
        as_of,
        quarters,
    })
}

/// The quarter `date` falls in.
pub fn quarter_of(date: NaiveDate) -> Quarter {
    match date.month() {
        1..=3 => Quarter::Q1,
        4..=6 => Quarter::Q2,
        7..=9 => Quarter::Q3,
        _ => Quarter::Q4,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;

    fn day(month: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, d).unwrap()
    }

    fn project(n: u128, county: &str, started_on: Option<NaiveDate>) -> ProjectStart {
        ProjectStart {
            id: Uuid::from_u128(n),
            name: format!("project {n:02}"),
            county: CountyCode::parse(county).unwrap(),
            level: ProjectLevel::Municipal,
            on_key_list: true,
            new_start: true,
            year: 2026,
            planned_start: Some(day(3, 1)),
            responsible_leader: Some(format!("leader {n}")),
            started_on,
        }
    }

    /// 汉滨区: 5 projects, 4 started in Q1 and the fifth in Q2. 汉阴县: 4 projects, 2 in Q1,
    /// 1 in Q2, 1 never. Plus projects that must not count.
    fn known_set() -> Vec<ProjectStart> {
        let mut set = vec![
            project(1, "610902", Some(day(1, 15))),
            project(2, "610902", Some(day(2, 20))),
            project(3, "610902", Some(day(3, 10))),
            project(4, "610902", Some(day(3, 31))),
            project(5, "610902", Some(day(4, 1))),
            project(6, "610921", Some(day(3, 1))),
            project(7, "610921", Some(day(3, 30))),
            project(8, "610921", Some(day(6, 30))),
            project(9, "610921", None),
        ];
        let mut provincial = project(10, "610902", None);
        provincial.level = ProjectLevel::Provincial;
        let mut continuing = project(11, "610902", None);
        continuing.new_start = false;
        let mut off_list = project(12, "610902", None);
        off_list.on_key_list = false;
        let mut last_year = project(13, "610902", None);
        last_year.year = 2025;
        set.extend([provincial, continuing, off_list, last_year]);
        set
    }

    #[test]
    fn a_known_project_set_gives_the_expected_percentages_per_county_and_quarter() {
        let report = start_rates(&known_set(), 2026, day(7, 15), &StartRateGoals::default()).unwrap();
        let q1 = &report.quarters[0];
        assert_eq!(q1.quarter, Quarter::Q1);
        assert!(q1.closed);
        assert_eq!(q1.goal_percent, 80);
        let first = &q1.counties[0];
        assert_eq!(first.county.unwrap().as_str(), "610902");
        assert_eq!((first.started, first.projects), (4, 5));
        assert_eq!(first.percent, Some(80.0));
        assert_eq!(first.goal_met, Some(true), "exactly the goal meets it");
        let second = &q1.counties[1];
        assert_eq!((second.started, second.projects), (2, 4));
        assert_eq!(second.percent, Some(50.0));
        assert_eq!(second.goal_met, Some(false));
        assert_eq!((q1.total.started, q1.total.projects), (6, 9));
        assert_eq!(q1.total.percent, Some(66.7));

        let q2 = &report.quarters[1];
        assert_eq!(q2.goal_percent, 100);
        assert_eq!(q2.counties[0].percent, Some(100.0));
        assert_eq!(q2.counties[0].goal_met, Some(true));
        assert_eq!(q2.counties[1].percent, Some(75.0));
        assert_eq!(q2.total.percent, Some(88.9));
        assert_eq!(q2.total.goal_met, Some(false));
    }

    #[test]
    fn the_not_started_list_names_the_projects_and_their_responsible_leaders() {
        let report = start_rates(&known_set(), 2026, day(7, 15), &StartRateGoals::default()).unwrap();
        let q1_first: Vec<_> = report.quarters[0].counties[0]
            .not_started
            .iter()
            .map(|p| (p.name.as_str(), p.responsible_leader.as_deref(), p.started_on))
            .collect();
        assert_eq!(
            q1_first,
            [("project 05", Some("leader 5"), Some(day(4, 1)))],
            "a start after the quarter's end is listed with its date"
        );
        let q2_second: Vec<_> = report.quarters[1].counties[1]
            .not_started
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(q2_second, ["project 09"]);
    }

    #[test]
    fn an_open_quarter_counts_only_starts_up_to_the_report_date() {
        let report = start_rates(&known_set(), 2026, day(3, 15), &StartRateGoals::default()).unwrap();
        let q1 = &report.quarters[0];
        assert!(!q1.closed);
        assert_eq!(
            q1.counties[0].started, 3,
            "the start on 31 March is not yet known on 15 March"
        );
        assert_eq!(report.quarters[1].total.started, q1.total.started);
    }

    #[test]
    fn a_year_without_counted_projects_has_no_percentages() {
        let report = start_rates(&known_set(), 2027, day(7, 15), &StartRateGoals::default()).unwrap();
        let q1 = &report.quarters[0];
        assert!(q1.counties.is_empty());
        assert_eq!(q1.total.projects, 0);
        assert_eq!((q1.total.percent, q1.total.goal_met), (None, None));
    }

    #[test]
    fn goals_must_be_percentages_that_never_decrease() {
        assert!(StartRateGoals::new([80, 100, 100, 100]).is_ok());
        assert_eq!(
            StartRateGoals::new([80, 101, 100, 100]),
            Err(GoalsError::OutOfRange {
                quarter: Quarter::Q2,
                percent: 101
            })
        );
        assert!(matches!(
            StartRateGoals::new([90, 80, 100, 100]),
            Err(GoalsError::Decreasing { .. })
        ));
        let parsed: StartRateGoals =
            serde_json::from_str(r#"{"q1": 80, "q2": 100, "q3": 100, "q4": 100}"#).unwrap();
        assert_eq!(parsed, StartRateGoals::default());
        assert!(
            serde_json::from_str::<StartRateGoals>(r#"{"q1": 80, "q2": 60, "q3": 100, "q4": 100}"#).is_err()
        );
    }

    #[test]
    fn percentages_round_half_up_to_one_decimal() {
        assert_eq!(percent_one_decimal(2, 3), Some(66.7));
        assert_eq!(percent_one_decimal(1, 3), Some(33.3));
        assert_eq!(percent_one_decimal(1, 8), Some(12.5));
        assert_eq!(percent_one_decimal(1, 16), Some(6.3));
        assert_eq!(percent_one_decimal(0, 0), None);
    }

    #[test]
    fn quarters_have_their_last_days_and_contain_their_months() {
        assert_eq!(Quarter::Q3.last_day(2026), Some(day(9, 30)));
        assert_eq!(Quarter::Q4.last_day(2026), Some(day(12, 31)));
        assert_eq!(quarter_of(day(4, 1)), Quarter::Q2);
        assert_eq!(quarter_of(day(12, 31)), Quarter::Q4);
        assert_eq!(Quarter::from_number(5), Err(InvalidQuarter(5)));
        assert_eq!(Quarter::from_number(2).unwrap().to_string(), "Q2");
    }

    #[test]
    fn a_closed_quarter_keeps_its_frozen_figure_and_shows_later_starts_as_corrections() {
        let mut projects = known_set();
        let counties = [
            CountyCode::parse("610902").unwrap(),
            CountyCode::parse("610921").unwrap(),
        ];
        // Frozen on 1 April: 汉阴县 has 2 of 4 started by 31 March.
        let frozen = figures_to_freeze(
            &projects,
            2026,
            day(4, 1),
            &StartRateGoals::default(),
            &counties,
            &[],
        );
        assert_eq!(frozen.len(), 2, "Q1 only, one figure per county");
        assert!(figures_to_freeze(
            &projects,
            2026,
            day(4, 1),
            &StartRateGoals::default(),
            &counties,
            &[(Quarter::Q1, counties[0]), (Quarter::Q1, counties[1])]
        )
        .is_empty());
        // Later: project 09's start, dated 25 March, is recorded; project 06's date moves
        // into April.
        projects[8].started_on = Some(day(3, 25));
        projects[5].started_on = Some(day(4, 3));
        let report =
            start_rates_frozen(&projects, 2026, day(4, 20), &StartRateGoals::default(), &frozen).unwrap();
        let q1 = &report.quarters[0];
        assert!(q1.frozen);
        let hanyin = &q1.counties[1];
        assert_eq!(
            (hanyin.started, hanyin.projects, hanyin.percent),
            (2, 4, Some(50.0))
        );
        assert_eq!(hanyin.frozen_on, Some(day(4, 1)));
        let correction = hanyin.correction.as_ref().unwrap();
        assert_eq!((correction.started, correction.projects), (2, 4));
        let kinds: Vec<_> = correction
            .changes
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("project 06", ChangeKind::StartDateChanged),
                ("project 09", ChangeKind::StartRecordedLater)
            ]
        );
        assert_eq!(correction.changes[1].started_on, Some(day(3, 25)));
        assert!(q1.counties[0].correction.is_none(), "汉滨区 did not change");
        assert_eq!(
            (q1.total.started, q1.total.projects),
            (6, 9),
            "the city's figure is kept"
        );
        assert!(q1.total.correction.is_some());
        // Q2 is still open on 20 April: computed from the records.
        assert!(!report.quarters[1].frozen);
        // Unfrozen, the same records give the corrected figure.
        let live = start_rates(&projects, 2026, day(4, 20), &StartRateGoals::default()).unwrap();
        assert_eq!(live.quarters[0].counties[1].started, 2);
        assert!(live.quarters[0].counties[1].correction.is_none());
    }

    #[test]
    fn a_project_put_on_the_list_after_the_close_is_a_correction_not_part_of_the_figure() {
        let projects = known_set();
        let counties = [
            CountyCode::parse("610902").unwrap(),
            CountyCode::parse("610921").unwrap(),
        ];
        let frozen = figures_to_freeze(
            &projects,
            2026,
            day(4, 1),
            &StartRateGoals::default(),
            &counties,
            &[],
        );
        let mut later = projects.clone();
        later[11].on_key_list = true;
        later[11].started_on = Some(day(2, 1));
        let report =
            start_rates_frozen(&later, 2026, day(5, 1), &StartRateGoals::default(), &frozen).unwrap();
        let hanbin = &report.quarters[0].counties[0];
        assert_eq!((hanbin.started, hanbin.projects), (4, 5));
        let correction = hanbin.correction.as_ref().unwrap();
        assert_eq!((correction.started, correction.projects), (5, 6));
        assert_eq!(correction.changes[0].kind, ChangeKind::AddedLater);
    }

    #[test]
    fn a_quarter_is_closed_only_after_its_last_day() {
        assert!(closed_quarters(2026, day(3, 31)).is_empty());
        assert_eq!(closed_quarters(2026, day(7, 1)), [Quarter::Q1, Quarter::Q2]);
        assert!(closed_quarters(2027, day(12, 31)).is_empty());
    }
}
