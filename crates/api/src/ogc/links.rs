//! Absolute links. OGC clients follow `href`s verbatim (GDAL and QGIS page through `next`), so
//! every link carries the address the client used: scheme, host and path prefix come from
//! `Forwarded` / `X-Forwarded-*` when a reverse proxy sets them, else from `Host`.

use std::{convert::Infallible, fmt::Write as _};

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap},
};
use serde::Serialize;

use super::MOUNT;

/// The service's address as the client sees it, without a trailing slash
/// (`https://gis.example.cn/landuse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalBase(String);

/// Header values that may go into a link: a host (name, IPv4, `[IPv6]`, port) and nothing else,
/// so a forged header can never inject markup or a second URL.
fn clean_host(value: &str) -> Option<&str> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_'));
    ok.then_some(value)
}

fn clean_proto(value: &str) -> Option<&'static str> {
    match value.trim().to_ascii_lowercase().as_str() {
        "http" => Some("http"),
        "https" => Some("https"),
        _ => None,
    }
}

/// A path prefix a proxy mounts the service under (`/landuse`): segments of unreserved
/// characters only.
fn clean_prefix(value: &str) -> Option<String> {
    let trimmed = value.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Some(String::new());
    }
    let ok = trimmed.starts_with('/')
        && trimmed.len() <= 200
        && !trimmed.split('/').any(|s| s == "..")
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~'));
    ok.then(|| trimmed.to_owned())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The first element of an RFC 7239 `Forwarded` header, as (proto, host).
fn forwarded(headers: &HeaderMap) -> (Option<&'static str>, Option<String>) {
    let Some(first) = header(headers, "forwarded").and_then(|v| v.split(',').next()) else {
        return (None, None);
    };
    let mut proto = None;
    let mut host = None;
    for pair in first.split(';') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            "proto" => proto = clean_proto(value),
            "host" => host = clean_host(value).map(ToOwned::to_owned),
            _ => {}
        }
    }
    (proto, host)
}

impl ExternalBase {
    /// Works out the external address from the request headers.
    ///
    /// ```
    /// use axum::http::HeaderMap;
    /// use landuse_api::ogc::links::ExternalBase;
    /// let mut h = HeaderMap::new();
    /// h.insert("host", "10.0.0.5:8080".parse().unwrap());
    /// h.insert("x-forwarded-proto", "https".parse().unwrap());
    /// h.insert("x-forwarded-host", "gis.example.cn".parse().unwrap());
    /// h.insert("x-forwarded-prefix", "/landuse/".parse().unwrap());
    /// assert_eq!(ExternalBase::from_headers(&h).as_str(), "https://gis.example.cn/landuse");
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let (fwd_proto, fwd_host) = forwarded(headers);
        let proto = fwd_proto
            .or_else(|| {
                header(headers, "x-forwarded-proto")
                    .and_then(|v| v.split(',').next())
                    .and_then(clean_proto)
            })
            .unwrap_or("http");
        let host = fwd_host
            .or_else(|| {
                header(headers, "x-forwarded-host")
                    .and_then(|v| v.split(',').next())
                    .and_then(clean_host)
                    .map(ToOwned::to_owned)
            })
            .or_else(|| {
                header(headers, header::HOST.as_str())
                    .and_then(clean_host)
                    .map(ToOwned::to_owned)
            })
            .unwrap_or_else(|| "localhost".to_owned());
        let prefix = header(headers, "x-forwarded-prefix")
            .and_then(clean_prefix)
            .unwrap_or_default();
        Self(format!("{proto}://{host}{prefix}"))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The absolute URL of a path of the OGC API (`/collections` → `…/ogc/collections`).
    pub fn ogc(&self, path: &str) -> String {
        format!("{}{MOUNT}{path}", self.0)
    }

    /// The absolute URL of a path elsewhere in the service (`/api/v1/…`).
    pub fn service(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ExternalBase {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

/// One link of an OGC document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// Absolute URL.
    pub href: String,
    /// Relation (`self`, `next`, `items`, an OGC relation URI, …).
    pub rel: String,
    /// Media type of the target.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// What it leads to, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Link {
    /// A link with a media type and a title.
    pub fn new(href: impl Into<String>, rel: &str, media_type: &str, title: &str) -> Self {
        Self {
            href: href.into(),
            rel: rel.to_owned(),
            media_type: Some(media_type.to_owned()),
            title: Some(title.to_owned()),
        }
    }
}

/// Percent-encodes a query component: everything but RFC 3986's unreserved characters.
///
/// ```
/// use landuse_api::ogc::links::encode_component;
/// assert_eq!(encode_component("108.9,32.6"), "108.9%2C32.6");
/// assert_eq!(encode_component("名称 a"), "%E5%90%8D%E7%A7%B0%20a");
/// ```
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A query string (`?a=1&b=2`, or empty) from decoded pairs.
pub fn query_string(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let joined: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    format!("?{}", joined.join("&"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_host_header_gives_a_plain_http_base() {
        let base = ExternalBase::from_headers(&headers(&[("host", "127.0.0.1:8080")]));
        assert_eq!(base.ogc("/collections"), "http://127.0.0.1:8080/ogc/collections");
    }

    #[test]
    fn a_forwarded_header_wins_over_x_forwarded_and_host() {
        let base = ExternalBase::from_headers(&headers(&[
            ("host", "internal:8080"),
            ("x-forwarded-host", "other.example"),
            (
                "forwarded",
                "for=1.2.3.4;proto=https;host=\"gis.example.cn\", for=5.6.7.8",
            ),
        ]));
        assert_eq!(base.as_str(), "https://gis.example.cn");
    }

    #[test]
    fn forged_hosts_and_prefixes_are_ignored() {
        let base = ExternalBase::from_headers(&headers(&[
            ("host", "good.example"),
            ("x-forwarded-host", "evil.example/\"><script>"),
            ("x-forwarded-prefix", "/../etc"),
            ("x-forwarded-proto", "javascript"),
        ]));
        assert_eq!(base.as_str(), "http://good.example");
    }

    #[test]
    fn query_strings_are_encoded_and_empty_without_pairs() {
        assert_eq!(query_string(&[]), "");
        assert_eq!(
            query_string(&[
                ("bbox".to_owned(), "1,2,3,4".to_owned()),
                ("DLBM".to_owned(), "0101".to_owned())
            ]),
            "?bbox=1%2C2%2C3%2C4&DLBM=0101"
        );
    }
}
