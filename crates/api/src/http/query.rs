//! Checks of query parameters shared by the list endpoints.

use landuse_domain::county::CountyCode;

use super::error::ApiError;

/// A `county` filter must be a county code (six digits): a filter that can match nothing by
/// its form is a mistake worth a 422, not an empty page.
pub fn county_filter(county: Option<&str>) -> Result<Option<&str>, ApiError> {
    match county {
        None => Ok(None),
        Some(text) => CountyCode::parse(text)
            .map(|_| Some(text))
            .map_err(|e| ApiError::invalid("invalid-parameter", "county", e.to_string())),
    }
}
