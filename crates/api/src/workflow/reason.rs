//! Reasons as a request sends them, held to what the schema says while the body is parsed: a
//! reason too long (or, where one is required, blank) is a 422 naming the field whatever the
//! case's ETag or stage, not a refusal that depends on what the handler happens to check first.
//!
//! The limit is the domain's ([`MAX_REASON_CHARS`]), counted on the text as sent, as JSON
//! Schema's `maxLength` counts it; the domain trims. Fields use these with
//! `#[serde(deserialize_with = ...)]` and state `max_length = 2000` (and `pattern = "\\S"` when
//! required) in their schema.

use landuse_domain::reason::{Reason, ReasonError, MAX_REASON_CHARS};
use serde::{de::Error as _, Deserialize, Deserializer};

// Every reason's schema states `max_length = 2000`: the domain's limit, held here at compile time.
const _: () = assert!(
    MAX_REASON_CHARS == 2000,
    "the reasons' schema max_length must follow the domain"
);

fn within_limit(text: &str) -> Result<(), ReasonError> {
    let chars = text.chars().count();
    if chars > MAX_REASON_CHARS {
        Err(ReasonError::TooLong(chars))
    } else {
        Ok(())
    }
}

/// Reads a reason a request must give (a grant, a dismissal, a designation): not blank, at most
/// 2000 characters as sent, trimmed.
///
/// # Errors
/// A blank or too long reason, as the deserializer's error.
pub fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Reason, D::Error> {
    let text = String::deserialize(deserializer)?;
    within_limit(&text).map_err(D::Error::custom)?;
    Reason::parse(text).map_err(D::Error::custom)
}

/// Reads a reason a request may give (a transition's): at most 2000 characters as sent; whether
/// one is required, and whether blank counts as none, is the transition table's to say.
///
/// # Errors
/// A too long reason, as the deserializer's error.
pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    if let Some(text) = &text {
        within_limit(text).map_err(D::Error::custom)?;
    }
    Ok(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn given(value: Value) -> Result<Reason, serde_json::Error> {
        required(value)
    }

    fn maybe(value: Value) -> Result<Option<String>, serde_json::Error> {
        optional(value)
    }

    #[test]
    fn a_reason_is_counted_as_sent_and_a_required_one_may_not_be_blank() {
        let long = "x".repeat(MAX_REASON_CHARS);
        assert!(maybe(json!(long)).is_ok());
        assert!(
            maybe(json!(format!("{long} "))).is_err(),
            "the limit counts the text as sent"
        );
        assert_eq!(
            maybe(json!("  ")).unwrap().as_deref(),
            Some("  "),
            "blank is the domain's to judge"
        );
        assert_eq!(maybe(Value::Null).unwrap(), None);
        assert!(given(json!("  ")).is_err());
        assert!(given(json!(format!(" {long}"))).is_err());
        assert_eq!(given(json!(" 测绘有误 ")).unwrap().as_str(), "测绘有误");
    }
}
