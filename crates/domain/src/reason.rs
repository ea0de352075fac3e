//! The reason some decisions must give (a rejection, a correction request, a
//! green-channel grant, a dismissed hit): text that is not blank.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest reason accepted, in characters. Reasons are audit notes, not
/// documents; the limit keeps a pasted file out of the history.
pub const MAX_REASON_CHARS: usize = 2_000;

/// Why a text is not a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    /// Empty or only whitespace.
    #[error("a reason is required and cannot be blank")]
    Blank,
    /// Longer than [`MAX_REASON_CHARS`].
    #[error("a reason can be at most {MAX_REASON_CHARS} characters, got {0}")]
    TooLong(usize),
}

/// A reason: trimmed, not blank, at most [`MAX_REASON_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

impl Reason {
    /// Parses a reason, trimming surrounding whitespace.
    ///
    /// # Errors
    /// [`ReasonError::Blank`] for empty or whitespace-only text,
    /// [`ReasonError::TooLong`] past [`MAX_REASON_CHARS`].
    pub fn parse(text: impl Into<String>) -> Result<Self, ReasonError> {
        let text: String = text.into();
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ReasonError::Blank);
        }
        let chars = trimmed.chars().count();
        if chars > MAX_REASON_CHARS {
            return Err(ReasonError::TooLong(chars));
        }
        if trimmed.len() == text.len() {
            Ok(Self(text))
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }

    /// The reason's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Reason {
    type Error = ReasonError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(text)
    }
}

impl From<Reason> for String {
    fn from(reason: Reason) -> Self {
        reason.0
    }
}

impl AsRef<str> for Reason {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_trimmed() {
        assert_eq!(Reason::parse("  材料不全 \n").unwrap().as_str(), "材料不全");
    }

    #[test]
    fn blank_text_is_not_a_reason() {
        assert_eq!(Reason::parse(""), Err(ReasonError::Blank));
        assert_eq!(Reason::parse(" \t\n"), Err(ReasonError::Blank));
    }

    #[test]
    fn an_overlong_reason_is_refused() {
        let text = "字".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(
            Reason::parse(text),
            Err(ReasonError::TooLong(MAX_REASON_CHARS + 1))
        );
    }

    #[test]
    fn a_blank_reason_does_not_deserialise() {
        assert!(serde_json::from_str::<Reason>("\"  \"").is_err());
    }
}
