//! The page sizes, from the `settings` table (key `ogc_features`), so each bureau sets its own
//! without a release: `{"default_limit": 100, "max_limit": 10000}`.

use serde::Deserialize;
use sqlx::PgConnection;

use super::{error::OgcError, params::Limits};
use crate::store::admin as store;

/// The settings key.
pub const KEY: &str = "ogc_features";

/// The largest `max_limit` accepted: a page is streamed, but it is still one statement.
pub const MAX_LIMIT_CEILING: i64 = 100_000;

#[derive(Debug, Deserialize)]
struct Stored {
    default_limit: Option<i64>,
    max_limit: Option<i64>,
}

/// Reads the stored value; what is absent takes the default, what is out of range is ignored
/// (and logged), so a typo in the table never takes the service down.
pub fn limits_from(value: Option<serde_json::Value>) -> Limits {
    let defaults = Limits::default();
    let Some(value) = value else {
        return defaults;
    };
    let stored: Stored = match serde_json::from_value(value) {
        Ok(stored) => stored,
        Err(error) => {
            tracing::warn!(%error, key = KEY, "ignoring a malformed setting");
            return defaults;
        }
    };
    let max = stored
        .max_limit
        .filter(|m| (1..=MAX_LIMIT_CEILING).contains(m))
        .unwrap_or(defaults.max);
    let default = stored
        .default_limit
        .filter(|d| *d >= 1)
        .unwrap_or(defaults.default)
        .min(max);
    Limits { default, max }
}

/// The page sizes in force.
///
/// # Errors
/// Database failures.
pub async fn limits(conn: &mut PgConnection) -> Result<Limits, OgcError> {
    Ok(limits_from(store::setting(conn, KEY).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_or_broken_settings_give_the_defaults() {
        assert_eq!(limits_from(None), Limits::default());
        assert_eq!(limits_from(Some(json!("nonsense"))), Limits::default());
    }

    #[test]
    fn a_stored_maximum_applies_and_the_default_never_exceeds_it() {
        assert_eq!(
            limits_from(Some(json!({ "max_limit": 50 }))),
            Limits { default: 50, max: 50 }
        );
        assert_eq!(
            limits_from(Some(json!({ "max_limit": 0, "default_limit": 20 }))),
            Limits {
                default: 20,
                max: 10_000
            }
        );
    }
}
