//! RFC 9457 problem details: the one shape every error of the API takes.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Map, Value};

/// The media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Where problem types are documented; a type is this base plus a stable slug.
pub const TYPE_BASE: &str = "https://landuse.invalid/problems/";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, stable summary of the kind.
    pub title: String,
    /// The HTTP status code.
    #[schema(value_type = u16)]
    #[serde(serialize_with = "serialize_status")]
    pub status: StatusCode,
    /// What went wrong this time, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Further members (field paths, rule names, trace ids).
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
    /// Seconds after which a retry may succeed (sent as `Retry-After`).
    #[serde(skip)]
    pub retry_after_s: Option<u64>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's serialize_with passes a reference
fn serialize_status<S: serde::Serializer>(status: &StatusCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.as_u16())
}

impl Problem {
    /// A problem of kind `slug` (appended to [`TYPE_BASE`]) with its title and status.
    pub fn new(status: StatusCode, slug: &str, title: impl Into<String>) -> Self {
        Self {
            kind: format!("{TYPE_BASE}{slug}"),
            title: title.into(),
            status,
            detail: None,
            extensions: Map::new(),
            retry_after_s: None,
        }
    }

    /// Adds the detail sentence. A NUL character a refusal quotes from the request (a path
    /// segment, a query value) is written as its JSON escape: the document promises text without
    /// one.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(without_nul(detail.into()));
        self
    }

    /// Adds an extension member; a text one without NUL, as the detail.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        let value = match value.into() {
            Value::String(text) => Value::String(without_nul(text)),
            other => other,
        };
        self.extensions.insert(key.to_owned(), value);
        self
    }

    /// Asks the client to retry after `seconds`.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }
}

fn without_nul(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\\u0000")
    } else {
        text
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry_after = self.retry_after_s;
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_nul_is_written_as_its_escape() {
        let problem = Problem::new(StatusCode::BAD_REQUEST, "bad", "Bad")
            .with_detail("cannot parse `a\0b`")
            .with("field", "k\0")
            .with("count", 2);
        assert_eq!(problem.detail.as_deref(), Some("cannot parse `a\\u0000b`"));
        assert_eq!(problem.extensions["field"], "k\\u0000");
        assert_eq!(problem.extensions["count"], 2);
    }
}
