//! Areas: square metres, mu (亩) and hectares.
//!
//! The bureau states areas in three units: m² (what the spatial crate
//! measures), mu (what quotas and reports use, 1 mu = 10000/15 m²) and hectares
//! (what survey files state). Reports round mu to 2 decimals and hectares to 4.

use std::fmt;
use std::iter::Sum;
use std::ops::Add;

use serde::{Deserialize, Serialize};

/// Square metres in one mu: 10000/15 m² (about 666.67 m²).
pub const SQUARE_METRES_PER_MU: f64 = 10_000.0 / 15.0;

/// Square metres in one hectare.
pub const SQUARE_METRES_PER_HECTARE: f64 = 10_000.0;

/// Mu in one hectare.
pub const MU_PER_HECTARE: f64 = 15.0;

/// Why a number is not an area.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum AreaError {
    /// The value is NaN or infinite.
    #[error("an area must be a finite number, got {0}")]
    NotFinite(f64),
    /// The value is below zero.
    #[error("an area cannot be negative, got {0}")]
    Negative(f64),
}

fn parse_area(value: f64) -> Result<f64, AreaError> {
    if !value.is_finite() {
        Err(AreaError::NotFinite(value))
    } else if value < 0.0 {
        Err(AreaError::Negative(value))
    } else {
        // Normalises -0.0 so that equal areas serialise the same way.
        Ok(value + 0.0)
    }
}

/// Rounds half away from zero to `decimals` places, as reports state figures.
fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10_f64.powi(decimals);
    (value * scale).round() / scale
}

/// An area in square metres: finite and not negative.
///
/// ```
/// use landuse_domain::units::SquareMetres;
/// let area = SquareMetres::new(10_000.0)?;
/// assert_eq!(area.mu_rounded(), 15.0);
/// assert_eq!(area.hectares_rounded(), 1.0);
/// # Ok::<(), landuse_domain::units::AreaError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct SquareMetres(f64);

impl SquareMetres {
    /// No area.
    pub const ZERO: Self = Self(0.0);

    /// Parses an area in m².
    ///
    /// # Errors
    /// [`AreaError`] when the value is NaN, infinite or negative.
    pub fn new(value: f64) -> Result<Self, AreaError> {
        parse_area(value).map(Self)
    }

    /// The area in m², unrounded.
    pub fn value(self) -> f64 {
        self.0
    }

    /// The area in mu, unrounded.
    pub fn mu(self) -> Mu {
        Mu(self.0 / SQUARE_METRES_PER_MU)
    }

    /// The area in mu rounded to 2 decimals, as reports state it.
    pub fn mu_rounded(self) -> f64 {
        self.mu().rounded()
    }

    /// The area in hectares rounded to 4 decimals, as reports state it.
    pub fn hectares_rounded(self) -> f64 {
        round_to(self.0 / SQUARE_METRES_PER_HECTARE, 4)
    }

    /// This area divided by `whole`, or `0.0` when `whole` is empty.
    pub fn share_of(self, whole: Self) -> f64 {
        if whole.0 > 0.0 {
            self.0 / whole.0
        } else {
            0.0
        }
    }
}

impl TryFrom<f64> for SquareMetres {
    type Error = AreaError;

    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<SquareMetres> for f64 {
    fn from(area: SquareMetres) -> Self {
        area.0
    }
}

impl Add for SquareMetres {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self(self.0 + other.0)
    }
}

impl Sum for SquareMetres {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Add::add)
    }
}

impl fmt::Display for SquareMetres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} m²", self.0)
    }
}

/// An area in mu (亩): finite and not negative. Quotas and reports use it.
///
/// ```
/// use landuse_domain::units::{Mu, SquareMetres};
/// let mu = Mu::new(1.5)?;
/// assert_eq!(mu.square_metres(), SquareMetres::new(1_000.0)?);
/// assert_eq!(SquareMetres::new(666.67)?.mu_rounded(), 1.0);
/// # Ok::<(), landuse_domain::units::AreaError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Mu(f64);

impl Mu {
    /// No area.
    pub const ZERO: Self = Self(0.0);

    /// Parses an area in mu.
    ///
    /// # Errors
    /// [`AreaError`] when the value is NaN, infinite or negative.
    pub fn new(value: f64) -> Result<Self, AreaError> {
        parse_area(value).map(Self)
    }

    /// The area in mu, unrounded.
    pub fn value(self) -> f64 {
        self.0
    }

    /// The area in mu rounded to 2 decimals, as reports state it.
    pub fn rounded(self) -> f64 {
        round_to(self.0, 2)
    }

    /// The same area in m².
    pub fn square_metres(self) -> SquareMetres {
        SquareMetres(self.0 * SQUARE_METRES_PER_MU)
    }
}

impl TryFrom<f64> for Mu {
    type Error = AreaError;

    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Mu> for f64 {
    fn from(area: Mu) -> Self {
        area.0
    }
}

impl Add for Mu {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self(self.0 + other.0)
    }
}

impl fmt::Display for Mu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} mu", self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn one_hectare_is_fifteen_mu() {
        let hectare = SquareMetres::new(SQUARE_METRES_PER_HECTARE).unwrap();
        assert_eq!(hectare.mu_rounded(), MU_PER_HECTARE);
    }

    #[test]
    fn mu_are_rounded_to_two_decimals_and_hectares_to_four() {
        let area = SquareMetres::new(12_345.678).unwrap();
        assert_eq!(area.mu_rounded(), 18.52);
        assert_eq!(area.hectares_rounded(), 1.2346);
    }

    #[test]
    fn negative_and_non_finite_areas_are_refused() {
        assert_eq!(SquareMetres::new(-1.0), Err(AreaError::Negative(-1.0)));
        assert!(matches!(
            SquareMetres::new(f64::NAN),
            Err(AreaError::NotFinite(_))
        ));
        assert!(Mu::new(f64::INFINITY).is_err());
    }

    #[test]
    fn areas_deserialise_only_when_valid() {
        assert!(serde_json::from_str::<SquareMetres>("-3").is_err());
        assert_eq!(
            serde_json::from_str::<SquareMetres>("3.5").unwrap(),
            SquareMetres::new(3.5).unwrap()
        );
    }

    #[test]
    fn a_mu_converts_back_to_square_metres() {
        let mu = Mu::new(2.0).unwrap();
        assert!((mu.square_metres().value() - 1_333.333_333).abs() < 1e-3);
    }
}
