//! Tokens: who a token's hash belongs to, issuing and revoking tokens, and the per-token request
//! count of the rate limit.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{DbError, Doing};

/// The user a live token belongs to, as stored: role and county codes still to be parsed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenHolder {
    /// The user.
    pub user_id: Uuid,
    /// The user's name.
    pub name: String,
    /// The role code.
    pub role: String,
    /// The counties the user serves, in order (none for municipal roles).
    pub counties: Vec<String>,
}

/// The user holding the token with this hash, when the token is neither revoked nor expired
/// and the user not disabled.
///
/// # Errors
/// Database failures.
pub async fn token_holder(conn: &mut PgConnection, hash: &[u8]) -> Result<Option<TokenHolder>, DbError> {
    sqlx::query_as(
        "select u.id as user_id, u.name, u.role,
                coalesce(array_agg(uc.county_code order by uc.county_code)
                         filter (where uc.county_code is not null), '{}') as counties
           from tokens t
           join users u on u.id = t.user_id
           left join user_counties uc on uc.user_id = u.id
          where t.hash = $1
            and t.revoked_at is null
            and (t.expires_at is null or t.expires_at > now())
            and u.disabled_at is null
          group by u.id, u.name, u.role",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await
    .doing("authenticating")
}

/// A token about to be stored: only its hash, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken<'a> {
    /// The token's id.
    pub id: Uuid,
    /// Whose it is.
    pub user_id: Uuid,
    /// SHA-256 of the secret.
    pub hash: &'a [u8],
    /// What the user recognises it by.
    pub label: &'a str,
    /// Days until it expires; `None` never expires.
    pub valid_days: Option<i32>,
}

/// Stores a token.
///
/// # Errors
/// Database failures.
pub async fn insert_token(conn: &mut PgConnection, token: &NewToken<'_>) -> Result<(), DbError> {
    sqlx::query(
        "insert into tokens (id, user_id, hash, label, expires_at)
         values ($1, $2, $3, $4, now() + make_interval(days => $5))",
    )
    .bind(token.id)
    .bind(token.user_id)
    .bind(token.hash)
    .bind(token.label)
    .bind(token.valid_days)
    .execute(conn)
    .await
    .doing("storing the token")?;
    Ok(())
}

/// Revokes every live token with this label; how many.
///
/// # Errors
/// Database failures.
pub async fn revoke_labelled(conn: &mut PgConnection, label: &str) -> Result<u64, DbError> {
    let revoked = sqlx::query("update tokens set revoked_at = now() where label = $1 and revoked_at is null")
        .bind(label)
        .execute(conn)
        .await
        .doing("revoking tokens")?;
    Ok(revoked.rows_affected())
}

/// A token's count in its current rate window.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct RateWindow {
    /// Requests counted in the window, this one included.
    pub hits: i32,
    /// Seconds until the window ends.
    pub left_s: f64,
}

/// Counts one request of the token in its current fixed window of `window_s` seconds (one row
/// per token, one statement per request, so every replica shares the count). Windows are cut
/// from the database's clock, the one clock all replicas agree on.
///
/// # Errors
/// Database failures.
pub async fn count_request(
    conn: &mut PgConnection,
    hash: &[u8],
    window_s: f64,
) -> Result<RateWindow, DbError> {
    sqlx::query_as(
        "with w as (
             select to_timestamp(floor(extract(epoch from clock_timestamp()) / $2) * $2) as start
         )
         insert into rate_windows as r (token_hash, window_start, hits)
         select $1, w.start, 1 from w
         on conflict (token_hash) do update
            set hits = case when r.window_start < excluded.window_start then 1 else r.hits + 1 end,
                window_start = greatest(r.window_start, excluded.window_start)
         returning hits,
                   extract(epoch from window_start + make_interval(secs => $2) - clock_timestamp())::float8
                     as left_s",
    )
    .bind(hash)
    .bind(window_s)
    .fetch_one(conn)
    .await
    .doing("counting the request")
}
