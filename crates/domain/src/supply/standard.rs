//! Standard land (标准地, plan item 15): new industrial land supplied with its control indicators
//! agreed in advance, and whether the land later achieved them.
//!
//! # The indicators
//! The plan names fixed-asset investment intensity, tax per mu, energy use, floor-area ratio and
//! the land-use standard. Each value is an exact [`Amount`] with two decimals in one unit, parsed
//! from a value and the unit it was given in ([`IndicatorKind::parse_value`]): a value in another
//! unit or negative is refused naming the indicator. Energy use is held in kilograms of standard
//! coal per 万元 of output, so that 0.045 tce/万元 (45 kgce/万元) keeps its digits in two
//! decimals; a value given in tce/万元 is converted.
//!
//! | indicator | unit | achieved must be |
//! |---|---|---|
//! | `investment_intensity` 固定资产投资强度 | 万元/亩 | at least the agreed |
//! | `floor_area_ratio` 容积率 | 1 (a ratio) | at least the agreed |
//! | `tax_per_mu` 亩均税收 | 万元/亩·年 | at least the agreed |
//! | `energy_per_output` 单位产出能耗 | kgce/万元 | at most the agreed |
//! | land-use standard met 用地标准 | yes / no | yes when agreed |
//!
//! # The share
//! Supplied land is standard land when it was supplied with agreed indicators. Of the industrial
//! land supplied in a year (decisions dated in the year, up to `as_of`), the share supplied as
//! standard land, by area, must be 100% inside provincial-level development zones (the
//! `development_zone` layer) and at least 40% elsewhere ([`StandardLandGoals`], configurable).
//! A supply that straddles a zone's edge counts with its part inside (measured by the spatial
//! crate) against the zone goal and the rest against the other. A goal is met on the exact
//! hundredths (`standard × 100 ≥ goal × supplied`).
//!
//! Example: in 汉滨区, 2026, 30 mu supplied as standard land all inside a zone and 20 mu inside
//! without indicators; elsewhere 10 mu standard and 15 mu not. Inside: 30 / 50 = 60.0%, goal
//! 100%, missed. Elsewhere: 10 / 25 = 40.0%, goal 40%, met.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{percent_of, reaches};
use crate::county::CountyCode;
use crate::ledger::{Amount, AmountError};

/// One standard-land indicator with a value.
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum IndicatorKind {
    /// 固定资产投资强度, in 万元/亩.
    InvestmentIntensity,
    /// 容积率, a ratio.
    FloorAreaRatio,
    /// 亩均税收, in 万元/亩·年.
    TaxPerMu,
    /// 单位产出能耗, in kgce/万元.
    EnergyPerOutput,
}

/// Which way an achieved value must lie from the agreed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The achieved value must be at least the agreed one.
    AtLeast,
    /// The achieved value must be at most the agreed one.
    AtMost,
}

impl IndicatorKind {
    /// Every indicator, in declaration order.
    pub const ALL: &'static [IndicatorKind] = <IndicatorKind as strum::VariantArray>::VARIANTS;

    /// The stable `snake_case` code: the field an error names.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// The unit the value is held in.
    pub fn unit(self) -> &'static str {
        self.units()[0].0
    }

    /// The units a value may be given in, each with the factor to the held unit (the first).
    fn units(self) -> &'static [(&'static str, f64)] {
        match self {
            IndicatorKind::InvestmentIntensity => &[("万元/亩", 1.0)],
            IndicatorKind::FloorAreaRatio => &[("1", 1.0), ("", 1.0)],
            IndicatorKind::TaxPerMu => &[("万元/亩·年", 1.0), ("万元/(亩·年)", 1.0)],
            IndicatorKind::EnergyPerOutput => &[("kgce/万元", 1.0), ("tce/万元", 1_000.0)],
        }
    }

    /// Which way the achieved value must lie: energy use at most the agreed, the rest at least.
    pub fn bound(self) -> Bound {
        match self {
            IndicatorKind::EnergyPerOutput => Bound::AtMost,
            _ => Bound::AtLeast,
        }
    }

    /// Parses a value given in `unit` into the held unit, not negative. An indicator is a
    /// measurement, so it is rounded half up to two decimals of the held unit (as areas are),
    /// not refused for a third: 0.04512 tce/万元 is 45.12 kgce/万元.
    ///
    /// # Errors
    /// [`IndicatorError::WrongUnit`] for a unit the indicator is not given in,
    /// [`IndicatorError::Invalid`] for a negative, non-finite or too large value.
    ///
    /// ```
    /// use landuse_domain::supply::IndicatorKind;
    /// let energy = IndicatorKind::EnergyPerOutput.parse_value(0.045, "tce/万元")?;
    /// assert_eq!(energy.to_string(), "45.00");
    /// let refused = IndicatorKind::TaxPerMu.parse_value(-1.0, "万元/亩·年").unwrap_err();
    /// assert_eq!(refused.field(), "tax_per_mu");
    /// assert!(IndicatorKind::InvestmentIntensity.parse_value(300.0, "元/平方米").is_err());
    /// # Ok::<(), landuse_domain::supply::IndicatorError>(())
    /// ```
    pub fn parse_value(self, value: f64, unit: &str) -> Result<Amount, IndicatorError> {
        let Some(&(_, factor)) = self.units().iter().find(|(u, _)| *u == unit.trim()) else {
            return Err(IndicatorError::WrongUnit {
                indicator: self,
                given: unit.to_owned(),
                accepted: self
                    .units()
                    .iter()
                    .map(|(u, _)| format!("{u:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let invalid = |reason| IndicatorError::Invalid {
            indicator: self,
            reason,
        };
        // Refused as given, so the message shows the value the caller sent, not its conversion.
        if !value.is_finite() {
            return Err(invalid(AmountError::NotFinite(value)));
        }
        if value < 0.0 {
            return Err(invalid(AmountError::Negative(value)));
        }
        Amount::round(value * factor).map_err(invalid)
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why an indicator value was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndicatorError {
    /// The value was given in a unit the indicator is not stated in.
    #[error("{indicator} is given in {given:?}; it is stated in {accepted}")]
    WrongUnit {
        /// The indicator.
        indicator: IndicatorKind,
        /// The unit given.
        given: String,
        /// The units accepted.
        accepted: String,
    },
    /// The value is negative, not a number, or has more than two decimals in the held unit.
    #[error("{indicator}: {reason}")]
    Invalid {
        /// The indicator.
        indicator: IndicatorKind,
        /// What is wrong with the value.
        reason: AmountError,
    },
}

impl IndicatorError {
    /// The indicator's code, the field the API's 422 names.
    pub fn field(&self) -> &'static str {
        match self {
            Self::WrongUnit { indicator, .. } | Self::Invalid { indicator, .. } => indicator.code(),
        }
    }
}

/// The standard-land indicators, agreed at supply or achieved at acceptance, each in the unit of
/// its [`IndicatorKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StandardLandIndicators {
    /// 万元/亩.
    pub investment_intensity: Amount,
    /// A ratio.
    pub floor_area_ratio: Amount,
    /// 万元/亩·年.
    pub tax_per_mu: Amount,
    /// kgce/万元.
    pub energy_per_output: Amount,
    /// Whether the land-use standard (用地标准) is met.
    pub land_use_standard_met: bool,
}

impl StandardLandIndicators {
    /// The value of one indicator.
    pub fn get(&self, kind: IndicatorKind) -> Amount {
        match kind {
            IndicatorKind::InvestmentIntensity => self.investment_intensity,
            IndicatorKind::FloorAreaRatio => self.floor_area_ratio,
            IndicatorKind::TaxPerMu => self.tax_per_mu,
            IndicatorKind::EnergyPerOutput => self.energy_per_output,
        }
    }
}

/// One indicator, agreed against achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndicatorComparison {
    /// The indicator.
    pub indicator: IndicatorKind,
    /// Its unit.
    pub unit: &'static str,
    /// Which way the achieved value must lie.
    pub bound: Bound,
    /// Agreed at supply.
    pub agreed: Amount,
    /// Achieved at acceptance.
    pub achieved: Amount,
    /// Whether the achieved value lies on the right side (equal meets it).
    pub met: bool,
    /// By how much it misses, in the unit; zero when met.
    pub shortfall: Amount,
}

/// The agreed indicators of one supply against those achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndicatorReview {
    /// One comparison per valued indicator, in [`IndicatorKind::ALL`] order.
    pub indicators: Vec<IndicatorComparison>,
    /// Whether the land-use standard was agreed and is not met.
    pub land_use_standard_missed: bool,
    /// Whether every agreed indicator is met.
    pub all_met: bool,
}

/// Compares what was agreed with what was achieved: which indicators miss, and by how much.
///
/// ```
/// use landuse_domain::ledger::Amount;
/// use landuse_domain::supply::{standard::compare, IndicatorKind, StandardLandIndicators};
/// let a = Amount::from_hundredths;
/// let agreed = StandardLandIndicators { investment_intensity: a(30_000), floor_area_ratio: a(120),
///     tax_per_mu: a(2_000), energy_per_output: a(4_500), land_use_standard_met: true };
/// let achieved = StandardLandIndicators { investment_intensity: a(28_000), energy_per_output: a(5_000), ..agreed };
/// let review = compare(&agreed, &achieved);
/// assert!(!review.all_met);
/// assert_eq!(review.indicators[0].shortfall.to_string(), "20.00");
/// assert_eq!(review.indicators[3].shortfall.to_string(), "5.00");
/// ```
pub fn compare(agreed: &StandardLandIndicators, achieved: &StandardLandIndicators) -> IndicatorReview {
    let indicators: Vec<IndicatorComparison> = IndicatorKind::ALL
        .iter()
        .map(|&indicator| {
            let (agreed, achieved) = (agreed.get(indicator), achieved.get(indicator));
            let shortfall = match indicator.bound() {
                Bound::AtLeast => agreed - achieved,
                Bound::AtMost => achieved - agreed,
            };
            IndicatorComparison {
                indicator,
                unit: indicator.unit(),
                bound: indicator.bound(),
                agreed,
                achieved,
                met: shortfall.is_zero(),
                shortfall,
            }
        })
        .collect();
    let land_use_standard_missed = agreed.land_use_standard_met && !achieved.land_use_standard_met;
    let all_met = !land_use_standard_missed && indicators.iter().all(|c| c.met);
    IndicatorReview {
        indicators,
        land_use_standard_missed,
        all_met,
    }
}

/// The goals of the standard-land share, in percent of the new industrial area (plan item 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "GoalsRepr", into = "GoalsRepr")]
pub struct StandardLandGoals {
    in_zone_percent: u8,
    elsewhere_percent: u8,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GoalsRepr {
    in_zone_percent: u8,
    elsewhere_percent: u8,
}

/// A goal above 100%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a standard-land goal is a percentage from 0 to 100, got {0}")]
pub struct GoalOutOfRange(pub u8);

impl StandardLandGoals {
    /// Goals inside development zones and elsewhere, in percent.
    ///
    /// # Errors
    /// [`GoalOutOfRange`] for a goal above 100.
    pub fn new(in_zone_percent: u8, elsewhere_percent: u8) -> Result<Self, GoalOutOfRange> {
        for goal in [in_zone_percent, elsewhere_percent] {
            if goal > 100 {
                return Err(GoalOutOfRange(goal));
            }
        }
        Ok(Self {
            in_zone_percent,
            elsewhere_percent,
        })
    }

    /// The goal for land in `zone`.
    pub fn goal(&self, zone: Zone) -> u8 {
        match zone {
            Zone::DevelopmentZone => self.in_zone_percent,
            Zone::Elsewhere => self.elsewhere_percent,
        }
    }
}

impl Default for StandardLandGoals {
    /// The 2023 plan's: 100% in provincial-level development zones, at least 40% elsewhere.
    fn default() -> Self {
        Self {
            in_zone_percent: 100,
            elsewhere_percent: 40,
        }
    }
}

impl TryFrom<GoalsRepr> for StandardLandGoals {
    type Error = GoalOutOfRange;

    fn try_from(repr: GoalsRepr) -> Result<Self, Self::Error> {
        Self::new(repr.in_zone_percent, repr.elsewhere_percent)
    }
}

impl From<StandardLandGoals> for GoalsRepr {
    fn from(goals: StandardLandGoals) -> Self {
        Self {
            in_zone_percent: goals.in_zone_percent,
            elsewhere_percent: goals.elsewhere_percent,
        }
    }
}

/// Where supplied land lies for the standard-land goals.
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Zone {
    /// Inside a provincial-level development zone (the `development_zone` layer).
    DevelopmentZone,
    /// Anywhere else.
    Elsewhere,
}

/// An industrial supply as the share needs it, its areas measured by the spatial crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndustrialSupply {
    /// The supply record.
    pub supply: Uuid,
    /// Its county.
    pub county: CountyCode,
    /// The decision or contract date.
    pub decided_on: NaiveDate,
    /// Its whole area, in mu.
    pub area_mu: Amount,
    /// The part of it inside development zones, in mu.
    pub in_zone_mu: Amount,
    /// Whether it was supplied as standard land (indicators agreed at supply).
    pub standard: bool,
}

/// One zone's figures for a county or the city.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareLine {
    /// Where the land lies.
    pub zone: Zone,
    /// New industrial land supplied there, in mu.
    pub industrial_mu: Amount,
    /// Of it, supplied as standard land.
    pub standard_mu: Amount,
    /// `standard / industrial` in percent, one decimal; `None` without industrial land.
    pub percent: Option<f64>,
    /// The goal, in percent.
    pub goal_percent: u8,
    /// Whether the goal is met, on the exact areas; `None` without industrial land.
    pub goal_met: Option<bool>,
}

/// The standard-land figures of a county, or of the city.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StandardLandLine {
    /// The county; `None` for the city.
    pub county: Option<CountyCode>,
    /// Inside development zones.
    pub development_zone: ShareLine,
    /// Elsewhere.
    pub elsewhere: ShareLine,
    /// The supplies not supplied as standard land, by decision date.
    pub not_standard: Vec<Uuid>,
}

/// The standard-land report of a year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StandardLandReport {
    /// The year of the supply decisions.
    pub year: i32,
    /// The day the report describes.
    pub as_of: NaiveDate,
    /// One line per county with industrial supply, by county code.
    pub counties: Vec<StandardLandLine>,
    /// The city.
    pub total: StandardLandLine,
}

/// Why a standard-land report cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StandardLandError {
    /// A supply's part inside development zones is larger than the supply.
    #[error("supply {supply} has {in_zone_mu} mu inside development zones but only {area_mu} mu in all")]
    InZoneExceedsArea {
        /// The supply.
        supply: Uuid,
        /// Its stated part in zones.
        in_zone_mu: Amount,
        /// Its area.
        area_mu: Amount,
    },
}

#[derive(Default)]
struct Sums {
    industrial: [Amount; 2],
    standard: [Amount; 2],
    not_standard: Vec<(NaiveDate, Uuid)>,
}

impl Sums {
    fn add(&mut self, s: &IndustrialSupply) {
        let parts = [s.in_zone_mu, s.area_mu - s.in_zone_mu];
        for (i, part) in parts.into_iter().enumerate() {
            self.industrial[i] = self.industrial[i] + part;
            if s.standard {
                self.standard[i] = self.standard[i] + part;
            }
        }
        if !s.standard {
            self.not_standard.push((s.decided_on, s.supply));
        }
    }

    fn line(mut self, county: Option<CountyCode>, goals: StandardLandGoals) -> StandardLandLine {
        let share = |i: usize, zone: Zone| {
            let (industrial, standard) = (self.industrial[i], self.standard[i]);
            let goal = goals.goal(zone);
            ShareLine {
                zone,
                industrial_mu: industrial,
                standard_mu: standard,
                percent: percent_of(standard, industrial),
                goal_percent: goal,
                goal_met: (!industrial.is_zero()).then(|| reaches(standard, industrial, goal)),
            }
        };
        self.not_standard.sort();
        StandardLandLine {
            county,
            development_zone: share(0, Zone::DevelopmentZone),
            elsewhere: share(1, Zone::Elsewhere),
            not_standard: self.not_standard.into_iter().map(|(_, id)| id).collect(),
        }
    }
}

/// The share of new industrial land supplied as standard land in `year` (decisions dated in the
/// year, on or before `as_of`), per county and for the city, inside development zones and
/// elsewhere, against `goals`.
///
/// # Errors
/// [`StandardLandError::InZoneExceedsArea`] when a supply's part in zones is larger than it.
pub fn standard_land_shares(
    supplies: &[IndustrialSupply],
    year: i32,
    as_of: NaiveDate,
    goals: &StandardLandGoals,
) -> Result<StandardLandReport, StandardLandError> {
    let mut by_county: BTreeMap<CountyCode, Sums> = BTreeMap::new();
    let mut total = Sums::default();
    for s in supplies {
        if s.in_zone_mu > s.area_mu {
            return Err(StandardLandError::InZoneExceedsArea {
                supply: s.supply,
                in_zone_mu: s.in_zone_mu,
                area_mu: s.area_mu,
            });
        }
        if s.decided_on.year() != year || s.decided_on > as_of {
            continue;
        }
        by_county.entry(s.county).or_default().add(s);
        total.add(s);
    }
    Ok(StandardLandReport {
        year,
        as_of,
        counties: by_county
            .into_iter()
            .map(|(county, sums)| sums.line(Some(county), *goals))
            .collect(),
        total: total.line(None, *goals),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
pub(crate) mod tests {
    use super::*;
    use crate::supply::tests::{day, mu};

    pub(crate) fn indicators(intensity: i64, ratio: i64, tax: i64, energy: i64) -> StandardLandIndicators {
        StandardLandIndicators {
            investment_intensity: mu(intensity),
            floor_area_ratio: mu(ratio),
            tax_per_mu: mu(tax),
            energy_per_output: mu(energy),
            land_use_standard_met: true,
        }
    }

    fn industrial(n: u128, county: &str, area: i64, in_zone: i64, standard: bool) -> IndustrialSupply {
        IndustrialSupply {
            supply: Uuid::from_u128(n),
            county: CountyCode::parse(county).unwrap(),
            decided_on: day(2026, 3, u32::try_from(n).unwrap()),
            area_mu: mu(area),
            in_zone_mu: mu(in_zone),
            standard,
        }
    }

    #[test]
    fn the_module_example_gives_sixty_percent_in_zones_and_forty_elsewhere() {
        let supplies = [
            industrial(1, "610902", 3_000, 3_000, true),
            industrial(2, "610902", 2_000, 2_000, false),
            industrial(3, "610902", 1_000, 0, true),
            industrial(4, "610902", 1_500, 0, false),
        ];
        let report =
            standard_land_shares(&supplies, 2026, day(2026, 12, 31), &StandardLandGoals::default()).unwrap();
        let line = &report.counties[0];
        assert_eq!(line.development_zone.industrial_mu, mu(5_000));
        assert_eq!(line.development_zone.percent, Some(60.0));
        assert_eq!(line.development_zone.goal_met, Some(false));
        assert_eq!(line.elsewhere.percent, Some(40.0));
        assert_eq!(line.elsewhere.goal_met, Some(true), "exactly 40% meets the goal");
        assert_eq!(line.not_standard, [Uuid::from_u128(2), Uuid::from_u128(4)]);
        assert_eq!(report.total.elsewhere, line.elsewhere);
    }

    #[test]
    fn a_supply_straddling_a_zone_counts_each_part_against_its_own_goal() {
        let supplies = [
            industrial(1, "610902", 1_000, 600, true),
            industrial(2, "610921", 1_000, 0, false),
            industrial(3, "610921", 1_499, 0, true),
        ];
        let report =
            standard_land_shares(&supplies, 2026, day(2026, 12, 31), &StandardLandGoals::default()).unwrap();
        let hanbin = &report.counties[0];
        assert_eq!(hanbin.development_zone.standard_mu, mu(600));
        assert_eq!(hanbin.elsewhere.standard_mu, mu(400));
        assert_eq!(hanbin.development_zone.goal_met, Some(true));
        let hanyin = &report.counties[1];
        assert_eq!(hanyin.development_zone.percent, None);
        assert_eq!(hanyin.development_zone.goal_met, None);
        assert_eq!(hanyin.elsewhere.percent, Some(60.0));
        assert_eq!(report.total.elsewhere.industrial_mu, mu(2_899));
        assert_eq!(report.total.elsewhere.standard_mu, mu(1_899));
    }

    #[test]
    fn only_the_years_decisions_up_to_the_report_date_count() {
        let mut last_year = industrial(1, "610902", 1_000, 0, false);
        last_year.decided_on = day(2025, 12, 31);
        let later = industrial(20, "610902", 1_000, 0, false);
        let counted = industrial(2, "610902", 1_000, 0, true);
        let report = standard_land_shares(
            &[last_year, later, counted],
            2026,
            day(2026, 3, 19),
            &StandardLandGoals::default(),
        )
        .unwrap();
        assert_eq!(report.total.elsewhere.industrial_mu, mu(1_000));
        assert_eq!(report.total.elsewhere.percent, Some(100.0));
    }

    #[test]
    fn a_zone_part_larger_than_the_supply_is_refused() {
        let refused = standard_land_shares(
            &[industrial(1, "610902", 1_000, 1_001, true)],
            2026,
            day(2026, 12, 31),
            &StandardLandGoals::default(),
        );
        assert!(matches!(
            refused,
            Err(StandardLandError::InZoneExceedsArea { .. })
        ));
    }

    #[test]
    fn achieved_indicators_miss_below_an_at_least_and_above_an_at_most() {
        let agreed = indicators(30_000, 120, 2_000, 4_500);
        let exact = compare(&agreed, &agreed);
        assert!(exact.all_met, "equal values meet their bounds");
        let mut achieved = indicators(30_100, 110, 2_000, 4_501);
        achieved.land_use_standard_met = false;
        let review = compare(&agreed, &achieved);
        let misses: Vec<_> = review
            .indicators
            .iter()
            .filter(|c| !c.met)
            .map(|c| (c.indicator, c.shortfall.to_string()))
            .collect();
        assert_eq!(
            misses,
            [
                (IndicatorKind::FloorAreaRatio, "0.10".to_owned()),
                (IndicatorKind::EnergyPerOutput, "0.01".to_owned())
            ]
        );
        assert!(review.land_use_standard_missed);
        assert!(!review.all_met);
    }

    #[test]
    fn indicator_values_are_refused_in_a_wrong_unit_or_negative() {
        assert_eq!(
            IndicatorKind::InvestmentIntensity.parse_value(300.0, "万元/亩"),
            Ok(mu(30_000))
        );
        assert_eq!(IndicatorKind::FloorAreaRatio.parse_value(1.2, ""), Ok(mu(120)));
        assert_eq!(
            IndicatorKind::EnergyPerOutput.parse_value(0.5, "tce/万元"),
            Ok(mu(50_000))
        );
        let wrong = IndicatorKind::TaxPerMu.parse_value(20.0, "万元").unwrap_err();
        assert_eq!(wrong.field(), "tax_per_mu");
        assert!(matches!(wrong, IndicatorError::WrongUnit { .. }));
        assert_eq!(
            IndicatorKind::FloorAreaRatio.parse_value(-0.5, "1"),
            Err(IndicatorError::Invalid {
                indicator: IndicatorKind::FloorAreaRatio,
                reason: AmountError::Negative(-0.5)
            })
        );
        assert_eq!(
            IndicatorKind::EnergyPerOutput.parse_value(0.045, "tce/万元"),
            Ok(mu(4_500)),
            "a third decimal in tce is whole kilograms"
        );
        assert_eq!(
            IndicatorKind::EnergyPerOutput.parse_value(0.045_12, "tce/万元"),
            Ok(mu(4_512)),
            "finer than the held unit's hundredths is rounded, as a measurement"
        );
        assert_eq!(IndicatorKind::FloorAreaRatio.parse_value(1.234, "1"), Ok(mu(123)));
        assert_eq!(
            IndicatorKind::EnergyPerOutput.parse_value(-0.0001, "tce/万元"),
            Err(IndicatorError::Invalid {
                indicator: IndicatorKind::EnergyPerOutput,
                reason: AmountError::Negative(-0.0001)
            }),
            "refused with the value as given"
        );
        assert_eq!(
            IndicatorKind::EnergyPerOutput.parse_value(0.125, "kgce/万元"),
            Ok(mu(13)),
            "half up"
        );
    }

    #[test]
    fn goals_are_percentages() {
        assert_eq!(StandardLandGoals::new(100, 101), Err(GoalOutOfRange(101)));
        let parsed: StandardLandGoals =
            serde_json::from_str(r#"{"in_zone_percent": 100, "elsewhere_percent": 40}"#).unwrap();
        assert_eq!(parsed, StandardLandGoals::default());
    }
}
