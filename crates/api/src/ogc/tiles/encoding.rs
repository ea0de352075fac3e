//! A tile as it leaves: gzip-compressed when the client accepts it, a strong ETag per
//! representation (the uncompressed and the compressed bytes differ, so their tags differ too),
//! 304 when the client already holds it, 204 when the tile has no features.

use std::io::{Read, Write};

use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use sha2::{Digest, Sha256};

use crate::{http::error::ApiError, store::tiles::KeptTile};

/// The media type of a Mapbox Vector Tile (OGC API – Tiles, the `mvt` conformance class).
pub const MVT: &str = "application/vnd.mapbox-vector-tile";

/// A tile's bytes, compressed or not, and the ETag of its uncompressed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTile {
    bytes: Vec<u8>,
    gzipped: bool,
    etag: String,
}

/// The tag of a tile's uncompressed bytes: the first 128 bits of their SHA-256, in hex.
fn digest(mvt: &[u8]) -> String {
    Sha256::digest(mvt)
        .iter()
        .take(16)
        .fold(String::with_capacity(32), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

impl EncodedTile {
    /// A tile as drawn, uncompressed.
    pub fn drawn(mvt: Vec<u8>) -> Self {
        Self {
            etag: digest(&mvt),
            bytes: mvt,
            gzipped: false,
        }
    }

    /// A kept tile (gzip-compressed, or empty).
    pub fn kept(kept: KeptTile) -> Self {
        Self {
            bytes: kept.tile,
            gzipped: true,
            etag: kept.etag,
        }
    }

    /// Compresses a drawn tile for keeping; an empty tile stays empty.
    ///
    /// # Errors
    /// When the compressor fails (it writes to memory, so only on allocation failure).
    pub fn for_keeping(mvt: &[u8]) -> std::io::Result<KeptTile> {
        let tile = if mvt.is_empty() {
            Vec::new()
        } else {
            gzip(mvt, Compression::default())?
        };
        Ok(KeptTile {
            tile,
            etag: digest(mvt),
        })
    }

    /// Whether the tile has no features.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The ETag of the representation, quoted: the uncompressed bytes' tag, with `-gz` for the
    /// compressed ones.
    fn representation_tag(&self, gzipped: bool) -> String {
        if gzipped {
            format!("\"{}-gz\"", self.etag)
        } else {
            format!("\"{}\"", self.etag)
        }
    }

    /// The answer to a request with `wanted`: 204 for an empty tile, 304 when `If-None-Match`
    /// names the representation chosen, else 200 with the tile (compressed when the client
    /// accepts gzip). Compression and decompression run off the async threads.
    ///
    /// # Errors
    /// When (de)compression fails.
    pub async fn respond(self, wanted: &Wanted, cache: CachePolicy) -> Result<Response, ApiError> {
        let common = [
            (header::CACHE_CONTROL, HeaderValue::from_static(cache.header())),
            (
                header::VARY,
                HeaderValue::from_static("Accept-Encoding, Authorization"),
            ),
        ];
        if self.is_empty() {
            return Ok((StatusCode::NO_CONTENT, common).into_response());
        }
        let tag = self.representation_tag(wanted.gzip);
        let etag = HeaderValue::from_str(&tag).map_err(|e| ApiError::internal("writing an ETag", e))?;
        if wanted.has(&tag) {
            return Ok((StatusCode::NOT_MODIFIED, common, [(header::ETAG, etag)]).into_response());
        }
        let bytes = match (self.gzipped, wanted.gzip) {
            (true, true) | (false, false) => self.bytes,
            (false, true) => off_thread(move || gzip(&self.bytes, Compression::fast())).await?,
            (true, false) => off_thread(move || gunzip(&self.bytes)).await?,
        };
        let mut response = (
            StatusCode::OK,
            common,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(MVT)),
                (header::ETAG, etag),
            ],
            bytes,
        )
            .into_response();
        if wanted.gzip {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Ok(response)
    }
}

async fn off_thread(
    work: impl FnOnce() -> std::io::Result<Vec<u8>> + Send + 'static,
) -> Result<Vec<u8>, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal("compressing a tile", e))?
        .map_err(|e| ApiError::internal("compressing a tile", e))
}

fn gzip(bytes: &[u8], level: Compression) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 2), level);
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() * 3);
    GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// How long clients may reuse a tile without asking again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePolicy {
    /// Ask every time (with `If-None-Match`): the current version of a layer, parcels, overlaps.
    Revalidate,
    /// One layer version's tiles, which never change.
    Immutable,
}

impl CachePolicy {
    fn header(self) -> &'static str {
        match self {
            // private: the answer depends on who asks (parcels), and needs a token anyway.
            Self::Revalidate => "private, no-cache",
            Self::Immutable => "private, max-age=86400, immutable",
        }
    }
}

/// What the request asks of the representation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// The client accepts `Content-Encoding: gzip`.
    pub gzip: bool,
    /// The entity tags of `If-None-Match` (`*` included as is), without `W/`.
    pub if_none_match: Vec<String>,
}

impl Wanted {
    /// Reads `Accept-Encoding` (gzip, x-gzip or `*` with a q-value above 0) and `If-None-Match`.
    ///
    /// ```
    /// use axum::http::HeaderMap;
    /// use landuse_api::ogc::tiles::encoding::Wanted;
    /// let mut h = HeaderMap::new();
    /// h.insert("accept-encoding", "br;q=1.0, gzip;q=0.5".parse().unwrap());
    /// h.insert("if-none-match", "W/\"ab\", \"cd-gz\"".parse().unwrap());
    /// let wanted = Wanted::from_headers(&h);
    /// assert!(wanted.gzip);
    /// assert_eq!(wanted.if_none_match, ["\"ab\"", "\"cd-gz\""]);
    /// h.insert("accept-encoding", "gzip;q=0, identity".parse().unwrap());
    /// assert!(!Wanted::from_headers(&h).gzip);
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let values = |name: header::HeaderName| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(ToOwned::to_owned)
                .collect::<Vec<String>>()
        };
        let gzip = values(header::ACCEPT_ENCODING).iter().any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            matches!(name.as_str(), "gzip" | "x-gzip" | "*") && !refused
        });
        let if_none_match = values(header::IF_NONE_MATCH)
            .into_iter()
            .map(|tag| tag.strip_prefix("W/").map(ToOwned::to_owned).unwrap_or(tag))
            .collect();
        Self { gzip, if_none_match }
    }

    /// Whether `If-None-Match` names `tag` (weak comparison, as RFC 9110 has it for this
    /// header) or is `*`.
    fn has(&self, tag: &str) -> bool {
        self.if_none_match.iter().any(|t| t == "*" || t == tag)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_kept_tile_unpacks_to_the_drawn_bytes_with_the_same_tag() {
        let mvt: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8).collect();
        let kept = EncodedTile::for_keeping(&mvt).unwrap();
        assert!(kept.tile.len() < mvt.len() / 4, "it is compressed");
        assert_eq!(gunzip(&kept.tile).unwrap(), mvt);
        assert_eq!(kept.etag, EncodedTile::drawn(mvt).etag);
        assert!(EncodedTile::for_keeping(&[]).unwrap().tile.is_empty());
    }

    #[test]
    fn each_representation_has_its_own_strong_tag() {
        let tile = EncodedTile::drawn(vec![1, 2, 3]);
        let plain = tile.representation_tag(false);
        let packed = tile.representation_tag(true);
        assert_ne!(plain, packed);
        assert!(plain.starts_with('"') && !plain.starts_with("W/"));
        assert_eq!(plain.len(), 34);
    }
}
