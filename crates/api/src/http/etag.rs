//! Optimistic concurrency: every versioned resource answers with an `ETag`, and a change must
//! name the version it was made against in `If-Match`.

use axum::http::{HeaderMap, HeaderValue};

use super::error::ApiError;

/// The strong ETag of version `version` of a resource.
pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// The ETag as a header value.
pub fn etag_header(version: i64) -> HeaderValue {
    HeaderValue::from_str(&etag(version)).unwrap_or_else(|_| HeaderValue::from_static("\"v0\""))
}

/// Checks `If-Match` against the current version.
///
/// # Errors
/// [`ApiError::PreconditionRequired`] (428) without the header, [`ApiError::PreconditionFailed`]
/// (412) when it names no current version.
pub fn require_if_match(headers: &HeaderMap, current_version: i64) -> Result<(), ApiError> {
    let current = etag(current_version);
    let value = headers
        .get(axum::http::header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?
        .to_str()
        .map_err(|_| ApiError::PreconditionFailed {
            current: current.clone(),
        })?;
    let matches = value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current || tag.strip_prefix("W/") == Some(current.as_str()));
    if matches {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed { current })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::IF_MATCH,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn the_current_etag_matches_and_an_old_one_does_not() {
        assert!(require_if_match(&with("\"v3\""), 3).is_ok());
        assert!(require_if_match(&with("W/\"v3\", \"v9\""), 3).is_ok());
        assert!(matches!(
            require_if_match(&with("\"v2\""), 3),
            Err(ApiError::PreconditionFailed { .. })
        ));
        assert!(matches!(
            require_if_match(&HeaderMap::new(), 3),
            Err(ApiError::PreconditionRequired)
        ));
    }
}
