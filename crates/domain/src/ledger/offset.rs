//! The farmland-offset ledger's rules (耕地占补平衡): which indicators a lock takes from, how a
//! lock follows a changed need, and what goes back on a release. Pure functions, tested without
//! a database.
//!
//! # The rule
//! A case needs three quantities covered: its cultivated area, its paddy (水田, DLBM 0101) area
//! and its grain capacity. The county's indicators are taken **in order of registration,
//! oldest first**, and each quantity is filled independently: from each indicator in turn the
//! lock takes as much of each quantity as is still needed and available there, and moves on
//! until all three are covered. Indicators that give nothing are left out of the lock.
//!
//! Oldest-first is chosen because it is what a person checking the ledger expects (the older
//! land-improvement results are used up first, as in first-in-first-out stock accounting), it
//! is deterministic, and it keeps the locks of later cases independent of how earlier ones were
//! split. The three quantities are accounted separately because the bureau's balance is kept
//! that way (数量、水田、产能 each balanced), so an indicator's paddy may cover a case's paddy
//! while its area covers another's.
//!
//! When the county's indicators together fall short on any quantity, nothing is taken and the
//! answer names each quantity that falls short, what was needed, what is available, and by how
//! much it falls short.

use std::fmt;

use serde::Serialize;
use uuid::Uuid;

use super::amount::Amount;

/// The three quantities of the farmland balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quantities {
    /// Cultivated area (all of 0101, 0102, 0103), in m².
    pub area_m2: Amount,
    /// Paddy (0101) area, in m².
    pub paddy_m2: Amount,
    /// Grain production capacity, in kg.
    pub capacity_kg: Amount,
}

impl Quantities {
    /// Nothing of anything.
    pub const ZERO: Self = Self {
        area_m2: Amount::ZERO,
        paddy_m2: Amount::ZERO,
        capacity_kg: Amount::ZERO,
    };

    /// Whether every quantity is zero.
    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }

    /// Each quantity of `self` plus `other`'s.
    #[must_use]
    pub fn plus(&self, other: &Self) -> Self {
        Self {
            area_m2: self.area_m2 + other.area_m2,
            paddy_m2: self.paddy_m2 + other.paddy_m2,
            capacity_kg: self.capacity_kg + other.capacity_kg,
        }
    }

    /// Each quantity of `self` less `other`'s, never below zero.
    #[must_use]
    pub fn minus(&self, other: &Self) -> Self {
        Self {
            area_m2: self.area_m2 - other.area_m2,
            paddy_m2: self.paddy_m2 - other.paddy_m2,
            capacity_kg: self.capacity_kg - other.capacity_kg,
        }
    }

    /// Each quantity the smaller of `self`'s and `other`'s.
    #[must_use]
    pub fn min(&self, other: &Self) -> Self {
        Self {
            area_m2: self.area_m2.min(other.area_m2),
            paddy_m2: self.paddy_m2.min(other.paddy_m2),
            capacity_kg: self.capacity_kg.min(other.capacity_kg),
        }
    }

    /// Where `self`, as held, falls short of `needed`: one [`Shortfall`] per quantity short,
    /// in [`Quantity::ALL`] order; empty when `self` covers `needed`.
    pub fn shortfalls_against(&self, needed: &Self) -> Vec<Shortfall> {
        Quantity::ALL
            .into_iter()
            .filter(|q| needed.get(*q) > self.get(*q))
            .map(|q| Shortfall {
                quantity: q,
                needed: needed.get(q),
                available: self.get(q),
                short_by: needed.get(q) - self.get(q),
                unit: q.unit(),
            })
            .collect()
    }

    /// The quantity `quantity`.
    pub fn get(&self, quantity: Quantity) -> Amount {
        match quantity {
            Quantity::Area => self.area_m2,
            Quantity::Paddy => self.paddy_m2,
            Quantity::Capacity => self.capacity_kg,
        }
    }
}

/// One of the three quantities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// Cultivated area, m².
    Area,
    /// Paddy area, m².
    Paddy,
    /// Grain capacity, kg.
    Capacity,
}

impl Quantity {
    /// All three, in the order they are reported.
    pub const ALL: [Quantity; 3] = [Quantity::Area, Quantity::Paddy, Quantity::Capacity];

    /// The unit the quantity is counted in.
    pub fn unit(self) -> &'static str {
        match self {
            Quantity::Area | Quantity::Paddy => "m²",
            Quantity::Capacity => "kg",
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quantity::Area => "cultivated area",
            Quantity::Paddy => "paddy area",
            Quantity::Capacity => "grain capacity",
        })
    }
}

/// One quantity the indicators do not cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Shortfall {
    /// Which quantity.
    pub quantity: Quantity,
    /// What the case needs.
    pub needed: Amount,
    /// What the indicators have.
    pub available: Amount,
    /// `needed − available`.
    pub short_by: Amount,
    /// `m²` or `kg`.
    pub unit: &'static str,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} short by {} {unit} (needs {}, {} available)",
            self.quantity,
            self.short_by,
            self.needed,
            self.available,
            unit = self.unit
        )
    }
}

/// What one indicator gives to a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Take {
    /// The indicator.
    pub indicator_id: Uuid,
    /// How much of each quantity.
    pub amounts: Quantities,
}

/// Chooses what to take from `available` (indicators with what is left of each, in
/// registration order) to cover `needs`.
///
/// ```
/// use landuse_domain::ledger::{amount::Amount, offset::{plan_lock, Quantities}};
/// # use uuid::Uuid;
/// let q = |a: i64, p: i64, c: i64| Quantities {
///     area_m2: Amount::from_hundredths(a * 100),
///     paddy_m2: Amount::from_hundredths(p * 100),
///     capacity_kg: Amount::from_hundredths(c * 100),
/// };
/// let (old, new) = (Uuid::from_u128(1), Uuid::from_u128(2));
/// let takes = plan_lock(q(1500, 300, 900), &[(old, q(1000, 0, 1000)), (new, q(1000, 500, 0))]).unwrap();
/// assert_eq!(takes[0].amounts, q(1000, 0, 900));
/// assert_eq!(takes[1].amounts, q(500, 300, 0));
/// ```
///
/// # Errors
/// Every [`Shortfall`] when the indicators together do not cover a quantity.
pub fn plan_lock(needs: Quantities, available: &[(Uuid, Quantities)]) -> Result<Vec<Take>, Vec<Shortfall>> {
    let total = available
        .iter()
        .fold(Quantities::ZERO, |sum, (_, left)| sum.plus(left));
    let shortfalls = total.shortfalls_against(&needs);
    if !shortfalls.is_empty() {
        return Err(shortfalls);
    }
    let mut still = needs;
    let mut takes = Vec::new();
    for (indicator_id, left) in available {
        if still.is_zero() {
            break;
        }
        let amounts = still.min(left);
        if !amounts.is_zero() {
            takes.push(Take {
                indicator_id: *indicator_id,
                amounts,
            });
            still = still.minus(&amounts);
        }
    }
    Ok(takes)
}

/// How a case's lock must change to match what it needs now.
///
/// A lock is made against one confirmed check. When the parcels change and a new check is
/// confirmed, the lock is brought to the new need: each quantity is topped up where the lock
/// falls short and released where it exceeds, independently (a smaller footprint may still
/// need more paddy). `needed` 800/200/500 against `locked` 1,000/100/500 gives a top-up of
/// 0/100/0 and an excess of 200/0/0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LockAdjustment {
    /// What must still be locked.
    pub top_up: Quantities,
    /// What is locked beyond the need and goes back to the indicators.
    pub excess: Quantities,
}

impl LockAdjustment {
    /// The adjustment that brings `locked` to `needed`.
    pub fn between(needed: &Quantities, locked: &Quantities) -> Self {
        Self {
            top_up: needed.minus(locked),
            excess: locked.minus(needed),
        }
    }

    /// Whether the lock already matches the need.
    pub fn is_none(&self) -> bool {
        self.top_up.is_zero() && self.excess.is_zero()
    }
}

/// Which parts of a case's lock go back when `excess` is released: the lock lines are given
/// oldest first, and the release returns from the **newest** line first (the reverse of
/// [`plan_lock`]), each quantity independently, so what stays locked is what the oldest
/// indicators gave. Takes never exceed a line's locked amounts; when the lines together hold
/// less than `excess`, everything is returned.
pub fn plan_release(excess: Quantities, lines: &[(Uuid, Quantities)]) -> Vec<Take> {
    let mut still = excess;
    let mut takes = Vec::new();
    for (indicator_id, locked) in lines.iter().rev() {
        if still.is_zero() {
            break;
        }
        let amounts = still.min(locked);
        if !amounts.is_zero() {
            takes.push(Take {
                indicator_id: *indicator_id,
                amounts,
            });
            still = still.minus(&amounts);
        }
    }
    takes
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(area: i64, paddy: i64, capacity: i64) -> Quantities {
        Quantities {
            area_m2: Amount::from_hundredths(area * 100),
            paddy_m2: Amount::from_hundredths(paddy * 100),
            capacity_kg: Amount::from_hundredths(capacity * 100),
        }
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn an_exact_cover_takes_everything_and_nothing_more() {
        let takes = plan_lock(
            q(800, 200, 500),
            &[(id(1), q(500, 200, 100)), (id(2), q(300, 0, 400))],
        )
        .unwrap();
        let total = takes.iter().fold(Quantities::ZERO, |s, t| s.plus(&t.amounts));
        assert_eq!(total, q(800, 200, 500));
        assert_eq!(takes.len(), 2);
    }

    #[test]
    fn the_oldest_indicators_are_used_first_and_untouched_ones_are_left_out() {
        let takes = plan_lock(
            q(100, 0, 10),
            &[
                (id(1), q(0, 0, 0)),
                (id(2), q(500, 100, 50)),
                (id(3), q(500, 100, 50)),
            ],
        )
        .unwrap();
        assert_eq!(
            takes,
            [Take {
                indicator_id: id(2),
                amounts: q(100, 0, 10)
            }]
        );
    }

    #[test]
    fn each_quantity_is_filled_independently_across_indicators() {
        let takes = plan_lock(
            q(100, 100, 100),
            &[(id(1), q(100, 0, 0)), (id(2), q(0, 100, 100))],
        )
        .unwrap();
        assert_eq!(takes[0].amounts, q(100, 0, 0));
        assert_eq!(takes[1].amounts, q(0, 100, 100));
    }

    #[test]
    fn a_shortfall_names_each_quantity_that_falls_short_and_by_how_much() {
        let err = plan_lock(
            q(1000, 300, 900),
            &[(id(1), q(1200, 250, 100)), (id(2), q(0, 0, 500))],
        )
        .unwrap_err();
        assert_eq!(err.len(), 2, "area is covered, paddy and capacity are not");
        assert_eq!(err[0].quantity, Quantity::Paddy);
        assert_eq!(err[0].short_by, Amount::from_hundredths(5000));
        assert_eq!(err[1].quantity, Quantity::Capacity);
        assert_eq!(
            (err[1].needed, err[1].available),
            (Amount::from_hundredths(90_000), Amount::from_hundredths(60_000))
        );
        assert_eq!(
            err[1].to_string(),
            "grain capacity short by 300.00 kg (needs 900.00, 600.00 available)"
        );
    }

    #[test]
    fn needing_nothing_takes_nothing() {
        assert_eq!(plan_lock(Quantities::ZERO, &[(id(1), q(1, 1, 1))]).unwrap(), []);
    }

    #[test]
    fn an_adjustment_tops_up_and_releases_each_quantity_on_its_own() {
        let adjustment = LockAdjustment::between(&q(800, 200, 500), &q(1_000, 100, 500));
        assert_eq!(adjustment.top_up, q(0, 100, 0));
        assert_eq!(adjustment.excess, q(200, 0, 0));
        assert!(LockAdjustment::between(&q(5, 1, 2), &q(5, 1, 2)).is_none());
    }

    #[test]
    fn a_release_returns_from_the_newest_line_first_and_never_more_than_a_line_holds() {
        let lines = [(id(1), q(500, 100, 50)), (id(2), q(300, 0, 50))];
        let takes = plan_release(q(400, 50, 60), &lines);
        assert_eq!(
            takes,
            [
                Take {
                    indicator_id: id(2),
                    amounts: q(300, 0, 50)
                },
                Take {
                    indicator_id: id(1),
                    amounts: q(100, 50, 10)
                },
            ]
        );
        let all = plan_release(q(10_000, 10_000, 10_000), &lines);
        let total = all.iter().fold(Quantities::ZERO, |s, t| s.plus(&t.amounts));
        assert_eq!(total, q(800, 100, 100));
    }

    #[test]
    fn shortfalls_name_each_quantity_short_and_nothing_when_covered() {
        let short = q(100, 10, 0).shortfalls_against(&q(150, 10, 5));
        assert_eq!(short.len(), 2);
        assert_eq!(short[0].quantity, Quantity::Area);
        assert_eq!(short[0].short_by, Amount::from_hundredths(5_000));
        assert_eq!(short[1].quantity, Quantity::Capacity);
        assert!(q(150, 10, 5).shortfalls_against(&q(150, 10, 5)).is_empty());
    }
}
