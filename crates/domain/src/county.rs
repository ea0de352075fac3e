//! County administrative codes.
//!
//! A county (县、市、区) is named by its 6-digit administrative division code
//! (for example `610902`). This module knows the shape of a code only; which
//! counties exist is data (the seeds), not code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a text is not a county code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a county code: expected exactly 6 ASCII digits, for example 610902")]
pub struct InvalidCountyCode(pub String);

/// A 6-digit administrative division code.
///
/// ```
/// use landuse_domain::county::CountyCode;
/// let code = CountyCode::parse("610902")?;
/// assert_eq!(code.as_str(), "610902");
/// assert!(CountyCode::parse("61090").is_err());
/// # Ok::<(), landuse_domain::county::InvalidCountyCode>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountyCode([u8; 6]);

impl CountyCode {
    /// Parses a county code: exactly 6 ASCII digits, nothing around them.
    ///
    /// # Errors
    /// [`InvalidCountyCode`] for any other text.
    pub fn parse(text: &str) -> Result<Self, InvalidCountyCode> {
        let bytes: [u8; 6] = text
            .as_bytes()
            .try_into()
            .map_err(|_| InvalidCountyCode(text.to_owned()))?;
        if bytes.iter().all(u8::is_ascii_digit) {
            Ok(Self(bytes))
        } else {
            Err(InvalidCountyCode(text.to_owned()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII digits by construction, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The 4-digit code of the prefecture-level city the county belongs to
    /// (for example `6109` for Ankang).
    pub fn prefecture(&self) -> &str {
        &self.as_str()[..4]
    }
}

impl TryFrom<String> for CountyCode {
    type Error = InvalidCountyCode;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<CountyCode> for String {
    fn from(code: CountyCode) -> Self {
        code.as_str().to_owned()
    }
}

impl FromStr for CountyCode {
    type Err = InvalidCountyCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for CountyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// In the service's OpenAPI document a county code is a string of six digits.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for CountyCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9]{6}$"))
            .description(Some("A county's administrative code"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for CountyCode {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn six_digits_make_a_county_code() {
        let code = CountyCode::parse("610902").unwrap();
        assert_eq!(code.to_string(), "610902");
        assert_eq!(code.prefecture(), "6109");
    }

    #[test]
    fn anything_but_six_ascii_digits_is_refused() {
        for text in [
            "",
            "61090",
            "6109021",
            "61090a",
            " 610902",
            "６１０９０２",
            "61-902",
        ] {
            assert!(CountyCode::parse(text).is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn county_codes_round_trip_through_json_as_strings() {
        let code = CountyCode::parse("610921").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"610921\"");
        assert_eq!(serde_json::from_str::<CountyCode>(&json).unwrap(), code);
        assert!(serde_json::from_str::<CountyCode>("\"6109\"").is_err());
    }
}
