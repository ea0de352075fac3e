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
    request
        .headers()
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
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(rejection.body_text())
            } else {
                ApiError::Invalid {
                    slug: "unreadable-body",
                    detail: rejection.body_text(),
                    field: None,
                }
            }
        })?;
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
    fn broken_json_is_malformed() {
        let e = parse_json::<Dto>(br#"{"name":"#).unwrap_err();
        assert_eq!(slug_and_field(e).0, "malformed-json");
    }
}
