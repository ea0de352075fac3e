//! After approval: land supply (供地), handover (交地), certificate (不动产权证), start and
//! completion, and the figures the bureau's plan judges them by (`DOMAIN.md`, "Land supply: from
//! approval to use", plan items 6, 15 and 16).
//!
//! This module holds the records and their validation; the figures are in the submodules. Every
//! function takes the day it describes (`as_of`) as an argument, and every area it adds up has
//! been measured by the spatial crate first (ellipsoidal, as unions, so that nothing counts
//! twice); here areas are exact [`Amount`]s of mu with two decimals, so that totals are the sums
//! of the lines they total.
//!
//! | module | what it decides |
//! |---|---|
//! | [`part`] | whether a new supplied part lies within the approval and clear of earlier parts |
//! | [`unsupplied`] | 批而未供 by county, approval batch and age; 供地率 per county and over five years |
//! | [`idle`] | 闲置土地: due soon, idle, may be taken back, partial-start idle, government-caused delays |
//! | [`standard`] | 标准地: share of new industrial supply by area against the goals; agreed against achieved indicators |
//! | [`certificate`] | 交地即交证: days from handover to certificate per key project |
//!
//! # Periods of years
//! Idle land and the age of approved land count whole years by the civil-code rule (民法典 第二百零一、
//! 二百零二条): a period of years starts the day after its first day and ends on the corresponding
//! day of the last year, or on that month's last day when it has none ([`period_end`]). So the
//! year after an agreed start of 2024-03-10 ends on 2025-03-10, and the land is one full year past
//! it from 2025-03-11 ([`full_years_after`]); the year after 2024-02-29 ends on 2025-02-28 (2025
//! has no 29 February), and the land is one full year past it from 2025-03-01.
//!
//! # Validation
//! [`validate`] checks a record before it is stored: dates in their order (decision, handover,
//! start, completion; the decision not before the approval, [`supplied_after_approval`]), nothing recorded that needs an earlier step missing (a certificate or a
//! start without a handover), nothing dated after the day it is recorded, and each indicator in
//! its unit and not negative ([`IndicatorKind::parse_value`]). Each refusal names the field, so
//! the API answers 422 with it.

pub mod certificate;
pub mod idle;
pub mod part;
pub mod standard;
pub mod unsupplied;

use std::fmt;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::ledger::{Amount, AmountError};
use crate::units::{SquareMetres, SQUARE_METRES_PER_MU};

pub use standard::{IndicatorError, IndicatorKind, StandardLandIndicators};

/// How approved land is supplied (供地方式).
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SupplyPartMethod))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SupplyMethod {
    /// 划拨: allocation, without a price or for a compensation only.
    Allocation,
    /// 招标出让: transfer by tender.
    TransferTender,
    /// 拍卖出让: transfer by auction.
    TransferAuction,
    /// 挂牌出让: transfer by listing.
    TransferListing,
    /// 协议出让: transfer by agreement.
    TransferAgreement,
    /// 租赁: lease.
    Lease,
    /// 作价出资（入股）: the land's value contributed as capital.
    CapitalContribution,
}

impl SupplyMethod {
    /// Every method, in declaration order.
    pub const ALL: &'static [SupplyMethod] = <SupplyMethod as strum::VariantArray>::VARIANTS;

    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Parses a method code, the one way the service reads a stored or submitted method.
    ///
    /// # Errors
    /// [`UnknownSupplyMethod`] when `code` is not exactly one of the codes.
    pub fn parse(code: &str) -> Result<Self, UnknownSupplyMethod> {
        crate::code::parse(code).ok_or_else(|| UnknownSupplyMethod {
            given: code.to_owned(),
            allowed: crate::code::codes::<Self>().join(", "),
        })
    }
}

impl fmt::Display for SupplyMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A text that is not a supply method's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("supply method {given:?} is not one of {allowed}")]
pub struct UnknownSupplyMethod {
    /// The text given.
    pub given: String,
    /// The allowed codes, comma-separated.
    pub allowed: String,
}

/// What is agreed when approved land is supplied: one part of an approval (an approval may be
/// supplied in several parts, each its own record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supply {
    /// 供地方式.
    pub method: SupplyMethod,
    /// The allocation decision's or the contract's number (划拨决定书 / 出让合同 编号).
    pub document_number: String,
    /// The date of the decision or contract: the day the land counts as supplied.
    pub decided_on: NaiveDate,
    /// The price in 万元 (ten thousand yuan); `None` for an allocation without one.
    pub price_wan_yuan: Option<Amount>,
    /// The supplied area in mu, as the spatial crate measured the supplied geometry.
    pub area_mu: Amount,
    /// Whether the land is supplied for industry (工业用地), the land the standard-land rules cover.
    pub industrial: bool,
    /// The agreed handover date (约定交地日期).
    pub agreed_handover_on: NaiveDate,
    /// The agreed start date (约定动工日期), from which the idle-land periods run.
    pub agreed_start_on: NaiveDate,
    /// The agreed completion date (约定竣工日期).
    pub agreed_completion_on: NaiveDate,
    /// The agreed total investment in 万元 (总投资额), against which a partial start is judged.
    pub agreed_investment_wan_yuan: Option<Amount>,
    /// The standard-land indicators agreed at supply; land supplied with them is standard land.
    pub agreed_indicators: Option<StandardLandIndicators>,
}

impl Supply {
    /// Whether the land was supplied as standard land (标准地): with its indicators agreed at
    /// supply (plan item 15: the control indicators written into the supply plan).
    pub fn standard_land(&self) -> bool {
        self.agreed_indicators.is_some()
    }
}

/// A measured area in mu as the supply figures state it: rounded half up to the hundredth, once,
/// so that every total is the exact sum of its lines.
///
/// # Errors
/// [`AmountError::TooLarge`] for an area no report can state.
///
/// ```
/// use landuse_domain::supply::mu_of;
/// use landuse_domain::units::SquareMetres;
/// assert_eq!(mu_of(SquareMetres::new(66_666.67)?)?.to_string(), "100.00");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn mu_of(area: SquareMetres) -> Result<Amount, AmountError> {
    Amount::round(area.value() / SQUARE_METRES_PER_MU)
}

/// The real-estate title certificate (不动产权证书) issued for supplied land.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The certificate's number.
    pub number: String,
    /// The day it was issued.
    pub issued_on: NaiveDate,
}

/// What happened to supplied land afterwards, as recorded by the day a figure is made on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Development {
    /// The day the land was handed over (交地).
    pub handed_over_on: Option<NaiveDate>,
    /// The certificate, once issued.
    pub certificate: Option<Certificate>,
    /// The day development started (动工开发).
    pub started_on: Option<NaiveDate>,
    /// The area under development so far, in mu (已动工开发建设用地面积).
    pub developed_mu: Option<Amount>,
    /// The investment made so far, in 万元 (已投资额).
    pub invested_wan_yuan: Option<Amount>,
    /// The day development stopped, while it stays stopped (中止开发建设).
    pub halted_since: Option<NaiveDate>,
    /// The day the works were completed (竣工).
    pub completed_on: Option<NaiveDate>,
    /// The indicators achieved, as measured at acceptance (验收).
    pub achieved_indicators: Option<StandardLandIndicators>,
}

/// Why a supply record cannot be stored. Each refusal names the field ([`Self::field`]), in the
/// names of the record's JSON form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SupplyRecordError {
    /// A text that must be given is blank.
    #[error("{field} is required and cannot be blank")]
    Blank {
        /// The field.
        field: &'static str,
    },
    /// The supplied area is zero.
    #[error("area_mu must be more than 0")]
    ZeroArea,
    /// A date is before a date it must follow.
    #[error("{field} ({date}) is before {earlier_field} ({earlier})")]
    OutOfOrder {
        /// The field.
        field: &'static str,
        /// Its date.
        date: NaiveDate,
        /// The field it must not precede.
        earlier_field: &'static str,
        /// That field's date.
        earlier: NaiveDate,
    },
    /// Something is recorded that needs an earlier step which is not (a certificate without a
    /// handover, for example).
    #[error("{field} is recorded but {requires} is not")]
    RecordedWithout {
        /// The field.
        field: &'static str,
        /// The field it needs.
        requires: &'static str,
    },
    /// An event dated after the day it is recorded on.
    #[error("{field} ({date}) is after the day of the record ({as_of})")]
    InFuture {
        /// The field.
        field: &'static str,
        /// Its date.
        date: NaiveDate,
        /// The day of the record.
        as_of: NaiveDate,
    },
    /// A figure larger than the one it is a part of (more developed area than supplied).
    #[error("{field} ({value}) is more than {limit_field} ({limit})")]
    Exceeds {
        /// The field.
        field: &'static str,
        /// Its value.
        value: Amount,
        /// The field it is part of.
        limit_field: &'static str,
        /// That field's value.
        limit: Amount,
    },
}

impl SupplyRecordError {
    /// The field the refusal is about, for the API's 422.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Blank { field }
            | Self::OutOfOrder { field, .. }
            | Self::RecordedWithout { field, .. }
            | Self::InFuture { field, .. }
            | Self::Exceeds { field, .. } => field,
            Self::ZeroArea => "area_mu",
        }
    }
}

/// `date` must not be before `earlier`.
fn in_order(
    field: &'static str,
    date: NaiveDate,
    earlier_field: &'static str,
    earlier: NaiveDate,
) -> Result<(), SupplyRecordError> {
    if date < earlier {
        Err(SupplyRecordError::OutOfOrder {
            field,
            date,
            earlier_field,
            earlier,
        })
    } else {
        Ok(())
    }
}

/// `date` must not be after the day of the record.
fn not_after(field: &'static str, date: NaiveDate, as_of: NaiveDate) -> Result<(), SupplyRecordError> {
    if date > as_of {
        Err(SupplyRecordError::InFuture { field, date, as_of })
    } else {
        Ok(())
    }
}

/// Checks a supply record and what followed it, as recorded on `as_of` (the bureau's date).
///
/// In this order, the first failure refused:
/// - the document number (and a certificate's number) not blank, the area more than zero;
/// - agreed dates in order: decision ≤ handover ≤ start ≤ completion;
/// - a certificate, a start, a halt, a completion or achieved indicators only after the step
///   they need (handover, handover, start, start, completion), and each dated on or after it
///   (a certificate may carry an earlier date than the handover: 交地即交证 reports that lag as
///   negative rather than refusing it); the handover on or after the decision;
/// - no event dated after `as_of`, the developed area not more than the supplied area.
///
/// Indicator values are checked when they are parsed ([`IndicatorKind::parse_value`]), so a
/// [`StandardLandIndicators`] is never negative or in another unit.
///
/// # Errors
/// [`SupplyRecordError`], naming the field.
///
/// ```
/// use chrono::NaiveDate;
/// use landuse_domain::ledger::Amount;
/// use landuse_domain::supply::{validate, Certificate, Development, Supply, SupplyMethod};
/// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
/// let supply = Supply {
///     method: SupplyMethod::TransferListing,
///     document_number: "安出让〔2025〕12号".into(),
///     decided_on: d(3, 1),
///     price_wan_yuan: Some(Amount::from_hundredths(1_200_000)),
///     area_mu: Amount::from_hundredths(3_000),
///     industrial: true,
///     agreed_handover_on: d(4, 1),
///     agreed_start_on: d(6, 1),
///     agreed_completion_on: d(12, 31),
///     agreed_investment_wan_yuan: None,
///     agreed_indicators: None,
/// };
/// let later = Development {
///     certificate: Some(Certificate { number: "陕(2025)安康市不动产权第0001号".into(), issued_on: d(4, 1) }),
///     ..Development::default()
/// };
/// let refused = validate(&supply, &later, d(5, 1)).unwrap_err();
/// assert_eq!(refused.field(), "certificate");
/// ```
pub fn validate(
    supply: &Supply,
    development: &Development,
    as_of: NaiveDate,
) -> Result<(), SupplyRecordError> {
    if supply.document_number.trim().is_empty() {
        return Err(SupplyRecordError::Blank {
            field: "document_number",
        });
    }
    if supply.area_mu.is_zero() {
        return Err(SupplyRecordError::ZeroArea);
    }
    not_after("decided_on", supply.decided_on, as_of)?;
    in_order(
        "agreed_handover_on",
        supply.agreed_handover_on,
        "decided_on",
        supply.decided_on,
    )?;
    in_order(
        "agreed_start_on",
        supply.agreed_start_on,
        "agreed_handover_on",
        supply.agreed_handover_on,
    )?;
    in_order(
        "agreed_completion_on",
        supply.agreed_completion_on,
        "agreed_start_on",
        supply.agreed_start_on,
    )?;

    let d = development;
    if let Some(handed_over_on) = d.handed_over_on {
        in_order("handed_over_on", handed_over_on, "decided_on", supply.decided_on)?;
        not_after("handed_over_on", handed_over_on, as_of)?;
    }
    if let Some(certificate) = &d.certificate {
        if d.handed_over_on.is_none() {
            return Err(SupplyRecordError::RecordedWithout {
                field: "certificate",
                requires: "handed_over_on",
            });
        }
        if certificate.number.trim().is_empty() {
            return Err(SupplyRecordError::Blank {
                field: "certificate.number",
            });
        }
        not_after("certificate.issued_on", certificate.issued_on, as_of)?;
    }
    if let Some(started_on) = d.started_on {
        let Some(handed_over_on) = d.handed_over_on else {
            return Err(SupplyRecordError::RecordedWithout {
                field: "started_on",
                requires: "handed_over_on",
            });
        };
        in_order("started_on", started_on, "handed_over_on", handed_over_on)?;
        not_after("started_on", started_on, as_of)?;
    }
    for (field, present) in [
        ("developed_mu", d.developed_mu.is_some()),
        ("invested_wan_yuan", d.invested_wan_yuan.is_some()),
        ("halted_since", d.halted_since.is_some()),
        ("completed_on", d.completed_on.is_some()),
    ] {
        if present && d.started_on.is_none() {
            return Err(SupplyRecordError::RecordedWithout {
                field,
                requires: "started_on",
            });
        }
    }
    if let (Some(started_on), Some(halted_since)) = (d.started_on, d.halted_since) {
        in_order("halted_since", halted_since, "started_on", started_on)?;
        not_after("halted_since", halted_since, as_of)?;
    }
    if let (Some(started_on), Some(completed_on)) = (d.started_on, d.completed_on) {
        in_order("completed_on", completed_on, "started_on", started_on)?;
        not_after("completed_on", completed_on, as_of)?;
    }
    if d.achieved_indicators.is_some() && d.completed_on.is_none() {
        return Err(SupplyRecordError::RecordedWithout {
            field: "achieved_indicators",
            requires: "completed_on",
        });
    }
    if let Some(developed_mu) = d.developed_mu {
        if developed_mu > supply.area_mu {
            return Err(SupplyRecordError::Exceeds {
                field: "developed_mu",
                value: developed_mu,
                limit_field: "area_mu",
                limit: supply.area_mu,
            });
        }
    }
    Ok(())
}

/// Checks that a supply is dated on or after the approval of the land it supplies (`approved_on`,
/// the day the conversion was approved): land is supplied only once it is approved, so a
/// decision or contract dated earlier is a mistyped date, not a record to keep.
///
/// # Errors
/// [`SupplyRecordError::OutOfOrder`] naming `decided_on` and the approval's date.
///
/// ```
/// use chrono::NaiveDate;
/// use landuse_domain::supply::{supplied_after_approval, SupplyRecordError};
/// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
/// assert!(supplied_after_approval(d(3, 1), d(3, 1)).is_ok());
/// let refused = supplied_after_approval(d(2, 28), d(3, 1)).unwrap_err();
/// assert_eq!(refused.field(), "decided_on");
/// assert_eq!(refused.to_string(), "decided_on (2025-02-28) is before approved_on (2025-03-01)");
/// ```
pub fn supplied_after_approval(
    decided_on: NaiveDate,
    approved_on: NaiveDate,
) -> Result<(), SupplyRecordError> {
    in_order("decided_on", decided_on, "approved_on", approved_on)
}

/// The last day of a period of `years` years that starts after `start`: the day of `start`'s
/// month and day `years` later, or that month's last day when it has none (民法典 第二百零二条).
/// `None` past the dates `chrono` represents.
///
/// ```
/// use chrono::NaiveDate;
/// use landuse_domain::supply::period_end;
/// let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
/// assert_eq!(period_end(d(2024, 3, 10), 1), Some(d(2025, 3, 10)));
/// assert_eq!(period_end(d(2024, 2, 29), 1), Some(d(2025, 2, 28)));
/// assert_eq!(period_end(d(2024, 2, 29), 4), Some(d(2028, 2, 29)));
/// ```
pub fn period_end(start: NaiveDate, years: u32) -> Option<NaiveDate> {
    // chrono keeps the day of the month and falls back to the month's last day when the day does
    // not exist there: exactly the civil code's rule for a date with no corresponding day.
    start.checked_add_months(Months::new(years.checked_mul(12)?))
}

/// The first day on which `years` full years have passed since `start`: the day after
/// [`period_end`]. Land whose agreed start was 2024-02-29 is one full year past it from
/// 2025-03-01.
pub fn full_years_after(start: NaiveDate, years: u32) -> Option<NaiveDate> {
    period_end(start, years)?.succ_opt()
}

/// `part / whole` in percent, rounded half up to one decimal, from the exact hundredths so the
/// same areas always give the same figure; `None` when `whole` is zero.
pub(crate) fn percent_of(part: Amount, whole: Amount) -> Option<f64> {
    if whole.is_zero() {
        return None;
    }
    let (part, whole) = (i128::from(part.hundredths()), i128::from(whole.hundredths()));
    let tenths = (part * 2000 + whole) / (whole * 2);
    Some(tenths as f64 / 10.0)
}

/// Whether `part / whole` reaches `goal_percent`, decided on the exact hundredths
/// (`part × 100 ≥ goal × whole`), never on a rounded percentage.
pub(crate) fn reaches(part: Amount, whole: Amount, goal_percent: u8) -> bool {
    i128::from(part.hundredths()) * 100 >= i128::from(goal_percent) * i128::from(whole.hundredths())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    pub(crate) fn mu(hundredths: i64) -> Amount {
        Amount::from_hundredths(hundredths)
    }

    /// A listing transfer decided 2025-03-01: handover 04-01, start 06-01, completion 12-31.
    pub(crate) fn supply() -> Supply {
        Supply {
            method: SupplyMethod::TransferListing,
            document_number: "安出让〔2025〕12号".into(),
            decided_on: day(2025, 3, 1),
            price_wan_yuan: Some(mu(1_200_000)),
            area_mu: mu(3_000),
            industrial: true,
            agreed_handover_on: day(2025, 4, 1),
            agreed_start_on: day(2025, 6, 1),
            agreed_completion_on: day(2025, 12, 31),
            agreed_investment_wan_yuan: Some(mu(900_000)),
            agreed_indicators: None,
        }
    }

    fn refused(supply: &Supply, development: &Development) -> SupplyRecordError {
        validate(supply, development, day(2026, 1, 1)).unwrap_err()
    }

    #[test]
    fn a_record_in_order_is_accepted() {
        let development = Development {
            handed_over_on: Some(day(2025, 4, 1)),
            certificate: Some(Certificate {
                number: "0001".into(),
                issued_on: day(2025, 4, 1),
            }),
            started_on: Some(day(2025, 5, 20)),
            developed_mu: Some(mu(3_000)),
            completed_on: Some(day(2025, 12, 1)),
            ..Development::default()
        };
        assert_eq!(validate(&supply(), &development, day(2026, 1, 1)), Ok(()));
        assert_eq!(
            validate(&supply(), &Development::default(), day(2025, 3, 1)),
            Ok(())
        );
    }

    #[test]
    fn agreed_dates_out_of_order_are_refused_naming_the_field() {
        let mut early_handover = supply();
        early_handover.agreed_handover_on = day(2025, 2, 28);
        assert_eq!(
            refused(&early_handover, &Development::default()),
            SupplyRecordError::OutOfOrder {
                field: "agreed_handover_on",
                date: day(2025, 2, 28),
                earlier_field: "decided_on",
                earlier: day(2025, 3, 1),
            }
        );
        let mut early_start = supply();
        early_start.agreed_start_on = day(2025, 3, 31);
        assert_eq!(
            refused(&early_start, &Development::default()).field(),
            "agreed_start_on"
        );
        let mut early_completion = supply();
        early_completion.agreed_completion_on = day(2025, 5, 31);
        assert_eq!(
            refused(&early_completion, &Development::default()).field(),
            "agreed_completion_on"
        );
    }

    #[test]
    fn a_handover_before_the_supply_and_a_start_before_the_handover_are_refused() {
        let before_supply = Development {
            handed_over_on: Some(day(2025, 2, 28)),
            ..Development::default()
        };
        assert_eq!(refused(&supply(), &before_supply).field(), "handed_over_on");
        let start_first = Development {
            handed_over_on: Some(day(2025, 4, 10)),
            started_on: Some(day(2025, 4, 9)),
            ..Development::default()
        };
        assert_eq!(
            refused(&supply(), &start_first),
            SupplyRecordError::OutOfOrder {
                field: "started_on",
                date: day(2025, 4, 9),
                earlier_field: "handed_over_on",
                earlier: day(2025, 4, 10),
            }
        );
        let same_day = Development {
            handed_over_on: Some(day(2025, 4, 10)),
            started_on: Some(day(2025, 4, 10)),
            ..Development::default()
        };
        assert_eq!(validate(&supply(), &same_day, day(2026, 1, 1)), Ok(()));
    }

    #[test]
    fn a_certificate_or_a_start_without_a_handover_is_refused() {
        let certificate_only = Development {
            certificate: Some(Certificate {
                number: "0001".into(),
                issued_on: day(2025, 4, 1),
            }),
            ..Development::default()
        };
        assert_eq!(
            refused(&supply(), &certificate_only),
            SupplyRecordError::RecordedWithout {
                field: "certificate",
                requires: "handed_over_on"
            }
        );
        let start_only = Development {
            started_on: Some(day(2025, 6, 1)),
            ..Development::default()
        };
        assert_eq!(refused(&supply(), &start_only).field(), "started_on");
        let completion_only = Development {
            handed_over_on: Some(day(2025, 4, 1)),
            completed_on: Some(day(2025, 12, 1)),
            ..Development::default()
        };
        assert_eq!(
            refused(&supply(), &completion_only),
            SupplyRecordError::RecordedWithout {
                field: "completed_on",
                requires: "started_on"
            }
        );
    }

    #[test]
    fn events_after_the_day_of_the_record_are_refused() {
        let development = Development {
            handed_over_on: Some(day(2025, 4, 2)),
            ..Development::default()
        };
        assert_eq!(
            validate(&supply(), &development, day(2025, 4, 1)),
            Err(SupplyRecordError::InFuture {
                field: "handed_over_on",
                date: day(2025, 4, 2),
                as_of: day(2025, 4, 1)
            })
        );
        assert_eq!(
            validate(&supply(), &Development::default(), day(2025, 2, 28))
                .unwrap_err()
                .field(),
            "decided_on"
        );
    }

    #[test]
    fn blank_numbers_a_zero_area_and_more_developed_than_supplied_are_refused() {
        let mut blank = supply();
        blank.document_number = "  ".into();
        assert_eq!(
            refused(&blank, &Development::default()).field(),
            "document_number"
        );
        let mut empty = supply();
        empty.area_mu = Amount::ZERO;
        assert_eq!(
            refused(&empty, &Development::default()),
            SupplyRecordError::ZeroArea
        );
        let blank_certificate = Development {
            handed_over_on: Some(day(2025, 4, 1)),
            certificate: Some(Certificate {
                number: String::new(),
                issued_on: day(2025, 4, 1),
            }),
            ..Development::default()
        };
        assert_eq!(
            refused(&supply(), &blank_certificate).field(),
            "certificate.number"
        );
        let overdeveloped = Development {
            handed_over_on: Some(day(2025, 4, 1)),
            started_on: Some(day(2025, 6, 1)),
            developed_mu: Some(mu(3_001)),
            ..Development::default()
        };
        assert_eq!(refused(&supply(), &overdeveloped).field(), "developed_mu");
    }

    #[test]
    fn achieved_indicators_need_a_completion() {
        let development = Development {
            handed_over_on: Some(day(2025, 4, 1)),
            started_on: Some(day(2025, 6, 1)),
            achieved_indicators: Some(standard::tests::indicators(30_000, 120, 2_000, 4_500)),
            ..Development::default()
        };
        assert_eq!(
            refused(&supply(), &development),
            SupplyRecordError::RecordedWithout {
                field: "achieved_indicators",
                requires: "completed_on"
            }
        );
    }

    #[test]
    fn periods_of_years_end_on_the_corresponding_day_or_the_months_last_day() {
        assert_eq!(period_end(day(2024, 3, 10), 1), Some(day(2025, 3, 10)));
        assert_eq!(period_end(day(2024, 2, 29), 1), Some(day(2025, 2, 28)));
        assert_eq!(period_end(day(2024, 2, 29), 2), Some(day(2026, 2, 28)));
        assert_eq!(period_end(day(2023, 2, 28), 1), Some(day(2024, 2, 28)));
        assert_eq!(full_years_after(day(2024, 2, 29), 1), Some(day(2025, 3, 1)));
        assert_eq!(full_years_after(day(2024, 12, 31), 1), Some(day(2026, 1, 1)));
        assert_eq!(full_years_after(NaiveDate::MAX, 1), None);
    }

    #[test]
    fn percentages_come_from_exact_hundredths_and_goals_are_met_on_them() {
        assert_eq!(percent_of(mu(5_000), mu(10_000)), Some(50.0));
        assert_eq!(percent_of(mu(1), mu(3)), Some(33.3));
        assert_eq!(percent_of(mu(2), mu(3)), Some(66.7));
        assert_eq!(percent_of(mu(1), Amount::ZERO), None);
        assert!(reaches(mu(4_000), mu(10_000), 40));
        assert!(!reaches(mu(3_999), mu(10_000), 40));
        assert!(reaches(Amount::ZERO, Amount::ZERO, 100));
    }

    #[test]
    fn every_method_parses_back_from_its_code() {
        for &method in SupplyMethod::ALL {
            assert_eq!(SupplyMethod::parse(method.code()), Ok(method));
            assert_eq!(serde_json::to_value(method).unwrap(), method.code());
        }
        assert!(SupplyMethod::parse("auction")
            .unwrap_err()
            .to_string()
            .contains("transfer_auction"));
    }
}
