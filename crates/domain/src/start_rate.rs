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

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::county::CountyCode;
use crate::project::ProjectLevel;

/// A quarter of the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
}

/// One quarter of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarterRates {
    /// The quarter.
    pub quarter: Quarter,
    /// Its last day.
    pub ends_on: NaiveDate,
    /// Whether the quarter had ended by `as_of`; an open quarter's figures are the starts so far.
    pub closed: bool,
    /// The goal, in percent.
    pub goal_percent: u8,
    /// One line per county with projects, by county code.
    pub counties: Vec<RateLine>,
    /// The whole city.
    pub total: RateLine,
}

/// The start-rate report of a year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

fn line(county: Option<CountyCode>, projects: &[&ProjectStart], by: NaiveDate, goal: u8) -> RateLine {
    let started = |p: &ProjectStart| p.started_on.is_some_and(|d| d <= by);
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
    }
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
    let counted: Vec<&ProjectStart> = projects
        .iter()
        .filter(|p| counts_for_start_rate(p, year))
        .collect();
    let mut by_county: BTreeMap<CountyCode, Vec<&ProjectStart>> = BTreeMap::new();
    for project in &counted {
        by_county.entry(project.county).or_default().push(project);
    }
    let mut quarters = Vec::with_capacity(4);
    for quarter in Quarter::ALL {
        let ends_on = quarter
            .last_day(year)
            .ok_or(StartRateError::YearOutOfRange(year))?;
        let by = ends_on.min(as_of);
        let goal = goals.goal(quarter);
        quarters.push(QuarterRates {
            quarter,
            ends_on,
            closed: as_of >= ends_on,
            goal_percent: goal,
            counties: by_county
                .iter()
                .map(|(county, list)| line(Some(*county), list, by, goal))
                .collect(),
            total: line(None, &counted, by, goal),
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
}
