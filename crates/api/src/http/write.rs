//! One way to write: the prelude and epilogue every state-changing handler shares.
//!
//! A write handler takes [`Write<B>`] as its last argument. By the time the handler runs, the
//! extractor has identified the caller, read the `Idempotency-Key`, read and parsed the body
//! (`B`: [`Json<T>`], [`Raw`] or [`NoBody`]), answered a retried request from its stored
//! response (the handler never runs twice for one key), read the clock once and opened the
//! transaction scoped to the caller's counties. The handler then only loads, decides (domain),
//! persists through the store and builds its [`Reply`]; [`Write::finish`] stores the reply under
//! the key in the same transaction and commits, as zero2prod's `try_processing` /
//! `save_response` do.
//!
//! ```ignore
//! pub async fn rename(
//!     State(state): State<AppState>,
//!     Path(id): Path<Uuid>,
//!     headers: HeaderMap,
//!     mut write: Write<Json<RenameRequest>>,
//! ) -> Result<Response, ApiError> {
//!     let thing = store::things::lock(&mut write.tx, id).await?;
//!     require_if_match(&headers, thing.version)?;
//!     let renamed = domain::rename(&thing, &write.body.0.name, write.now)?;
//!     store::things::save(&mut write.tx, &renamed).await?;
//!     write.finish(Reply::json(StatusCode::OK, &renamed)?).await
//! }
//! ```

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};

use super::{
    error::ApiError,
    idempotency::{IdempotencyKey, Reply, NO_BODY},
    json::parse_json,
};
use crate::{app::AppState, auth::Caller};

/// A write request past the shared prelude: the handler's decision runs in `tx` at `now`.
pub struct Write<B> {
    /// The transaction, scoped to the caller's counties, that the effect, its event and the
    /// idempotency record commit in together.
    pub tx: Transaction<'static, Postgres>,
    /// The one clock reading the whole decision uses.
    pub now: DateTime<Utc>,
    /// Who is writing.
    pub caller: Caller,
    /// The parsed body.
    pub body: B,
    key: IdempotencyKey,
    digest: [u8; 32],
    db: PgPool,
}

impl<B> Write<B> {
    /// Stores `reply` under the request's idempotency key in the write's transaction, commits,
    /// and answers. A concurrent request with the same key that committed first wins: this
    /// one's work is rolled back and that response replayed.
    ///
    /// # Errors
    /// Database failures; the key reused for a different request.
    pub async fn finish(self, reply: Reply) -> Result<Response, ApiError> {
        self.key
            .finish(self.tx, &self.db, &self.caller, &self.digest, reply)
            .await
    }
}

/// How a write's body is read, and what its digest is (the digest tells a retry of the same
/// request from a different request under the same key).
pub trait WriteBody: Sized {
    /// Parses the body from the request's headers and bytes.
    ///
    /// # Errors
    /// A body of the wrong type or shape, as 4xx problems naming what is wrong.
    fn parse(headers: &HeaderMap, bytes: &Bytes) -> Result<Self, ApiError>;

    /// The digest to store with the idempotency key.
    fn digest(bytes: &Bytes) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }
}

/// A JSON body (`application/json` or `+json`), parsed into `T` with the path of the first
/// wrong field in the refusal.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> WriteBody for Json<T> {
    fn parse(headers: &HeaderMap, bytes: &Bytes) -> Result<Self, ApiError> {
        if !super::json::is_json_type(headers) {
            return Err(ApiError::Invalid {
                slug: "unsupported-media-type",
                detail: "the body must be JSON, sent with Content-Type: application/json".to_owned(),
                field: None,
            });
        }
        parse_json(bytes).map(Json)
    }
}

/// A body the handler reads itself (GeoJSON or a coordinate file), with its declared type.
#[derive(Debug)]
pub struct Raw {
    /// The `Content-Type` without parameters, lower-cased, when one was sent.
    pub content_type: Option<String>,
    /// The bytes as sent.
    pub bytes: Bytes,
}

impl WriteBody for Raw {
    fn parse(headers: &HeaderMap, bytes: &Bytes) -> Result<Self, ApiError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        Ok(Self {
            content_type,
            bytes: bytes.clone(),
        })
    }
}

/// No body: the method and path alone say what the request does, so its digest is fixed.
#[derive(Debug, Clone, Copy)]
pub struct NoBody;

impl WriteBody for NoBody {
    fn parse(_headers: &HeaderMap, _bytes: &Bytes) -> Result<Self, ApiError> {
        Ok(Self)
    }

    fn digest(_bytes: &Bytes) -> [u8; 32] {
        NO_BODY
    }
}

/// Why a [`Write`] did not reach its handler: the request was answered before (its stored
/// response is sent again), or it failed the prelude.
#[derive(Debug)]
pub enum WriteRejection {
    /// The key was used before for this same request: the first response, replayed.
    Replayed(Response),
    /// A refusal or failure of the prelude.
    Failed(ApiError),
}

impl From<ApiError> for WriteRejection {
    fn from(error: ApiError) -> Self {
        Self::Failed(error)
    }
}

impl IntoResponse for WriteRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Replayed(response) => response,
            Self::Failed(error) => error.into_response(),
        }
    }
}

impl<B: WriteBody + Send> FromRequest<AppState> for Write<B> {
    type Rejection = WriteRejection;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let caller = Caller::from_request_parts(&mut parts, state).await?;
        let key = IdempotencyKey::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| super::json::body_rejection(&rejection))?;
        let body = B::parse(&headers, &bytes)?;
        let digest = B::digest(&bytes);
        if let Some(replay) = key.replay(&state.db, &caller, &digest).await? {
            return Err(WriteRejection::Replayed(replay));
        }
        let now = state.clock.now();
        let tx = state.begin_for(&caller).await?;
        Ok(Self {
            tx,
            now,
            caller,
            body,
            key,
            digest,
            db: state.db.clone(),
        })
    }
}
