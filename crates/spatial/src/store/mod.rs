//! The PostGIS layer store: import a control layer as a new version (all or nothing), list
//! versions, and check parcels against the current version of every layer.
//!
//! | module | what it does |
//! |---|---|
//! | `import` | a GeoJSON stream in as a new layer version: features in batches, check pieces cut, the version made current, in one transaction |
//! | `layers` | the stored versions, the current ones covering a county, pages of a version's features |
//! | `check` | parcels measured against the current layers in PostGIS, decided by the domain's verdicts |
//!
//! Callers use the items re-exported here (`store::check_footprint`, `store::ImportOptions`);
//! the modules only keep each concern to a file.
//!
//! All SQL of this crate is in these modules (long statements in `sql/*.sql`). Geometry crosses
//! as WKB with SRID 4490 set explicitly; nothing here repairs geometry, because nothing reaches
//! here that the validator refused.

mod check;
mod import;
mod layers;

use serde_json::{Map, Value};

pub use check::{check_footprint, CheckError, CheckHit, CheckReport, LayerReport, ParcelArea, VersionUsed};
pub use import::{
    accept_for, import_geojson_file, import_layer, import_reader, ImportError, ImportOptions, ImportReport,
};
pub use layers::{
    covering_jurisdictions, current_versions, features_page, list_versions, LayerVersion, ReadError,
    StoredFeature,
};

/// Overlaps below this (1 cm²) are floating-point noise of the intersection, not findings.
/// Real slivers are far larger and are listed; the domain's sliver rule decides whether they
/// count.
pub const NOISE_M2: f64 = 1.0e-4;

/// At most this many refusals are kept in a report; the count is always complete.
pub const MAX_LISTED_REFUSALS: usize = 1000;

/// A database error with what was being attempted.
#[derive(Debug, thiserror::Error)]
#[error("{doing}: {source}")]
pub struct DbError {
    /// What was being attempted.
    pub doing: &'static str,
    /// The driver's error.
    #[source]
    pub source: sqlx::Error,
}

fn db(doing: &'static str) -> impl FnOnce(sqlx::Error) -> DbError {
    move |source| DbError { doing, source }
}

/// The land class of a cultivated-land feature, from its `DLBM` attribute (any case).
fn dlbm_attribute(properties: &Map<String, Value>) -> Option<String> {
    properties
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("dlbm"))
        .and_then(|(_, v)| match v {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(format!("{:04}", n.as_u64().unwrap_or_default())),
            _ => None,
        })
}
