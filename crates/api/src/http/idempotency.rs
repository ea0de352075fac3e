//! `Idempotency-Key`: a retried `POST` returns the first response and does not act twice.
//!
//! The key's row is written in the same transaction as the effect, so the two commit together
//! or not at all: a crash between them can neither lose the record of an effect nor leave a
//! record without its effect. Two requests racing with one key both run, but the second's
//! insert waits on the first's uncommitted row, fails on the primary key once it commits, rolls
//! its own work back and replays the first's response.

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, HeaderName, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};

use super::error::ApiError;
use crate::{
    auth::Caller,
    store::{
        idempotency::{self as store, NewStoredResponse, StoredResponse},
        Doing,
    },
};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on a replayed response.
pub const REPLAYED: &str = "idempotent-replayed";
/// The digest of a request without a body: method and path alone tell such requests apart.
pub const NO_BODY: [u8; 32] = [0; 32];

/// The `Idempotency-Key` of a request, if it sent one, with what it was sent to.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    key: Option<String>,
    method: Method,
    path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let key = match parts.headers.get(HEADER) {
            None => None,
            Some(value) => {
                let text = value.to_str().map_err(|_| {
                    ApiError::invalid(
                        "invalid-idempotency-key",
                        "Idempotency-Key",
                        "the key must be visible ASCII",
                    )
                })?;
                // As the document's pattern says: 1 to 255 visible ASCII characters, no spaces.
                if text.is_empty() || text.len() > 255 || !text.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(ApiError::invalid(
                        "invalid-idempotency-key",
                        "Idempotency-Key",
                        "the key must be 1 to 255 characters",
                    ));
                }
                Some(text.to_owned())
            }
        };
        Ok(Self {
            key,
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
        })
    }
}

/// A response a write handler produced, before it is stored and sent.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status to send.
    pub status: StatusCode,
    /// Extra headers (ETag, Location).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// JSON body.
    pub body: Value,
}

impl Reply {
    /// A reply with a status and body.
    pub fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// A reply whose body is `answer`, serialized as the typed answer the OpenAPI document
    /// describes.
    ///
    /// # Errors
    /// An answer that cannot be serialized (a bug), as 500.
    pub fn json(status: StatusCode, answer: &impl serde::Serialize) -> Result<Self, ApiError> {
        let body = serde_json::to_value(answer).map_err(|e| ApiError::internal("writing the answer", e))?;
        Ok(Self::new(status, body))
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl IdempotencyKey {
    /// When this key was used before by the same caller: the stored response (same request),
    /// or 422 (a different request under the same key). `None` when the request must run.
    ///
    /// # Errors
    /// Key reuse with another request, database failures.
    pub async fn replay(
        &self,
        db: &PgPool,
        caller: &Caller,
        digest: &[u8],
    ) -> Result<Option<Response>, ApiError> {
        let Some(key) = &self.key else { return Ok(None) };
        let mut conn = db.acquire().await.doing("looking up the idempotency key")?;
        let stored = store::stored_response(&mut conn, caller.user_id, key).await?;
        stored.map(|stored| self.replay_of(stored, digest)).transpose()
    }

    /// The stored response, sent again, when it answered this same request.
    fn replay_of(&self, stored: StoredResponse, digest: &[u8]) -> Result<Response, ApiError> {
        if stored.request_hash != digest || stored.method != self.method.as_str() || stored.path != self.path
        {
            return Err(ApiError::invalid(
                "idempotency-key-reused",
                "Idempotency-Key",
                "this key was already used for a different request; use a new key",
            ));
        }
        let status = stored
            .status
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        let mut response = (status, stored.body.unwrap_or_default()).into_response();
        let h = response.headers_mut();
        h.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(Value::Object(headers)) = stored.headers {
            for (name, value) in headers {
                if let (Ok(name), Some(Ok(value))) = (
                    HeaderName::try_from(name.as_str()),
                    value.as_str().map(HeaderValue::from_str),
                ) {
                    h.insert(name, value);
                }
            }
        }
        h.insert(
            HeaderName::from_static(REPLAYED),
            HeaderValue::from_static("true"),
        );
        Ok(response)
    }

    /// Stores the reply under the key in the effect's transaction, commits, and answers. When a
    /// concurrent request with the same key committed first, this one's work is rolled back
    /// and that request's response is replayed.
    ///
    /// # Errors
    /// Database failures; key reuse with a different request.
    pub async fn finish(
        &self,
        mut tx: Transaction<'_, Postgres>,
        db: &PgPool,
        caller: &Caller,
        digest: &[u8],
        reply: Reply,
    ) -> Result<Response, ApiError> {
        let Some(key) = &self.key else {
            tx.commit().await.doing("committing")?;
            return Ok(reply.into_response());
        };
        let body =
            serde_json::to_vec(&reply.body).map_err(|e| ApiError::internal("storing the response", e))?;
        let headers: serde_json::Map<String, Value> = reply
            .headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), Value::String(v.to_str().ok()?.to_owned()))))
            .collect();
        let response = NewStoredResponse {
            user_id: caller.user_id,
            key,
            method: self.method.as_str(),
            path: &self.path,
            request_hash: digest,
            status: i32::from(reply.status.as_u16()),
            headers: Value::Object(headers),
            body,
        };
        let stored = store::store_response(&mut tx, &response).await;
        match stored {
            Ok(()) => {
                tx.commit().await.doing("committing")?;
                Ok(reply.into_response())
            }
            // A concurrent request with this key committed first.
            Err(e) if e.sqlstate().as_deref() == Some("23505") => {
                drop(tx);
                self.replay(db, caller, digest).await?.ok_or_else(|| {
                    ApiError::internal(
                        "replaying a raced idempotency key",
                        anyhow::anyhow!("row vanished"),
                    )
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}
