//! Who is calling: bearer tokens (or HTTP Basic with the token as password, for GIS desktop
//! clients), stored only as SHA-256 hashes, each bound to a user with a role and, for
//! county-scoped roles, the counties they serve.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use base64::{engine::general_purpose, Engine};
use landuse_domain::{
    county::CountyCode,
    role::{Actor, Role},
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    app::AppState,
    http::error::ApiError,
    store::{auth as store, DbError, Doing},
};

/// Every token starts with this, so a leaked one is easy to recognise in logs and scanners.
const TOKEN_PREFIX: &str = "lu_";

/// A freshly made token: the secret is shown once, only its hash is stored.
pub struct NewToken {
    /// The token to hand to the user.
    pub secret: String,
    /// What is stored.
    pub hash: Vec<u8>,
}

/// Makes a new random token (256 bits).
pub fn new_token() -> NewToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&secret);
    NewToken { secret, hash }
}

/// The stored form of a token.
pub fn hash_token(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user_id: Uuid,
    /// The user's name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// The counties a county-scoped caller serves; empty for municipal roles, who see all.
    pub counties: Vec<CountyCode>,
}

impl Caller {
    /// The caller as the domain crate's actor.
    pub fn actor(&self) -> Actor {
        Actor::new(self.user_id, self.role)
    }

    /// Whether the caller may see data of `county`.
    pub fn sees(&self, county: &str) -> bool {
        !self.role.is_county_scoped() || self.counties.iter().any(|c| c.as_str() == county)
    }

    /// The counties to filter by, or `None` when the caller sees every county.
    pub fn county_filter(&self) -> Option<Vec<String>> {
        self.role
            .is_county_scoped()
            .then(|| self.counties.iter().map(|c| c.as_str().to_owned()).collect())
    }

    /// What the caller's transactions may see under row-level security.
    pub fn scope(&self) -> crate::db::Scope {
        self.county_filter().into()
    }

    /// Refuses unless the caller has one of `roles`.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`] naming the roles that may.
    pub fn require(&self, roles: &[Role], doing: &str) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(|r| r.code()).collect();
            Err(ApiError::Forbidden(format!(
                "the role {} may not {doing}; this needs the role {}",
                self.role.code(),
                names.join(" or ")
            )))
        }
    }
}

/// Reads the token from `Authorization: Bearer …` or `Authorization: Basic …` (any user name,
/// the token as the password).
fn presented_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(rest.to_owned())
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = general_purpose::STANDARD.decode(rest).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (_user, password) = text.split_once(':')?;
        Some(password.to_owned())
    } else {
        None
    }
}

/// Looks up the caller a token belongs to: `None` for a token that is unknown, revoked or
/// expired, or whose user is disabled or holds a role this build does not know.
///
/// # Errors
/// Database failures.
pub async fn caller_for_token(conn: &mut PgConnection, secret: &str) -> Result<Option<Caller>, DbError> {
    let holder = store::token_holder(conn, &hash_token(secret)).await?;
    Ok(holder.and_then(|holder| {
        let role = Role::parse(&holder.role).ok()?;
        let counties = holder
            .counties
            .iter()
            .filter_map(|c| CountyCode::parse(c).ok())
            .collect();
        Some(Caller {
            user_id: holder.user_id,
            name: holder.name,
            role,
            counties,
        })
    }))
}

/// Counts one request of the token in its current fixed window, in the database so that every
/// replica shares the count.
///
/// Returns the seconds until the window ends when the token is over its limit.
///
/// # Errors
/// Database failures.
pub async fn count_request(
    conn: &mut PgConnection,
    secret: &str,
    limit: u32,
    window_s: u32,
) -> Result<Option<u64>, ApiError> {
    let window = store::count_request(conn, &hash_token(secret), f64::from(window_s.max(1))).await?;
    if i64::from(window.hits) > i64::from(limit) {
        Ok(Some(window.left_s.ceil().max(1.0) as u64))
    } else {
        Ok(None)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let secret = presented_token(parts).ok_or(ApiError::Unauthenticated)?;
        // A read is authenticated on a replica while the primary does not answer, so reads
        // keep answering; its request is then not counted, as the rate limit's table (unlogged)
        // lives on the primary only.
        let read = parts.method.is_safe();
        let (mut conn, on_primary) = state.reads.auth_connection(read).await.doing("authenticating")?;
        let caller = caller_for_token(&mut conn, &secret)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let serve = &state.config.serve;
        if serve.rate_limit > 0 && on_primary {
            if let Some(retry_after_s) =
                count_request(&mut conn, &secret, serve.rate_limit, serve.rate_window_s).await?
            {
                return Err(ApiError::TooManyRequests { retry_after_s });
            }
        }
        // A GIS desktop client reads features through /ogc, and a case's parcels (which the
        // OGC parcels page links as the coordinate-file download), and nothing else.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |uri| uri.path().to_owned());
        let parcels_download = parts.method == axum::http::Method::GET
            && path.starts_with("/api/v1/cases/")
            && path.ends_with("/parcels");
        // It may also read the review pages, which write nothing.
        let review_page = parts.method == axum::http::Method::GET && path.starts_with("/review");
        if caller.role == Role::Gis && !path.starts_with("/ogc") && !parcels_download && !review_page {
            return Err(ApiError::Forbidden(
                "a gis client reads features through /ogc, a case's parcels and the review pages, nothing else"
                    .to_owned(),
            ));
        }
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parts_with(authorization: &str) -> Parts {
        let (parts, ()) = axum::http::Request::get("/")
            .header(header::AUTHORIZATION, authorization)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn a_new_token_is_prefixed_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert!(a.secret.starts_with("lu_"));
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, hash_token(&a.secret));
        assert_eq!(a.hash.len(), 32);
    }

    #[test]
    fn the_token_is_read_from_bearer_or_from_the_basic_password() {
        assert_eq!(
            presented_token(&parts_with("Bearer lu_abc")).as_deref(),
            Some("lu_abc")
        );
        let basic = general_purpose::STANDARD.encode("qgis:lu_abc");
        assert_eq!(
            presented_token(&parts_with(&format!("Basic {basic}"))).as_deref(),
            Some("lu_abc")
        );
        assert_eq!(presented_token(&parts_with("Digest x")), None);
    }
}
