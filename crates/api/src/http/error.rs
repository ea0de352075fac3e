//! The one error type of the HTTP API, and how each domain refusal maps to a status.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use landuse_domain::{
    green::AdvanceUseError,
    transition::{Refusal, TransitionError},
    units::SquareMetres,
};
use serde_json::json;

use crate::problem::Problem;

/// Everything a handler can fail with. Each variant becomes an RFC 9457 problem document.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid credentials.
    #[error("authentication required")]
    Unauthenticated,
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there, or nothing the caller may see (never say which).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A field of the request is wrong.
    #[error("{detail}")]
    Invalid {
        /// A stable slug for the problem type.
        slug: &'static str,
        /// What is wrong, for a person.
        detail: String,
        /// Where in the request (a JSON pointer or a parameter name), when known.
        field: Option<String>,
    },
    /// The request conflicts with the current state.
    #[error("{detail}")]
    Conflict {
        /// A stable slug for the problem type.
        slug: &'static str,
        /// What conflicts.
        detail: String,
        /// Further members of the problem, for a client to act on (the other case, the area).
        members: Vec<(&'static str, serde_json::Value)>,
    },
    /// The domain refused a transition.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The domain refused a request for advance use (422).
    #[error(transparent)]
    AdvanceUse(#[from] AdvanceUseError),
    /// `If-Match` names an older version.
    #[error("the resource changed since it was read (current ETag {current})")]
    PreconditionFailed {
        /// The current ETag, so the client can re-read.
        current: String,
    },
    /// A state-changing request came without `If-Match`.
    #[error("this request needs an If-Match header with the ETag last read")]
    PreconditionRequired,
    /// The token made more requests than its rate window allows.
    #[error("too many requests: retry after {retry_after_s} s")]
    TooManyRequests {
        /// Seconds until the window ends.
        retry_after_s: u64,
    },
    /// Too big: body, vertex count.
    #[error("{0}")]
    TooLarge(String),
    /// The database is overloaded or away; the client may retry.
    #[error("the database is not available")]
    Unavailable(#[source] sqlx::Error),
    /// A replica cancelled the read because replaying the primary's WAL needed what the read
    /// held (a recovery conflict); the router retries the read once on another node.
    #[error("a replica cancelled the read for a recovery conflict")]
    RecoveryConflict(#[source] sqlx::Error),
    /// Anything else: logged with the request id, opaque to the client.
    #[error("internal error while {doing}")]
    Internal {
        /// What was being attempted.
        doing: &'static str,
        /// The cause, logged, never sent.
        #[source]
        source: anyhow::Error,
    },
}

impl ApiError {
    /// An invalid field.
    pub fn invalid(slug: &'static str, field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid {
            slug,
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    /// 422 `slug` naming `field` when `value` is longer than `max` characters; nothing when it
    /// is absent or short enough.
    ///
    /// # Errors
    /// As above.
    pub fn check_length(
        slug: &'static str,
        field: &str,
        value: Option<&str>,
        max: usize,
    ) -> Result<(), Self> {
        match value {
            Some(text) if text.chars().count() > max => Err(Self::invalid(
                slug,
                field,
                format!("{field} is longer than {max} characters"),
            )),
            _ => Ok(()),
        }
    }

    /// A conflict with the current state.
    pub fn conflict(slug: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            slug,
            detail: detail.into(),
            members: Vec::new(),
        }
    }

    /// A conflict with the current state, with further members of the problem.
    pub fn conflict_with(
        slug: &'static str,
        detail: impl Into<String>,
        members: Vec<(&'static str, serde_json::Value)>,
    ) -> Self {
        Self::Conflict {
            slug,
            detail: detail.into(),
            members,
        }
    }

    /// Wraps an unexpected failure with what was being attempted.
    pub fn internal(doing: &'static str, source: impl Into<anyhow::Error>) -> Self {
        Self::Internal {
            doing,
            source: source.into(),
        }
    }

    /// Maps a database error met while `doing` something: connection trouble is 503,
    /// named constraints the schema uses for rules become 409, the rest 500.
    pub fn db(doing: &'static str, error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(error),
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections,
                // and query_canceled (statement_timeout)
                Some("57P01" | "57P02" | "57P03" | "53300" | "57014") => Self::Unavailable(error),
                Some("40001" | "57P04") if is_recovery_conflict(db.message()) => {
                    Self::RecoveryConflict(error)
                }
                Some("40001" | "40P01") => Self::conflict(
                    "concurrent-update",
                    "another request changed the same data at the same moment; retry",
                ),
                _ => Self::internal(doing, error),
            },
            _ => Self::internal(doing, error),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid { .. } | Self::AdvanceUse(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Transition(e) => match e.refusal() {
                Refusal::Forbidden => StatusCode::FORBIDDEN,
                Refusal::Conflict => StatusCode::CONFLICT,
                Refusal::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            },
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::RecoveryConflict(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Whether PostgreSQL's message says a standby cancelled the statement or ended the session
/// for a recovery conflict ("canceling statement due to conflict with recovery"); the same
/// SQLSTATE 40001 is also a serialization failure on the primary, which is not one.
pub fn is_recovery_conflict(message: &str) -> bool {
    message.contains("conflict with recovery")
}

/// Set on the answer of a read a replica cancelled for a recovery conflict, so the router's
/// retry layer knows to read once more on another node.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryConflict;

impl From<crate::store::DbError> for ApiError {
    fn from(error: crate::store::DbError) -> Self {
        Self::db(error.doing, error.source)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::db("querying the database", error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let problem = match &self {
            Self::Unauthenticated => {
                let mut response = Problem::new(status, "unauthenticated", "Authentication required")
                    .with_detail("send a bearer token, or HTTP Basic with the token as the password")
                    .into_response();
                response.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer realm=\"landuse\", Basic realm=\"landuse\""),
                );
                return response;
            }
            Self::Forbidden(detail) => {
                Problem::new(status, "forbidden", "Forbidden").with_detail(detail.clone())
            }
            Self::NotFound(what) => {
                Problem::new(status, "not-found", "Not found").with_detail(format!("no such {what}"))
            }
            Self::Invalid { slug, detail, field } => {
                let mut p = Problem::new(status, slug, "Invalid request").with_detail(detail.clone());
                if let Some(field) = field {
                    p = p.with("field", field.clone());
                }
                p
            }
            Self::Conflict {
                slug,
                detail,
                members,
            } => members.iter().fold(
                Problem::new(status, slug, "Conflict").with_detail(detail.clone()),
                |p, (key, value)| p.with(key, value.clone()),
            ),
            Self::Transition(e) => {
                let p = Problem::new(status, e.code(), "Transition refused")
                    .with_detail(e.to_string())
                    .with("rule", e.code());
                match e {
                    // Which record is missing for which hit, for a client to act on.
                    TransitionError::ApprovalMissing { missing } => match serde_json::to_value(missing) {
                        Ok(missing) => p.with("missing", missing),
                        Err(_) => p,
                    },
                    // Which advance-use request is not covered, and by how much.
                    TransitionError::AdvanceUseUncovered { uncovered } => p.with(
                        "uncovered",
                        uncovered
                            .iter()
                            .map(|u| {
                                json!({
                                    "request_id": u.request_id,
                                    "uncovered_m2": round_m2(u.uncovered),
                                    "uncovered_mu": u.uncovered.mu_rounded(),
                                })
                            })
                            .collect::<Vec<_>>(),
                    ),
                    _ => p,
                }
            }
            Self::AdvanceUse(e) => advance_use_problem(status, e),
            Self::PreconditionFailed { current } => Problem::new(status, "stale-etag", "Precondition failed")
                .with_detail(self.to_string())
                .with("current_etag", current.clone()),
            Self::PreconditionRequired => Problem::new(status, "if-match-required", "Precondition required")
                .with_detail(self.to_string()),
            Self::TooManyRequests { retry_after_s } => {
                Problem::new(status, "rate-limited", "Too many requests")
                    .with_detail(format!(
                        "this token has used its requests for the current window; retry in {retry_after_s} s"
                    ))
                    .retry_after(*retry_after_s)
            }
            Self::TooLarge(detail) => {
                Problem::new(status, "too-large", "Too large").with_detail(detail.clone())
            }
            Self::Unavailable(source) => {
                tracing::warn!(error = %source, "database unavailable");
                Problem::new(status, "unavailable", "Service unavailable")
                    .with_detail("the database is not available right now; retry shortly")
                    .retry_after(2)
            }
            Self::RecoveryConflict(source) => {
                tracing::warn!(error = %source, "a replica cancelled a read");
                let mut response = Problem::new(status, "recovery-conflict", "Service unavailable")
                    .with_detail("a replica cancelled the read while replaying the primary's changes; retry")
                    .retry_after(1)
                    .into_response();
                response.extensions_mut().insert(RecoveryConflict);
                return response;
            }
            Self::Internal { doing, source } => {
                // Logged once here, inside the request span that carries the request id; the
                // middleware adds that id to the opaque body as trace_id.
                tracing::error!(doing, error = ?source, "internal error");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        problem.into_response()
    }
}

/// An area in m² as answers state it: to the hundredth, the precision areas are compared at.
pub fn round_m2(area: SquareMetres) -> f64 {
    (area.value() * 100.0).round() / 100.0
}

/// A refused request for advance use; over the share, with the project's figures in m² and mu.
fn advance_use_problem(status: StatusCode, e: &AdvanceUseError) -> Problem {
    let p = Problem::new(status, e.code(), "Advance use refused").with_detail(e.to_string());
    match e {
        AdvanceUseError::AreaOverShare {
            requested,
            used,
            with_request,
            allowed,
            max_share_percent,
        } => [
            ("requested", *requested),
            ("used", *used),
            ("with_request", *with_request),
            ("allowed", *allowed),
            ("remaining", e.remaining()),
        ]
        .into_iter()
        .fold(
            p.with("max_share_percent", *max_share_percent),
            |p, (name, area)| {
                p.with(&format!("{name}_m2"), round_m2(area))
                    .with(&format!("{name}_mu"), area.mu_rounded())
            },
        ),
        _ => p,
    }
}
