//! The review pages' static files, compiled into the binary: OpenLayers as published (checked by
//! `scripts/vendor-ol.sh --check`) and the pages' own script and style. Each set lives under a
//! versioned path (`ol-10.11.0`, `app-<hash of the files>`), so browsers may keep them for a year
//! and a new release is fetched under a new path.

use std::{fmt::Write, sync::Arc};

use axum::{
    extract::Path,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};
use sha2::{Digest, Sha256};

use super::pages::Site;

/// One served file.
pub struct Asset {
    /// Its name in the URL.
    pub name: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
    /// Its media type.
    pub content_type: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// OpenLayers' files, as the npm package has them.
pub const OL: [Asset; 3] = [
    Asset {
        name: "ol.js",
        bytes: include_bytes!("../../assets/ol/ol.js"),
        content_type: JS,
    },
    Asset {
        name: "ol.css",
        bytes: include_bytes!("../../assets/ol/ol.css"),
        content_type: CSS,
    },
    Asset {
        name: "LICENSE.md",
        bytes: include_bytes!("../../assets/ol/LICENSE.md"),
        content_type: "text/markdown; charset=utf-8",
    },
];

/// The pages' own script and style.
pub const APP: [Asset; 3] = [
    Asset {
        name: "review.js",
        bytes: include_bytes!("../../assets/review/review.js"),
        content_type: JS,
    },
    Asset {
        name: "signin.js",
        bytes: include_bytes!("../../assets/review/signin.js"),
        content_type: JS,
    },
    Asset {
        name: "review.css",
        bytes: include_bytes!("../../assets/review/review.css"),
        content_type: CSS,
    },
];

/// The OpenLayers folder: `ol-` and the vendored version.
pub fn ol_version() -> String {
    format!("ol-{}", include_str!("../../assets/ol/VERSION").trim())
}

/// The pages' folder: `app-` and the first 12 hex digits of the files' SHA-256.
pub fn app_version() -> String {
    let mut hasher = Sha256::new();
    for asset in &APP {
        hasher.update(asset.name.as_bytes());
        hasher.update(asset.bytes);
    }
    let digest = hasher.finalize();
    let hex = digest.iter().take(6).fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!("app-{hex}")
}

/// `GET /review/assets/{version}/{file}`: a file of the current version, cached for a year;
/// anything else is 404.
pub async fn serve(
    Extension(site): Extension<Arc<Site>>,
    Path((version, file)): Path<(String, String)>,
) -> Response {
    let set: &[Asset] = if version == site.ol_version {
        &OL
    } else if version == site.app_version {
        &APP
    } else {
        &[]
    };
    match set.iter().find(|a| a.name == file) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
