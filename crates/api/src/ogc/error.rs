//! The errors of the OGC API surface. OGC API – Features requires 400 for an unknown query
//! parameter or an invalid value (the API's own DTO errors are 422), so this wraps the API's
//! error type and adds that one case; both leave as RFC 9457 problem documents.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::{http::error::ApiError, problem::Problem, store::DbError};

/// What an OGC handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum OgcError {
    /// A query parameter the endpoint does not know, given twice, or with a value it cannot
    /// read (400, as `/req/core/query-param-unknown` and `/req/core/query-param-invalid` ask).
    #[error("query parameter {name}: {detail}")]
    Parameter {
        /// The parameter as sent.
        name: String,
        /// What is wrong with it, for a person.
        detail: String,
    },
    /// Anything the API's error type covers: 401, 404, 503, 500.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl OgcError {
    /// A refused query parameter.
    pub fn parameter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Parameter {
            name: name.into(),
            detail: detail.into(),
        }
    }
}

impl From<sqlx::Error> for OgcError {
    fn from(error: sqlx::Error) -> Self {
        Self::Api(ApiError::db("reading features", error))
    }
}

impl From<DbError> for OgcError {
    fn from(error: DbError) -> Self {
        Self::Api(error.into())
    }
}

impl IntoResponse for OgcError {
    fn into_response(self) -> Response {
        match self {
            Self::Parameter { name, detail } => Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-parameter",
                "Invalid query parameter",
            )
            .with_detail(format!("{name}: {detail}"))
            .with("parameter", name)
            .into_response(),
            Self::Api(error) => error.into_response(),
        }
    }
}
