//! Idle land (闲置土地), by the Ministry of Land and Resources' Order No. 53 of 2012
//! (闲置土地处置办法) as `DOMAIN.md` ("Land supply: from approval to use") states it, plan item 6.
//!
//! # The statuses
//! For supplied land at `as_of` ([`idle_status`]), with the agreed start date S:
//! - **idle** ([`IdleStatus::Idle`]) when it has not started and one full year has passed since S:
//!   from [`full_years_after`]`(S, 1)`, the day after the year's last day. An idle-land fee of
//!   20% of the price may be charged ([`IdleRules::fee_percent`]); the line notes the amount.
//! - **may be taken back** ([`IdleStatus::Reclaimable`]) when it has not started two full years
//!   after S: from `full_years_after(S, 2)`, without compensation.
//! - **due soon** ([`IdleStatus::DueSoon`]) in the 30 days before it would turn idle
//!   ([`IdleRules::due_soon_days`]): from `idle_from − 30 days` up to the day before `idle_from`.
//! - **partial-start idle** ([`IdleStatus::PartialIdle`]) when it started but less than one third
//!   of its area is developed, or less than 25% of the agreed investment is made, and development
//!   has been halted one full year: from `full_years_after(H, 1)` for a halt since H. Exactly one
//!   third, or exactly 25%, is not less: the land is not idle. Decided on the exact hundredths
//!   (`developed × 3 < area`, `invested × 4 < investment`).
//! - **government-caused** ([`IdleStatus::GovernmentCaused`]): land that would be due soon, idle,
//!   reclaimable or partial-start idle while the government handed it over later than agreed (or
//!   has not handed it over and the agreed handover day has passed). It is marked with the delay
//!   in days and excluded: no fee, no taking back, not counted as idle.
//!
//! Otherwise the land is on schedule (not started and not yet due soon), started, or completed.
//!
//! # Dates
//! Years follow the civil-code rule ([`super::period_end`]). Agreed start 2024-03-10: due soon
//! from 2025-02-09, idle from 2025-03-11, may be taken back from 2026-03-11. Agreed start
//! 2024-02-29: the year ends on 2025-02-28 (no 29 February in 2025), so due soon from 2025-01-30,
//! idle from 2025-03-01, may be taken back from 2026-03-01.
//!
//! # Alerts, once
//! The scanner stores each land's last status; [`alert_for`] says whether the status now is a
//! newly reached warning (due soon, idle, partial-start idle, reclaimable), so storing the new
//! status with the alert raises each exactly once, as the clearing alerts do.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{full_years_after, Development, Supply};
use crate::calendar::shift_days;
use crate::county::CountyCode;
use crate::ledger::Amount;

/// The configurable numbers of the idle-land rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "IdleRulesRepr", into = "IdleRulesRepr")]
pub struct IdleRules {
    due_soon_days: u32,
    fee_percent: u8,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdleRulesRepr {
    due_soon_days: u32,
    fee_percent: u8,
}

/// Why idle-land rules were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdleRulesError {
    /// A warning longer than the year it warns of.
    #[error("the due-soon warning ({0} days) must be shorter than a year")]
    DueSoonTooLong(u32),
    /// A fee above the price.
    #[error("the idle-land fee is a percentage of the price from 0 to 100, got {0}")]
    FeeOutOfRange(u8),
}

impl IdleRules {
    /// Rules with a warning `due_soon_days` before land turns idle and a fee of `fee_percent`
    /// of the price.
    ///
    /// # Errors
    /// [`IdleRulesError`] for a warning of a year or more, or a fee above 100%.
    pub fn new(due_soon_days: u32, fee_percent: u8) -> Result<Self, IdleRulesError> {
        if due_soon_days >= 365 {
            return Err(IdleRulesError::DueSoonTooLong(due_soon_days));
        }
        if fee_percent > 100 {
            return Err(IdleRulesError::FeeOutOfRange(fee_percent));
        }
        Ok(Self {
            due_soon_days,
            fee_percent,
        })
    }

    /// Days before land turns idle from which it is due soon.
    pub fn due_soon_days(&self) -> u32 {
        self.due_soon_days
    }

    /// The idle-land fee, in percent of the price.
    pub fn fee_percent(&self) -> u8 {
        self.fee_percent
    }
}

impl Default for IdleRules {
    /// Due soon 30 days before; a fee of 20% of the price (Order No. 53, article 14).
    fn default() -> Self {
        Self {
            due_soon_days: 30,
            fee_percent: 20,
        }
    }
}

impl TryFrom<IdleRulesRepr> for IdleRules {
    type Error = IdleRulesError;

    fn try_from(repr: IdleRulesRepr) -> Result<Self, Self::Error> {
        Self::new(repr.due_soon_days, repr.fee_percent)
    }
}

impl From<IdleRules> for IdleRulesRepr {
    fn from(rules: IdleRules) -> Self {
        Self {
            due_soon_days: rules.due_soon_days,
            fee_percent: rules.fee_percent,
        }
    }
}

/// Where supplied land stands on the idle-land rules.
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
pub enum IdleStatus {
    /// Not started, and not yet within the warning before the year.
    OnSchedule,
    /// Not started, and turning idle within the warning period.
    DueSoon,
    /// Not started one full year after the agreed start.
    Idle,
    /// Started, but under a third developed or under 25% invested, and halted one full year.
    PartialIdle,
    /// Not started two full years after the agreed start: may be taken back without compensation.
    Reclaimable,
    /// Would be one of the above, but the government handed the land over late: not penalised.
    GovernmentCaused,
    /// Started and not idle.
    Started,
    /// Completed.
    Completed,
}

impl IdleStatus {
    /// Every status, in declaration order.
    pub const ALL: &'static [IdleStatus] = <IdleStatus as strum::VariantArray>::VARIANTS;

    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Whether the status is one the bureau is warned of: due soon, idle, partial-start idle or
    /// reclaimable.
    pub fn warns(self) -> bool {
        matches!(
            self,
            IdleStatus::DueSoon | IdleStatus::Idle | IdleStatus::PartialIdle | IdleStatus::Reclaimable
        )
    }
}

/// Supplied land as the idle-land rules need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppliedLand {
    /// The supply record.
    pub supply: Uuid,
    /// Its county.
    pub county: CountyCode,
    /// What was agreed.
    pub terms: Supply,
    /// What happened since.
    pub development: Development,
}

/// The idle-land figures of one supplied land at a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdleLine {
    /// The supply record.
    pub supply: Uuid,
    /// Its county.
    pub county: CountyCode,
    /// The supplied area, in mu.
    pub area_mu: Amount,
    /// Where it stands.
    pub status: IdleStatus,
    /// The agreed start date.
    pub agreed_start_on: NaiveDate,
    /// The first day it is due soon, if it does not start.
    pub due_soon_from: NaiveDate,
    /// The first day it is idle, if it does not start.
    pub idle_from: NaiveDate,
    /// The first day it may be taken back, if it does not start.
    pub reclaimable_from: NaiveDate,
    /// For partial-start idle: the first day the halt has lasted one full year.
    pub partial_idle_from: Option<NaiveDate>,
    /// The idle-land fee that may be charged, in 万元, for idle and partial-start idle land
    /// with a price.
    pub fee_wan_yuan: Option<Amount>,
    /// Days the handover came (or is) later than agreed; `None` when it was on time.
    pub government_delay_days: Option<i64>,
}

/// Why the idle-land figures cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdleError {
    /// The agreed start or the halt is too late for `chrono` to count its years.
    #[error("supply {supply}: {date} is too late a date to count years from")]
    DateOutOfRange {
        /// The supply.
        supply: Uuid,
        /// The date.
        date: NaiveDate,
    },
}

/// Days the handover is later than agreed at `as_of`: the recorded handover's delay, or, with
/// none recorded, the days since the agreed handover day; `None` when on time.
fn government_delay(terms: &Supply, development: &Development, as_of: NaiveDate) -> Option<i64> {
    let handed_over_on = development.handed_over_on.filter(|d| *d <= as_of);
    let late_by = (handed_over_on.unwrap_or(as_of) - terms.agreed_handover_on).num_days();
    (late_by > 0).then_some(late_by)
}

/// Whether the developed area is under a third of the supplied area, or the investment under
/// 25% of the agreed; `false` when neither can be judged.
fn under_developed(terms: &Supply, development: &Development) -> bool {
    let area_short = development.developed_mu.is_some_and(|developed| {
        i128::from(developed.hundredths()) * 3 < i128::from(terms.area_mu.hundredths())
    });
    let investment_short = match (development.invested_wan_yuan, terms.agreed_investment_wan_yuan) {
        (Some(invested), Some(agreed)) => {
            i128::from(invested.hundredths()) * 4 < i128::from(agreed.hundredths())
        }
        _ => false,
    };
    area_short || investment_short
}

/// `percent` of `price`, rounded half up to the hundredth of a 万元.
fn fee(price: Amount, percent: u8) -> Amount {
    let hundredths = (i128::from(price.hundredths()) * i128::from(percent) * 2 + 100) / 200;
    Amount::from_hundredths(i64::try_from(hundredths).unwrap_or(i64::MAX))
}

/// Where `land` stands on the idle-land rules at `as_of` (see the module docs).
///
/// Events dated after `as_of` are not known yet and are ignored, so a report for a past date
/// shows the land as it stood then.
///
/// # Errors
/// [`IdleError::DateOutOfRange`] for an agreed start or a halt too late to count years from.
pub fn idle_status(land: &SuppliedLand, as_of: NaiveDate, rules: &IdleRules) -> Result<IdleLine, IdleError> {
    let (terms, development) = (&land.terms, &land.development);
    let out_of_range = |date| IdleError::DateOutOfRange {
        supply: land.supply,
        date,
    };
    let start = terms.agreed_start_on;
    let idle_from = full_years_after(start, 1).ok_or_else(|| out_of_range(start))?;
    let reclaimable_from = full_years_after(start, 2).ok_or_else(|| out_of_range(start))?;
    let due_soon_from = shift_days(idle_from, -i64::from(rules.due_soon_days));
    let government_delay_days = government_delay(terms, development, as_of);
    let known = |date: Option<NaiveDate>| date.filter(|d| *d <= as_of);

    let mut partial_idle_from = None;
    let status = if known(development.completed_on).is_some() {
        IdleStatus::Completed
    } else if known(development.started_on).is_some() {
        match known(development.halted_since) {
            Some(halted) if under_developed(terms, development) => {
                let from = full_years_after(halted, 1).ok_or_else(|| out_of_range(halted))?;
                partial_idle_from = Some(from);
                if as_of >= from {
                    IdleStatus::PartialIdle
                } else {
                    IdleStatus::Started
                }
            }
            _ => IdleStatus::Started,
        }
    } else if as_of >= reclaimable_from {
        IdleStatus::Reclaimable
    } else if as_of >= idle_from {
        IdleStatus::Idle
    } else if as_of >= due_soon_from {
        IdleStatus::DueSoon
    } else {
        IdleStatus::OnSchedule
    };
    let status = if status.warns() && government_delay_days.is_some() {
        IdleStatus::GovernmentCaused
    } else {
        status
    };
    let fee_wan_yuan = matches!(status, IdleStatus::Idle | IdleStatus::PartialIdle)
        .then_some(terms.price_wan_yuan)
        .flatten()
        .map(|price| fee(price, rules.fee_percent));
    Ok(IdleLine {
        supply: land.supply,
        county: land.county,
        area_mu: terms.area_mu,
        status,
        agreed_start_on: start,
        due_soon_from,
        idle_from,
        reclaimable_from,
        partial_idle_from,
        fee_wan_yuan,
        government_delay_days,
    })
}

/// The status to alert about, when `now` is a warning status the land was not in when last
/// scanned (`previous`, `None` before the first scan). A warning is raised once: scanning again
/// in the same status raises nothing.
///
/// ```
/// use landuse_domain::supply::idle::{alert_for, IdleStatus};
/// assert_eq!(alert_for(None, IdleStatus::DueSoon), Some(IdleStatus::DueSoon));
/// assert_eq!(alert_for(Some(IdleStatus::DueSoon), IdleStatus::DueSoon), None);
/// assert_eq!(alert_for(Some(IdleStatus::DueSoon), IdleStatus::Idle), Some(IdleStatus::Idle));
/// assert_eq!(alert_for(Some(IdleStatus::Idle), IdleStatus::GovernmentCaused), None);
/// ```
pub fn alert_for(previous: Option<IdleStatus>, now: IdleStatus) -> Option<IdleStatus> {
    (now.warns() && previous != Some(now)).then_some(now)
}

/// The land of one status in a county or the city.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusTotal {
    /// The status.
    pub status: IdleStatus,
    /// Pieces of land in it.
    pub count: u32,
    /// Their area, in mu.
    pub area_mu: Amount,
    /// The fees that may be charged on them, in 万元.
    pub fee_wan_yuan: Amount,
}

/// A county's totals, or the city's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdleCountyLine {
    /// The county; `None` for the city.
    pub county: Option<CountyCode>,
    /// One total per status, in [`IdleStatus::ALL`] order.
    pub statuses: Vec<StatusTotal>,
    /// Idle land the bureau answers for: idle, partial-start idle and reclaimable, in mu
    /// (government-caused delays excluded).
    pub idle_mu: Amount,
}

/// The idle-land report at a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdleReport {
    /// The day the report describes.
    pub as_of: NaiveDate,
    /// One line per land supplied by then, by county, status (in [`IdleStatus::ALL`] order) and
    /// supply.
    pub lands: Vec<IdleLine>,
    /// One line per county with land, by county code.
    pub counties: Vec<IdleCountyLine>,
    /// The city.
    pub total: IdleCountyLine,
}

fn county_line(county: Option<CountyCode>, lines: &[&IdleLine]) -> IdleCountyLine {
    let statuses: Vec<StatusTotal> = IdleStatus::ALL
        .iter()
        .map(|&status| {
            let of: Vec<_> = lines.iter().filter(|l| l.status == status).collect();
            StatusTotal {
                status,
                count: u32::try_from(of.len()).unwrap_or(u32::MAX),
                area_mu: of.iter().map(|l| l.area_mu).sum(),
                fee_wan_yuan: of.iter().filter_map(|l| l.fee_wan_yuan).sum(),
            }
        })
        .collect();
    let idle_mu = statuses
        .iter()
        .filter(|t| {
            matches!(
                t.status,
                IdleStatus::Idle | IdleStatus::PartialIdle | IdleStatus::Reclaimable
            )
        })
        .map(|t| t.area_mu)
        .sum();
    IdleCountyLine {
        county,
        statuses,
        idle_mu,
    }
}

/// The idle-land report at `as_of`: every land supplied by then with its status, and totals per
/// county and for the city.
///
/// # Errors
/// [`IdleError`] from [`idle_status`].
pub fn idle_land(
    lands: &[SuppliedLand],
    as_of: NaiveDate,
    rules: &IdleRules,
) -> Result<IdleReport, IdleError> {
    let mut lines = Vec::new();
    for land in lands.iter().filter(|l| l.terms.decided_on <= as_of) {
        lines.push(idle_status(land, as_of, rules)?);
    }
    lines.sort_by_key(|l| (l.county, l.status, l.supply));
    let mut by_county: BTreeMap<CountyCode, Vec<&IdleLine>> = BTreeMap::new();
    for line in &lines {
        by_county.entry(line.county).or_default().push(line);
    }
    let all: Vec<&IdleLine> = lines.iter().collect();
    Ok(IdleReport {
        as_of,
        counties: by_county
            .iter()
            .map(|(county, of)| county_line(Some(*county), of))
            .collect(),
        total: county_line(None, &all),
        lands: lines,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::supply::tests::{day, mu, supply};
    use chrono::Datelike;

    /// Land with an agreed start of `start`, handed over as agreed on the day before.
    fn land(start: NaiveDate) -> SuppliedLand {
        let mut terms = supply();
        terms.decided_on = shift_days(start, -30);
        terms.agreed_handover_on = shift_days(start, -1);
        terms.agreed_start_on = start;
        terms.agreed_completion_on = shift_days(start, 700);
        SuppliedLand {
            supply: Uuid::from_u128(1),
            county: CountyCode::parse("610902").unwrap(),
            development: Development {
                handed_over_on: Some(terms.agreed_handover_on),
                ..Development::default()
            },
            terms,
        }
    }

    fn status(land: &SuppliedLand, as_of: NaiveDate) -> IdleStatus {
        idle_status(land, as_of, &IdleRules::default()).unwrap().status
    }

    #[test]
    fn each_boundary_is_reached_on_its_day_and_not_the_day_before() {
        let l = land(day(2024, 3, 10));
        let cases = [
            (day(2025, 2, 8), IdleStatus::OnSchedule),
            (day(2025, 2, 9), IdleStatus::DueSoon),
            (day(2025, 3, 10), IdleStatus::DueSoon),
            (day(2025, 3, 11), IdleStatus::Idle),
            (day(2026, 3, 10), IdleStatus::Idle),
            (day(2026, 3, 11), IdleStatus::Reclaimable),
        ];
        for (as_of, expected) in cases {
            assert_eq!(status(&l, as_of), expected, "at {as_of}");
        }
    }

    #[test]
    fn an_agreed_start_on_29_february_is_idle_from_1_march() {
        let l = land(day(2024, 2, 29));
        let line = idle_status(&l, day(2025, 3, 1), &IdleRules::default()).unwrap();
        assert_eq!(line.idle_from, day(2025, 3, 1));
        assert_eq!(line.due_soon_from, day(2025, 1, 30));
        assert_eq!(line.reclaimable_from, day(2026, 3, 1));
        let cases = [
            (day(2025, 1, 29), IdleStatus::OnSchedule),
            (day(2025, 1, 30), IdleStatus::DueSoon),
            (day(2025, 2, 28), IdleStatus::DueSoon),
            (day(2025, 3, 1), IdleStatus::Idle),
            (day(2026, 2, 28), IdleStatus::Idle),
            (day(2026, 3, 1), IdleStatus::Reclaimable),
        ];
        for (as_of, expected) in cases {
            assert_eq!(status(&l, as_of), expected, "at {as_of}");
        }
    }

    #[test]
    fn idle_land_notes_a_fee_of_twenty_percent_of_the_price() {
        let mut l = land(day(2024, 3, 10));
        l.terms.price_wan_yuan = Some(mu(123_457));
        let line = idle_status(&l, day(2025, 3, 11), &IdleRules::default()).unwrap();
        assert_eq!(line.fee_wan_yuan, Some(mu(24_691)), "1234.57 × 20% = 246.914");
        let due_soon = idle_status(&l, day(2025, 3, 10), &IdleRules::default()).unwrap();
        assert_eq!(due_soon.fee_wan_yuan, None);
        l.terms.price_wan_yuan = None;
        let allocated = idle_status(&l, day(2025, 3, 11), &IdleRules::default()).unwrap();
        assert_eq!(allocated.status, IdleStatus::Idle);
        assert_eq!(allocated.fee_wan_yuan, None, "no price, no fee to note");
    }

    #[test]
    fn a_late_handover_marks_the_delay_government_caused_and_excludes_it() {
        let mut l = land(day(2024, 3, 10));
        l.development.handed_over_on = Some(day(2024, 5, 9));
        let line = idle_status(&l, day(2026, 6, 1), &IdleRules::default()).unwrap();
        assert_eq!(line.status, IdleStatus::GovernmentCaused);
        assert_eq!(line.government_delay_days, Some(61));
        assert_eq!(line.fee_wan_yuan, None);
        assert_eq!(
            status(&l, day(2025, 1, 1)),
            IdleStatus::OnSchedule,
            "marked only once it would be penalised"
        );
        let report = idle_land(&[l.clone()], day(2026, 6, 1), &IdleRules::default()).unwrap();
        assert_eq!(report.total.idle_mu, Amount::ZERO);

        let mut never = land(day(2024, 3, 10));
        never.development.handed_over_on = None;
        let line = idle_status(&never, day(2025, 3, 11), &IdleRules::default()).unwrap();
        assert_eq!(line.status, IdleStatus::GovernmentCaused);
        assert_eq!(line.government_delay_days, Some(367), "2024-03-09 to 2025-03-11");

        let on_time = land(day(2024, 3, 10));
        assert_eq!(status(&on_time, day(2026, 6, 1)), IdleStatus::Reclaimable);
    }

    fn partial(developed: i64, invested: i64) -> SuppliedLand {
        // 30 mu, 9000 万元 agreed; started 2024-04-01, halted since 2024-06-15.
        let mut l = land(day(2024, 3, 10));
        l.development.started_on = Some(day(2024, 4, 1));
        l.development.halted_since = Some(day(2024, 6, 15));
        l.development.developed_mu = Some(mu(developed));
        l.development.invested_wan_yuan = Some(mu(invested));
        l
    }

    #[test]
    fn a_third_developed_and_a_quarter_invested_are_not_less_than_the_thresholds() {
        let after_a_year = day(2025, 6, 16);
        assert_eq!(
            status(&partial(1_000, 225_000), after_a_year),
            IdleStatus::Started
        );
        assert_eq!(
            status(&partial(999, 225_000), after_a_year),
            IdleStatus::PartialIdle,
            "9.99 of 30 mu is under a third"
        );
        assert_eq!(
            status(&partial(1_000, 224_999), after_a_year),
            IdleStatus::PartialIdle,
            "2249.99 of 9000 万元 is under 25%"
        );
        assert_eq!(
            status(&partial(3_000, 900_000), after_a_year),
            IdleStatus::Started
        );
    }

    #[test]
    fn partial_start_idle_needs_a_full_year_of_halt() {
        let l = partial(500, 900_000);
        let line = idle_status(&l, day(2025, 6, 15), &IdleRules::default()).unwrap();
        assert_eq!(line.status, IdleStatus::Started);
        assert_eq!(line.partial_idle_from, Some(day(2025, 6, 16)));
        let line = idle_status(&l, day(2025, 6, 16), &IdleRules::default()).unwrap();
        assert_eq!(line.status, IdleStatus::PartialIdle);
        assert_eq!(line.fee_wan_yuan, Some(mu(240_000)));
        let mut resumed = l;
        resumed.development.halted_since = None;
        assert_eq!(status(&resumed, day(2027, 1, 1)), IdleStatus::Started);
    }

    #[test]
    fn events_after_the_report_date_are_not_known_yet() {
        let mut l = land(day(2024, 3, 10));
        l.development.started_on = Some(day(2025, 4, 1));
        assert_eq!(status(&l, day(2025, 3, 31)), IdleStatus::Idle);
        assert_eq!(status(&l, day(2025, 4, 1)), IdleStatus::Started);
        l.development.completed_on = Some(day(2026, 1, 1));
        assert_eq!(status(&l, day(2026, 1, 1)), IdleStatus::Completed);
    }

    #[test]
    fn the_report_totals_idle_land_per_county_and_leaves_out_later_supplies() {
        let mut idle = land(day(2024, 3, 10));
        idle.terms.area_mu = mu(1_250);
        let mut reclaimable = land(day(2023, 1, 10));
        reclaimable.supply = Uuid::from_u128(2);
        let mut later = land(day(2026, 1, 10));
        later.supply = Uuid::from_u128(3);
        let report = idle_land(
            &[idle, reclaimable, later],
            day(2025, 6, 1),
            &IdleRules::default(),
        )
        .unwrap();
        assert_eq!(report.lands.len(), 2);
        assert_eq!(report.lands[0].status, IdleStatus::Idle);
        assert_eq!(report.lands[1].status, IdleStatus::Reclaimable);
        let county = &report.counties[0];
        assert_eq!(county.idle_mu, mu(4_250));
        let idle_total = county
            .statuses
            .iter()
            .find(|t| t.status == IdleStatus::Idle)
            .unwrap();
        assert_eq!((idle_total.count, idle_total.fee_wan_yuan), (1, mu(240_000)));
        assert_eq!(report.total.idle_mu, county.idle_mu);
    }

    /// The civil-code year end computed another way than `period_end`: the same month and day,
    /// or 28 February for a 29 February the later year lacks.
    fn year_end_by_hand(start: NaiveDate, years: i32) -> NaiveDate {
        let year = start.year() + years;
        NaiveDate::from_ymd_opt(year, start.month(), start.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
            .unwrap()
    }

    proptest::proptest! {
        #[test]
        fn land_not_started_moves_through_the_statuses_on_the_civil_code_days(
            start_offset in 0_u64..(90 * 366),
            as_of_offset in -400_i64..1_200,
        ) {
            let start = day(2000, 1, 1) + chrono::Days::new(start_offset);
            let as_of = shift_days(start, as_of_offset);
            let idle_from = year_end_by_hand(start, 1).succ_opt().unwrap();
            let reclaimable_from = year_end_by_hand(start, 2).succ_opt().unwrap();
            let expected = if as_of >= reclaimable_from {
                IdleStatus::Reclaimable
            } else if as_of >= idle_from {
                IdleStatus::Idle
            } else if as_of >= shift_days(idle_from, -30) {
                IdleStatus::DueSoon
            } else {
                IdleStatus::OnSchedule
            };
            proptest::prop_assert_eq!(status(&land(start), as_of), expected);
        }
    }

    #[test]
    fn rules_are_checked() {
        assert_eq!(IdleRules::new(365, 20), Err(IdleRulesError::DueSoonTooLong(365)));
        assert_eq!(IdleRules::new(30, 101), Err(IdleRulesError::FeeOutOfRange(101)));
        let parsed: IdleRules = serde_json::from_str(r#"{"due_soon_days": 30, "fee_percent": 20}"#).unwrap();
        assert_eq!(parsed, IdleRules::default());
    }

    #[test]
    fn warnings_alert_once_per_status_reached() {
        assert_eq!(alert_for(None, IdleStatus::OnSchedule), None);
        assert_eq!(
            alert_for(Some(IdleStatus::Idle), IdleStatus::Reclaimable),
            Some(IdleStatus::Reclaimable)
        );
        assert_eq!(
            alert_for(Some(IdleStatus::Started), IdleStatus::PartialIdle),
            Some(IdleStatus::PartialIdle)
        );
    }
}
