//! The responses stored under `Idempotency-Key`s, so a retried request is answered again
//! rather than run twice.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// A response stored under a key, with what identifies the request it answered.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredResponse {
    /// The digest of the request's body.
    pub request_hash: Vec<u8>,
    /// The request's method.
    pub method: String,
    /// The request's path.
    pub path: String,
    /// The status answered.
    pub status: Option<i32>,
    /// Extra headers answered, as `{"name": "value"}`.
    pub headers: Option<Value>,
    /// The JSON body answered, as sent.
    pub body: Option<Vec<u8>>,
}

/// The response `user_id` stored under `key`, if any.
///
/// # Errors
/// Database failures.
pub async fn stored_response(
    conn: &mut PgConnection,
    user_id: Uuid,
    key: &str,
) -> Result<Option<StoredResponse>, DbError> {
    sqlx::query_as(
        "select request_hash, method, path, status, headers, body
           from idempotency_keys where user_id = $1 and key = $2",
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(conn)
    .await
    .doing("looking up the idempotency key")
}

/// A response to store under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStoredResponse<'a> {
    /// Whose key it is.
    pub user_id: Uuid,
    /// The key.
    pub key: &'a str,
    /// The request's method.
    pub method: &'a str,
    /// The request's path.
    pub path: &'a str,
    /// The digest of the request's body.
    pub request_hash: &'a [u8],
    /// The status answered.
    pub status: i32,
    /// Extra headers answered, as `{"name": "value"}`.
    pub headers: Value,
    /// The JSON body answered.
    pub body: Vec<u8>,
}

/// Stores a response under its key. A key the same user already stored fails with SQLSTATE
/// 23505 (`DbError::sqlstate`), so the caller can replay the response that won.
///
/// # Errors
/// Database failures, the key already stored.
pub async fn store_response(
    conn: &mut PgConnection,
    response: &NewStoredResponse<'_>,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into idempotency_keys (user_id, key, method, path, request_hash, status, headers, body)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(response.user_id)
    .bind(response.key)
    .bind(response.method)
    .bind(response.path)
    .bind(response.request_hash)
    .bind(response.status)
    .bind(&response.headers)
    .bind(&response.body)
    .execute(conn)
    .await
    .doing("storing the idempotency key")?;
    Ok(())
}
