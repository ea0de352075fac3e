//! The construction-quota ledger's rules (新增建设用地计划指标): what a case needs, and whether
//! what it holds covers it.
//!
//! # What a case needs
//! A case needs quota for the *new* construction land it converts: the area of its parcels less
//! the part its confirmed check finds on existing construction land (the `construction_land`
//! layer: 三调 polygons of the construction classes, see [`is_construction_class`]), in mu,
//! rounded **up** to the hundredth, since an allocation a hundredth short would leave land
//! converted without quota. A region without a construction-land layer needs the whole area.
//!
//! Worked example: parcels of 10,000.00 m² of which 2,500.00 m² lie on a village plot (0702):
//! 7,500 m² × 15 / 10,000 = 11.25 mu exactly. Parcels of 1,000 m² with nothing built on them:
//! 1.5 mu. Parcels of 1,000.01 m²: 1.500015 mu, needed 1.51.
//!
//! # Held, then consumed
//! An allocation is *held* until the conversion is approved (`conversion → supply`); the
//! approval *consumes* it, and consumed quota never returns. Approval needs held ≥ needed
//! ([`QuotaPosition::shortfall`]).

use serde::Serialize;

use super::amount::Amount;
use crate::units::{SquareMetres, SQUARE_METRES_PER_MU};

/// The 三调 land classes (DLBM) that count as existing construction land: 05H1 commercial,
/// 0508 logistics, 0601–0603 industrial and mining, 0701–0702 housing, 08H1–08H2 public
/// administration and services, 0809–0810 public facilities and parks, 09 special land,
/// 1001–1005 and 1007–1009 transport (1006 rural roads are agricultural land), 1109 water
/// works, 1201 public-service land.
pub const CONSTRUCTION_CLASSES: [&str; 22] = [
    "05H1", "0508", "0601", "0602", "0603", "0701", "0702", "08H1", "08H2", "0809", "0810", "09", "1001",
    "1002", "1003", "1004", "1005", "1007", "1008", "1009", "1109", "1201",
];

/// Whether a DLBM code is existing construction land (one of [`CONSTRUCTION_CLASSES`]).
///
/// ```
/// use landuse_domain::ledger::quota::is_construction_class;
/// assert!(is_construction_class("0702"));
/// assert!(is_construction_class("1201"));
/// assert!(!is_construction_class("1006"));
/// assert!(!is_construction_class("0101"));
/// ```
pub fn is_construction_class(dlbm: &str) -> bool {
    CONSTRUCTION_CLASSES.contains(&dlbm)
}

/// The quota a case needs, in mu rounded up to the hundredth: `case_area` less the part on
/// existing construction land (never below zero).
///
/// ```
/// use landuse_domain::ledger::quota::need_mu;
/// use landuse_domain::units::SquareMetres;
/// let m2 = |v| SquareMetres::new(v).unwrap();
/// assert_eq!(need_mu(m2(10_000.0), m2(2_500.0)).to_string(), "11.25");
/// assert_eq!(need_mu(m2(1_000.01), SquareMetres::ZERO).to_string(), "1.51");
/// assert_eq!(need_mu(m2(500.0), m2(600.0)).to_string(), "0.00");
/// ```
pub fn need_mu(case_area: SquareMetres, on_construction_land: SquareMetres) -> Amount {
    let new_m2 = (case_area.value() - on_construction_land.value()).max(0.0);
    let hundredths = new_m2 / SQUARE_METRES_PER_MU * 100.0;
    // Areas are measured to far below a millionth of a mu; what is left of the float's noise
    // must not push an exact hundredth up to the next one.
    let rounded_up = (hundredths - 1e-6).ceil().max(0.0);
    #[allow(clippy::cast_possible_truncation)]
    Amount::from_hundredths(rounded_up as i64)
}

/// Why a quota request cannot record the amount asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    /// No amount stated, and no confirmed check to compute the need from.
    #[error("what the case needs is computed from a confirmed check (or state the amount)")]
    NeedUnknown,
    /// No amount stated, and the case's parcels lie wholly on existing construction land.
    #[error("the case's parcels lie wholly on existing construction land: it needs no new quota")]
    NotNeeded,
    /// The stated amount is less than the need.
    #[error("{stated} mu is less than the {needed} mu the confirmed check says the case needs (its area less existing construction land)")]
    BelowNeed {
        /// What was stated.
        stated: Amount,
        /// What the confirmed check says the case needs.
        needed: Amount,
    },
}

/// The amount a quota request records: the need computed from the confirmed check when none is
/// stated; a stated amount when it is not less than the need. Without a confirmed check a stated
/// amount is recorded as it is: the conversion approval still asks that the case hold its need.
///
/// # Errors
/// [`RequestRefusal`].
///
/// ```
/// use landuse_domain::ledger::{quota::{requested_amount, RequestRefusal}, Amount};
/// let mu = Amount::from_hundredths;
/// assert_eq!(requested_amount(Some(mu(1125)), None), Ok(mu(1125)));
/// assert_eq!(requested_amount(Some(mu(1125)), Some(mu(1200))), Ok(mu(1200)));
/// assert!(matches!(requested_amount(Some(mu(1125)), Some(mu(1124))), Err(RequestRefusal::BelowNeed { .. })));
/// assert_eq!(requested_amount(None, None), Err(RequestRefusal::NeedUnknown));
/// ```
pub fn requested_amount(needed: Option<Amount>, stated: Option<Amount>) -> Result<Amount, RequestRefusal> {
    match (needed, stated) {
        (Some(needed), None) if needed.is_zero() => Err(RequestRefusal::NotNeeded),
        (Some(needed), None) => Ok(needed),
        (Some(needed), Some(stated)) if stated < needed => Err(RequestRefusal::BelowNeed { stated, needed }),
        (_, Some(stated)) => Ok(stated),
        (None, None) => Err(RequestRefusal::NeedUnknown),
    }
}

/// Where a case stands on quota: what it needs, holds and has consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaPosition {
    /// What the latest confirmed check says the case needs; `None` without one.
    pub needed_mu: Option<Amount>,
    /// Allocated and not yet consumed or released.
    pub held_mu: Amount,
    /// Consumed by the approved conversion.
    pub consumed_mu: Amount,
}

impl QuotaPosition {
    /// How much more the case must hold before its conversion can be approved: zero when
    /// held (or, once approved, consumed) covers the need; `None` while the need is unknown.
    pub fn shortfall(&self) -> Option<Amount> {
        self.needed_mu
            .map(|needed| needed - (self.held_mu + self.consumed_mu))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn m2(v: f64) -> SquareMetres {
        SquareMetres::new(v).unwrap()
    }

    #[test]
    fn the_need_is_rounded_up_to_the_hundredth_of_a_mu_and_exact_hundredths_stay() {
        // 666.67 m² is 1.000005 mu: a hundredth more, never less.
        assert_eq!(need_mu(m2(666.67), SquareMetres::ZERO).hundredths(), 101);
        // 2/3 of 10,000 m² is exactly 10 mu, whatever the float says.
        assert_eq!(
            need_mu(m2(10_000.0 / 1.5), SquareMetres::ZERO).hundredths(),
            1_000
        );
        assert_eq!(need_mu(m2(0.0), SquareMetres::ZERO), Amount::ZERO);
    }

    #[test]
    fn the_shortfall_is_what_held_and_consumed_leave_uncovered() {
        let position = QuotaPosition {
            needed_mu: Some(Amount::from_hundredths(1_125)),
            held_mu: Amount::from_hundredths(1_000),
            consumed_mu: Amount::ZERO,
        };
        assert_eq!(position.shortfall(), Some(Amount::from_hundredths(125)));
        let covered = QuotaPosition {
            held_mu: Amount::from_hundredths(1_200),
            ..position
        };
        assert_eq!(covered.shortfall(), Some(Amount::ZERO));
        assert_eq!(QuotaPosition::default().shortfall(), None);
    }

    #[test]
    fn rural_roads_and_cultivated_land_are_not_construction_land() {
        for code in ["1006", "0101", "0102", "0103", "0301", "1101"] {
            assert!(!is_construction_class(code), "{code}");
        }
        for code in CONSTRUCTION_CLASSES {
            assert!(is_construction_class(code), "{code}");
        }
    }
}
