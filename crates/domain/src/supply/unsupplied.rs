//! Approved but not supplied (批而未供) and the supply rate (供地率), plan item 6 and `DOMAIN.md`
//! ("Land supply: from approval to use").
//!
//! # Nothing counts twice
//! An approval may be supplied in several parts, and records imported from an older system may
//! overlap one another or reach outside the approval. The figures therefore never add supplied
//! areas: the spatial crate measures, for each approval batch, the union of its supplied parts
//! clipped to the approved parcels (`landuse_spatial::supply::coverage`), on the ellipsoid, and
//! hands this module that one area ([`ApprovedLand::supplied_within_approved_m2`]). Here each area
//! is rounded half up to a hundredth of a mu once, and every total is the exact sum of its lines.
//!
//! Example (the issue's fixture): 100 mu approved; supplies of 30 and 25 mu that overlap by 5 mu,
//! and one of 10 mu outside the approval. The union within the approval is 30 + 25 − 5 = 50 mu,
//! so 50 mu is unsupplied and the supply rate is 50.0% (not 55%, which counts the overlap twice,
//! nor 65%, which also counts the land outside).
//!
//! # Age
//! A batch's age is counted in whole years from its approval date by the civil-code rule of
//! [`super::period_end`]: the n-th year after an approval on D ends on D's corresponding day n
//! years later, and the batch is in the next bucket from the day after ([`AgeBucket::of`]).
//! Approved 2025-03-10, the batch is under one year old up to and including 2026-03-10, one to
//! two years from 2026-03-11, two to five from 2027-03-11, and over five from 2030-03-11.
//!
//! # Supply rate
//! 供地率 = supplied ÷ approved, in percent with one decimal, from the exact hundredths: per
//! county over every batch approved by `as_of`, and over the last five years, which are the
//! batches not yet over five years old (the first three buckets).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{full_years_after, mu_of, percent_of};
use crate::county::CountyCode;
use crate::ledger::Amount;
use crate::units::SquareMetres;

/// How long approved land has waited, at the report's date.
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
pub enum AgeBucket {
    /// Less than one full year since approval.
    UnderOneYear,
    /// At least one full year, less than two.
    OneToTwoYears,
    /// At least two full years, less than five.
    TwoToFiveYears,
    /// Five full years or more.
    OverFiveYears,
}

impl AgeBucket {
    /// Every bucket, youngest first.
    pub const ALL: &'static [AgeBucket] = <AgeBucket as strum::VariantArray>::VARIANTS;

    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// The bucket of land approved on `approved_on`, at `as_of`; `None` when it was approved
    /// after `as_of` (or so late that `chrono` cannot count its years).
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use landuse_domain::supply::unsupplied::AgeBucket;
    /// let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    /// assert_eq!(AgeBucket::of(d(2025, 3, 10), d(2026, 3, 10)), Some(AgeBucket::UnderOneYear));
    /// assert_eq!(AgeBucket::of(d(2025, 3, 10), d(2026, 3, 11)), Some(AgeBucket::OneToTwoYears));
    /// ```
    pub fn of(approved_on: NaiveDate, as_of: NaiveDate) -> Option<Self> {
        if as_of < approved_on {
            return None;
        }
        let past = |years| full_years_after(approved_on, years).is_some_and(|from| as_of >= from);
        Some(if past(5) {
            AgeBucket::OverFiveYears
        } else if past(2) {
            AgeBucket::TwoToFiveYears
        } else if past(1) {
            AgeBucket::OneToTwoYears
        } else {
            AgeBucket::UnderOneYear
        })
    }

    /// Whether land of this age was approved within the last five years.
    pub fn within_five_years(self) -> bool {
        self != AgeBucket::OverFiveYears
    }
}

/// One approval batch (an approved conversion) with its areas as the spatial crate measured them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovedLand {
    /// The approval (the case whose conversion was approved).
    pub batch: Uuid,
    /// The approval document's number (批次 / 批复文号).
    pub document_number: String,
    /// Its county.
    pub county: CountyCode,
    /// The approval date.
    pub approved_on: NaiveDate,
    /// The approved parcels' area.
    pub approved_m2: SquareMetres,
    /// The union of the parts supplied by the report's date, clipped to the approved parcels.
    pub supplied_within_approved_m2: SquareMetres,
}

/// Why the land-supply figures cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LandSupplyError {
    /// The supplied area is larger than the approved: it was not clipped to the approval.
    #[error("batch {batch}: {supplied} supplied within {approved} approved; the supplied area must be clipped to the approval")]
    SuppliedExceedsApproved {
        /// The batch.
        batch: Uuid,
        /// Its approved area.
        approved: SquareMetres,
        /// Its supplied area as given.
        supplied: SquareMetres,
    },
    /// An area too large for the ledger's amounts.
    #[error("batch {batch}: {area} is larger than a report can state")]
    AreaTooLarge {
        /// The batch.
        batch: Uuid,
        /// The area.
        area: SquareMetres,
    },
}

/// Float noise allowed between a clipped union and the area it was clipped to, in m².
const CLIP_TOLERANCE_M2: f64 = 0.01;

/// One batch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchLine {
    /// The batch.
    pub batch: Uuid,
    /// The approval document's number.
    pub document_number: String,
    /// Its county.
    pub county: CountyCode,
    /// The approval date.
    pub approved_on: NaiveDate,
    /// Its age at the report's date.
    pub age: AgeBucket,
    /// Approved, in mu.
    pub approved_mu: Amount,
    /// Supplied within the approval, in mu.
    pub supplied_mu: Amount,
    /// Approved and not supplied (批而未供), in mu.
    pub unsupplied_mu: Amount,
    /// The batch's supply rate in percent, one decimal; `None` for an empty approval.
    pub supply_percent: Option<f64>,
}

/// Supplied against approved for a set of batches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupplyRate {
    /// Approved, in mu.
    pub approved_mu: Amount,
    /// Supplied within the approvals, in mu.
    pub supplied_mu: Amount,
    /// Approved and not supplied, in mu.
    pub unsupplied_mu: Amount,
    /// 供地率 in percent, one decimal; `None` without approved land.
    pub percent: Option<f64>,
}

impl SupplyRate {
    fn of(approved_mu: Amount, supplied_mu: Amount) -> Self {
        Self {
            approved_mu,
            supplied_mu,
            unsupplied_mu: approved_mu - supplied_mu,
            percent: percent_of(supplied_mu, approved_mu),
        }
    }
}

/// The unsupplied land of one age.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgeLine {
    /// The age.
    pub age: AgeBucket,
    /// Batches of this age with land still unsupplied.
    pub batches: u32,
    /// Their unsupplied land, in mu.
    pub unsupplied_mu: Amount,
}

/// A county's figures, or the city's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountySupplyLine {
    /// The county; `None` for the city.
    pub county: Option<CountyCode>,
    /// Every batch approved by the report's date.
    pub all_batches: SupplyRate,
    /// The batches approved within the last five years.
    pub last_five_years: SupplyRate,
    /// Unsupplied land by age, one line per bucket, youngest first.
    pub by_age: Vec<AgeLine>,
}

/// The land-supply report at a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LandSupplyReport {
    /// The day the report describes.
    pub as_of: NaiveDate,
    /// Every batch approved by then, by county, approval date and document number.
    pub batches: Vec<BatchLine>,
    /// One line per county with batches, by county code.
    pub counties: Vec<CountySupplyLine>,
    /// The city.
    pub total: CountySupplyLine,
}

/// A batch's area in mu, rounded half up to the hundredth.
fn batch_mu(batch: Uuid, area: SquareMetres) -> Result<Amount, LandSupplyError> {
    mu_of(area).map_err(|_| LandSupplyError::AreaTooLarge { batch, area })
}

#[derive(Default)]
struct Sums {
    all: [Amount; 2],
    five: [Amount; 2],
    by_age: [(u32, Amount); 4],
}

impl Sums {
    fn add(&mut self, line: &BatchLine) {
        self.all = [self.all[0] + line.approved_mu, self.all[1] + line.supplied_mu];
        if line.age.within_five_years() {
            self.five = [self.five[0] + line.approved_mu, self.five[1] + line.supplied_mu];
        }
        if !line.unsupplied_mu.is_zero() {
            let slot = &mut self.by_age[line.age as usize];
            *slot = (slot.0 + 1, slot.1 + line.unsupplied_mu);
        }
    }

    fn line(&self, county: Option<CountyCode>) -> CountySupplyLine {
        CountySupplyLine {
            county,
            all_batches: SupplyRate::of(self.all[0], self.all[1]),
            last_five_years: SupplyRate::of(self.five[0], self.five[1]),
            by_age: AgeBucket::ALL
                .iter()
                .map(|&age| {
                    let (batches, unsupplied_mu) = self.by_age[age as usize];
                    AgeLine {
                        age,
                        batches,
                        unsupplied_mu,
                    }
                })
                .collect(),
        }
    }
}

/// 批而未供 and 供地率 at `as_of`: one line per batch approved by then, per county and for the
/// city, with the unsupplied land by age and the supply rate over all batches and the last five
/// years. Batches approved after `as_of` are left out.
///
/// # Errors
/// [`LandSupplyError::SuppliedExceedsApproved`] when a batch's supplied area exceeds its approved
/// area by more than float noise (it was not clipped), [`LandSupplyError::AreaTooLarge`] for an
/// area no report can state.
pub fn land_supply(
    approvals: &[ApprovedLand],
    as_of: NaiveDate,
) -> Result<LandSupplyReport, LandSupplyError> {
    let mut batches = Vec::new();
    for a in approvals {
        if a.supplied_within_approved_m2.value() > a.approved_m2.value() + CLIP_TOLERANCE_M2 {
            return Err(LandSupplyError::SuppliedExceedsApproved {
                batch: a.batch,
                approved: a.approved_m2,
                supplied: a.supplied_within_approved_m2,
            });
        }
        let Some(age) = AgeBucket::of(a.approved_on, as_of) else {
            continue;
        };
        let approved_mu = batch_mu(a.batch, a.approved_m2)?;
        // Within the tolerance, the supplied area is the approved one: the clip's float noise
        // must not make a fully supplied batch 100.01% supplied.
        let supplied_mu = batch_mu(a.batch, a.supplied_within_approved_m2)?.min(approved_mu);
        let rate = SupplyRate::of(approved_mu, supplied_mu);
        batches.push(BatchLine {
            batch: a.batch,
            document_number: a.document_number.clone(),
            county: a.county,
            approved_on: a.approved_on,
            age,
            approved_mu,
            supplied_mu,
            unsupplied_mu: rate.unsupplied_mu,
            supply_percent: rate.percent,
        });
    }
    batches.sort_by(|x, y| {
        (x.county, x.approved_on, &x.document_number, x.batch).cmp(&(
            y.county,
            y.approved_on,
            &y.document_number,
            y.batch,
        ))
    });
    let mut by_county: BTreeMap<CountyCode, Sums> = BTreeMap::new();
    let mut total = Sums::default();
    for line in &batches {
        by_county.entry(line.county).or_default().add(line);
        total.add(line);
    }
    Ok(LandSupplyReport {
        as_of,
        counties: by_county
            .iter()
            .map(|(county, sums)| sums.line(Some(*county)))
            .collect(),
        total: total.line(None),
        batches,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;
    use crate::supply::tests::{day, mu};
    use crate::units::SQUARE_METRES_PER_MU;

    fn m2_of_mu(mu: f64) -> SquareMetres {
        SquareMetres::new(mu * SQUARE_METRES_PER_MU).unwrap()
    }

    fn batch(n: u128, county: &str, approved_on: NaiveDate, approved: f64, supplied: f64) -> ApprovedLand {
        ApprovedLand {
            batch: Uuid::from_u128(n),
            document_number: format!("陕政土批〔{}〕{n}号", 2020 + n),
            county: CountyCode::parse(county).unwrap(),
            approved_on,
            approved_m2: m2_of_mu(approved),
            supplied_within_approved_m2: m2_of_mu(supplied),
        }
    }

    #[test]
    fn the_issues_fixture_gives_exactly_fifty_percent() {
        // 30 + 25 − 5 overlap = 50 mu within the approval; the 10 mu outside never reach here.
        let report = land_supply(
            &[batch(1, "610902", day(2025, 6, 1), 100.0, 30.0 + 25.0 - 5.0)],
            day(2026, 6, 1),
        )
        .unwrap();
        let line = &report.batches[0];
        assert_eq!(line.approved_mu, mu(10_000));
        assert_eq!(line.supplied_mu, mu(5_000));
        assert_eq!(line.unsupplied_mu, mu(5_000));
        assert_eq!(line.supply_percent, Some(50.0));
        assert_eq!(report.total.all_batches.percent, Some(50.0));
    }

    #[test]
    fn each_boundary_day_falls_in_the_bucket_the_module_names() {
        let approved = day(2025, 3, 10);
        let cases = [
            (day(2025, 3, 9), None),
            (day(2025, 3, 10), Some(AgeBucket::UnderOneYear)),
            (day(2026, 3, 10), Some(AgeBucket::UnderOneYear)),
            (day(2026, 3, 11), Some(AgeBucket::OneToTwoYears)),
            (day(2027, 3, 10), Some(AgeBucket::OneToTwoYears)),
            (day(2027, 3, 11), Some(AgeBucket::TwoToFiveYears)),
            (day(2030, 3, 10), Some(AgeBucket::TwoToFiveYears)),
            (day(2030, 3, 11), Some(AgeBucket::OverFiveYears)),
        ];
        for (as_of, expected) in cases {
            assert_eq!(AgeBucket::of(approved, as_of), expected, "at {as_of}");
        }
        let leap = day(2024, 2, 29);
        assert_eq!(
            AgeBucket::of(leap, day(2025, 2, 28)),
            Some(AgeBucket::UnderOneYear)
        );
        assert_eq!(
            AgeBucket::of(leap, day(2025, 3, 1)),
            Some(AgeBucket::OneToTwoYears)
        );
        assert_eq!(
            AgeBucket::of(leap, day(2029, 2, 28)),
            Some(AgeBucket::TwoToFiveYears)
        );
        assert_eq!(
            AgeBucket::of(leap, day(2029, 3, 1)),
            Some(AgeBucket::OverFiveYears)
        );
    }

    #[test]
    fn counties_sum_their_batches_by_age_and_over_five_years() {
        let as_of = day(2026, 6, 30);
        let approvals = [
            batch(1, "610902", day(2026, 1, 5), 40.0, 10.0),
            batch(2, "610902", day(2024, 1, 5), 20.0, 20.0),
            batch(3, "610902", day(2019, 1, 5), 60.0, 15.5),
            batch(4, "610921", day(2023, 6, 30), 12.34, 0.0),
            batch(5, "610921", day(2026, 7, 1), 99.0, 0.0),
        ];
        let report = land_supply(&approvals, as_of).unwrap();
        assert_eq!(report.batches.len(), 4, "approved after as_of is left out");
        let hanbin = &report.counties[0];
        assert_eq!(hanbin.all_batches.approved_mu, mu(12_000));
        assert_eq!(hanbin.all_batches.supplied_mu, mu(4_550));
        assert_eq!(hanbin.all_batches.unsupplied_mu, mu(7_450));
        assert_eq!(hanbin.all_batches.percent, Some(37.9));
        assert_eq!(hanbin.last_five_years.approved_mu, mu(6_000));
        assert_eq!(hanbin.last_five_years.percent, Some(50.0));
        let ages: Vec<_> = hanbin
            .by_age
            .iter()
            .map(|a| (a.age, a.batches, a.unsupplied_mu))
            .collect();
        assert_eq!(
            ages,
            [
                (AgeBucket::UnderOneYear, 1, mu(3_000)),
                (AgeBucket::OneToTwoYears, 0, Amount::ZERO),
                (AgeBucket::TwoToFiveYears, 0, Amount::ZERO),
                (AgeBucket::OverFiveYears, 1, mu(4_450)),
            ],
            "the fully supplied 2024 batch has nothing unsupplied"
        );
        let hanyin = &report.counties[1];
        assert_eq!(hanyin.by_age[2].unsupplied_mu, mu(1_234));
        assert_eq!(hanyin.all_batches.percent, Some(0.0));
        assert_eq!(report.total.all_batches.approved_mu, mu(13_234));
        assert_eq!(report.total.all_batches.unsupplied_mu, mu(8_684));
    }

    #[test]
    fn supplied_area_beyond_the_approval_is_refused_but_clip_noise_is_not() {
        let mut unclipped = batch(1, "610902", day(2025, 1, 1), 10.0, 10.0);
        unclipped.supplied_within_approved_m2 =
            SquareMetres::new(unclipped.approved_m2.value() + 1.0).unwrap();
        assert!(matches!(
            land_supply(&[unclipped.clone()], day(2026, 1, 1)),
            Err(LandSupplyError::SuppliedExceedsApproved { .. })
        ));
        unclipped.supplied_within_approved_m2 =
            SquareMetres::new(unclipped.approved_m2.value() + 0.004).unwrap();
        let report = land_supply(&[unclipped], day(2026, 1, 1)).unwrap();
        assert_eq!(report.batches[0].supply_percent, Some(100.0));
        assert_eq!(report.batches[0].unsupplied_mu, Amount::ZERO);
    }

    #[test]
    fn no_batches_give_no_rates() {
        let report = land_supply(&[], day(2026, 1, 1)).unwrap();
        assert!(report.counties.is_empty());
        assert_eq!(report.total.all_batches.percent, None);
        assert_eq!(report.total.by_age.len(), 4);
    }
}
