//! Ledger amounts: mu of quota, m² of offset area, kg of grain capacity, each with two
//! decimals and held exactly as hundredths, so sums and balances never drift the way floats do.

use std::fmt;
use std::ops::{Add, Sub};

use serde::{Deserialize, Serialize};

/// Why a number is not a ledger amount.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum AmountError {
    /// NaN or infinite.
    #[error("an amount must be a finite number, got {0}")]
    NotFinite(f64),
    /// Below zero.
    #[error("an amount cannot be negative, got {0}")]
    Negative(f64),
    /// More than two decimals.
    #[error("an amount has at most two decimals, got {0}")]
    TooPrecise(f64),
    /// Larger than the ledger holds.
    #[error("{0} is larger than a ledger amount may be (999 999 999 999.99)")]
    TooLarge(f64),
}

/// The largest amount a `numeric(14, 2)` column holds, in hundredths.
const MAX_HUNDREDTHS: i64 = 99_999_999_999_999;

/// A non-negative amount with two decimals, held as hundredths.
///
/// ```
/// use landuse_domain::ledger::amount::Amount;
/// let a = Amount::parse(12.5)?;
/// assert_eq!(a.hundredths(), 1250);
/// assert_eq!(a.to_string(), "12.50");
/// assert!(Amount::parse(0.125).is_err());
/// # Ok::<(), landuse_domain::ledger::amount::AmountError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Amount(i64);

/// In the service's OpenAPI document an amount is what travels: a JSON number of at least 0 and
/// at most the largest `numeric(14, 2)`, with two decimals at most (not written as `multipleOf`,
/// which binary floating point cannot honour for values like 161.42).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, SchemaFormat, Type};
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(Type::Number)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
            .minimum(Some(0.0))
            .maximum(Some(MAX_HUNDREDTHS as f64 / 100.0))
            .description(Some("A non-negative amount with at most two decimals"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Amount {}

impl Amount {
    /// Nothing.
    pub const ZERO: Self = Self(0);

    /// Parses a number with at most two decimals.
    ///
    /// # Errors
    /// [`AmountError`] for NaN, infinity, negative numbers, a third decimal or a number too large.
    pub fn parse(value: f64) -> Result<Self, AmountError> {
        if !value.is_finite() {
            return Err(AmountError::NotFinite(value));
        }
        if value < 0.0 {
            return Err(AmountError::Negative(value));
        }
        let scaled = value * 100.0;
        if scaled > MAX_HUNDREDTHS as f64 {
            return Err(AmountError::TooLarge(value));
        }
        let rounded = scaled.round();
        // 0.1 * 100 is 10.000000000000002: allow float noise, refuse a real third decimal.
        if (scaled - rounded).abs() > 1e-6 * rounded.max(1.0) {
            return Err(AmountError::TooPrecise(value));
        }
        Ok(Self(rounded as i64))
    }

    /// Rounds a measured quantity (an area from a spatial check) half up to two decimals.
    ///
    /// # Errors
    /// [`AmountError`] for NaN, infinity, negative numbers or a number too large.
    pub fn round(value: f64) -> Result<Self, AmountError> {
        if !value.is_finite() {
            return Err(AmountError::NotFinite(value));
        }
        if value < 0.0 {
            return Err(AmountError::Negative(value));
        }
        let rounded = (value * 100.0).round();
        if rounded > MAX_HUNDREDTHS as f64 {
            return Err(AmountError::TooLarge(value));
        }
        Ok(Self(rounded as i64))
    }

    /// An amount of `hundredths` hundredths; negative values become zero.
    pub fn from_hundredths(hundredths: i64) -> Self {
        Self(hundredths.clamp(0, MAX_HUNDREDTHS))
    }

    /// The amount in hundredths, as the database queries bind it.
    pub fn hundredths(self) -> i64 {
        self.0
    }

    /// The amount as a number (for JSON and reports).
    pub fn value(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// Whether the amount is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self - other`, or zero when `other` is larger.
    #[must_use]
    pub fn saturating_sub(self, other: Self) -> Self {
        Self((self.0 - other.0).max(0))
    }
}

impl TryFrom<f64> for Amount {
    type Error = AmountError;

    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<Amount> for f64 {
    fn from(amount: Amount) -> Self {
        amount.value()
    }
}

impl Add for Amount {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self((self.0 + other.0).min(MAX_HUNDREDTHS))
    }
}

impl Sub for Amount {
    type Output = Self;

    /// Saturates at zero: an amount is never negative.
    fn sub(self, other: Self) -> Self {
        self.saturating_sub(other)
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Add::add)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn two_decimals_parse_exactly_despite_float_noise() {
        assert_eq!(Amount::parse(0.1).unwrap().hundredths(), 10);
        assert_eq!(Amount::parse(0.29).unwrap().hundredths(), 29);
        assert_eq!(Amount::parse(1234.56).unwrap().hundredths(), 123_456);
        assert_eq!(Amount::parse(0.0).unwrap(), Amount::ZERO);
    }

    #[test]
    fn a_third_decimal_a_negative_or_a_non_number_is_refused() {
        assert_eq!(Amount::parse(0.125), Err(AmountError::TooPrecise(0.125)));
        assert_eq!(Amount::parse(-1.0), Err(AmountError::Negative(-1.0)));
        assert!(matches!(Amount::parse(f64::NAN), Err(AmountError::NotFinite(_))));
        assert!(matches!(Amount::parse(1e15), Err(AmountError::TooLarge(_))));
    }

    #[test]
    fn measured_areas_round_half_up() {
        assert_eq!(Amount::round(1234.565).unwrap().hundredths(), 123_457);
        assert_eq!(Amount::round(0.004).unwrap(), Amount::ZERO);
    }

    #[test]
    fn amounts_print_with_two_decimals_and_never_go_below_zero() {
        assert_eq!(Amount::from_hundredths(1005).to_string(), "10.05");
        assert_eq!(Amount::from_hundredths(7).to_string(), "0.07");
        assert_eq!(
            Amount::from_hundredths(100) - Amount::from_hundredths(300),
            Amount::ZERO
        );
        assert_eq!(Amount::from_hundredths(-5), Amount::ZERO);
    }

    #[test]
    fn amounts_are_json_numbers() {
        let a: Amount = serde_json::from_str("10.5").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "10.5");
        assert!(serde_json::from_str::<Amount>("10.555").is_err());
    }
}
