//! Whole numbers as JSON Schema counts them: `2026` and `2026.0` are the same integer there (a
//! number whose fraction is zero), and a client generated from the document may send either.
//! Serde alone refuses the second for an `i32`, which made the service stricter than its own
//! document. Fields use these with `#[serde(deserialize_with = ...)]`; [`Integral`] is the
//! value for types that parse through it (the quota year).

use std::fmt;

use serde::{
    de::{self, Visitor},
    Deserialize, Deserializer,
};

/// An `i32` read from an integer or a float with no fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integral(pub i32);

struct WholeNumber;

impl Visitor<'_> for WholeNumber {
    type Value = i32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i32, E> {
        let range = f64::from(i32::MIN)..=f64::from(i32::MAX);
        if v.fract() == 0.0 && range.contains(&v) {
            // Exact: a whole number within the range of i32.
            #[allow(clippy::cast_possible_truncation)]
            Ok(v as i32)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
}

impl<'de> Deserialize<'de> for Integral {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_i32(WholeNumber).map(Integral)
    }
}

/// Reads an `i32` field that may be sent as `2026` or `2026.0`.
///
/// # Errors
/// Anything that is not a whole number within `i32`.
pub fn whole<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    Integral::deserialize(deserializer).map(|n| n.0)
}

/// [`whole`] for an optional field.
///
/// # Errors
/// Anything but null or a whole number within `i32`.
pub fn whole_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    Option::<Integral>::deserialize(deserializer).map(|n| n.map(|n| n.0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "whole")]
        year: i32,
        #[serde(default, deserialize_with = "whole_opt")]
        list_year: Option<i32>,
    }

    #[test]
    fn an_integer_with_a_zero_fraction_is_the_integer_and_a_fraction_is_refused() {
        let b: Body = serde_json::from_str(r#"{"year": 2026.0, "list_year": 2027}"#).unwrap();
        assert_eq!((b.year, b.list_year), (2026, Some(2027)));
        let b: Body = serde_json::from_str(r#"{"year": 2026, "list_year": null}"#).unwrap();
        assert_eq!((b.year, b.list_year), (2026, None));
        assert!(serde_json::from_str::<Body>(r#"{"year": 2026.5}"#).is_err());
        assert!(serde_json::from_str::<Body>(r#"{"year": 3e10}"#).is_err());
        assert!(
            serde_json::from_str::<Body>(r#"{"year": "2026"}"#).is_err(),
            "text is not a number"
        );
    }
}
