//! A JSON body extractor whose every rejection is a problem document naming what is wrong
//! and where, and which keeps a digest of the raw body for idempotent replays.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// A parsed JSON request body. DTOs use `#[serde(deny_unknown_fields)]`, so an unknown field is
/// refused with its path rather than ignored.
pub struct JsonBody<T> {
    /// The parsed value.
    pub value: T,
    /// SHA-256 of the raw body, to tell a retried request from a different one.
    pub digest: [u8; 32],
}

/// Whether the request declares a JSON body (`application/json` or any `+json` type).
pub fn is_json(request: &Request) -> bool {
    is_json_type(request.headers())
}

/// Whether `headers` declare a JSON body (`application/json` or any `+json` type).
pub fn is_json_type(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .is_some_and(|mime| mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json"))
}

/// Parses `bytes` as `T`, naming the JSON path of the first error.
///
/// # Errors
/// [`ApiError::Invalid`] with the path and serde's reason.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if let Some(path) = nul_at(&value, "") {
            return Err(ApiError::Invalid {
                slug: "invalid-field",
                detail: format!("{path}: text may not contain the NUL character (\\u0000)"),
                field: Some(path),
            });
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let slug = if inner.is_syntax() || inner.is_eof() {
            "malformed-json"
        } else {
            "invalid-field"
        };
        let pointer = if path == "." { String::new() } else { path };
        ApiError::Invalid {
            slug,
            detail: if pointer.is_empty() {
                inner.to_string()
            } else {
                format!("{pointer}: {inner}")
            },
            field: (!pointer.is_empty()).then_some(pointer),
        }
    })
}

/// Where `value` holds a NUL character, as a path like serde's (`a.b[0]`): PostgreSQL can store none in text or
/// jsonb, so such a body is refused up front instead of failing in the database.
fn nul_at(value: &serde_json::Value, at: &str) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then(|| at.to_owned()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_at(item, &format!("{at}[{i}]"))),
        serde_json::Value::Object(members) => members.iter().find_map(|(key, item)| {
            // The path is shown back in the problem, which holds no NUL either: a key's is
            // written as the JSON escape.
            let nul = key.contains('\0');
            let key = key.replace('\0', "\\u0000");
            let here = if at.is_empty() { key } else { format!("{at}.{key}") };
            if nul {
                Some(here)
            } else {
                nul_at(item, &here)
            }
        }),
        _ => None,
    }
}

/// A body that could not be read: too large (413 before any parsing) or cut off.
pub fn body_rejection(rejection: &axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(rejection.body_text())
    } else {
        ApiError::Invalid {
            slug: "unreadable-body",
            detail: rejection.body_text(),
            field: None,
        }
    }
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&request) {
            return Err(ApiError::Invalid {
                slug: "unsupported-media-type",
                detail: "the body must be JSON, sent with Content-Type: application/json".to_owned(),
                field: None,
            });
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_rejection(&rejection))?;
        let value = parse_json(&bytes)?;
        Ok(Self {
            value,
            digest: Sha256::digest(&bytes).into(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Dto {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn slug_and_field(e: ApiError) -> (&'static str, Option<String>) {
        match e {
            ApiError::Invalid { slug, field, .. } => (slug, field),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_wrong_type_names_its_path() {
        let e = parse_json::<Dto>(br#"{"name":"a","inner":{"count":"x"}}"#).unwrap_err();
        assert_eq!(
            slug_and_field(e),
            ("invalid-field", Some("inner.count".to_owned()))
        );
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let e = parse_json::<Dto>(br#"{"name":"a","inner":{"count":1},"extra":1}"#).unwrap_err();
        assert_eq!(slug_and_field(e).0, "invalid-field");
    }

    #[test]
    fn a_nul_character_is_refused_where_it_is_and_an_escaped_backslash_is_not() {
        let e = parse_json::<serde_json::Value>(br#"{"name":"a","inner":{"list":["ok","b\u0000"]}}"#)
            .unwrap_err();
        assert_eq!(
            slug_and_field(e),
            ("invalid-field", Some("inner.list[1]".to_owned()))
        );
        let e = parse_json::<serde_json::Value>(br#"{"k\u0000":1}"#).unwrap_err();
        assert_eq!(slug_and_field(e).1.as_deref(), Some("k\\u0000"), "shown escaped");
        let text: serde_json::Value = parse_json(br#"{"name":"\\u0000","\\u0000":1}"#).unwrap();
        assert_eq!(text["name"], "\\u0000");
    }

    #[test]
    fn broken_json_is_malformed() {
        let e = parse_json::<Dto>(br#"{"name":"#).unwrap_err();
        assert_eq!(slug_and_field(e).0, "malformed-json");
    }
}
