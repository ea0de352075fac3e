//! The construction-quota ledger's tables: `quota_accounts` (one balance per holder and year),
//! `quota_movements` (every change of a balance, appended with it) and `quota_requests` (what
//! each case asks for, a cancellation being a new row).
//!
//! Holders are bound as their key (`pool` or a county code); the ledger in
//! [`crate::quota::quotas`] parses them back.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::{DbError, Doing};

/// The constraint that keeps a quota balance from going below zero: an allocation or a transfer
/// that breaks it is refused as "insufficient", a lowered yearly amount as "below what is in use".
pub const BALANCE_NOT_NEGATIVE: &str = "quota_accounts_balance_not_negative";

/// The constraint that ties a county's account to a county of the region.
pub const ACCOUNT_COUNTY: &str = "quota_accounts_county_fk";

const ACCOUNTS: &str = concat!(
    "select ",
    include_str!("sql/quota_account_columns.sql"),
    " from quota_accounts a
     where ($1::text is null or a.holder = $1)
       and ($2::int is null or a.year = $2)
       and ($3::text[] is null or a.holder = any($3))
     order by a.year desc, a.holder <> 'pool', a.holder"
);

const ACCOUNT_MOVEMENTS: &str = concat!(
    "select ",
    include_str!("sql/quota_movement_columns.sql"),
    " from quota_movements where holder = $1 and year = $2 order by id"
);

const CASE_MOVEMENTS: &str = concat!(
    "select ",
    include_str!("sql/quota_movement_columns.sql"),
    " from quota_movements where case_id = $1 order by id"
);

const APPEND_MOVEMENT: &str = concat!(
    include_str!("sql/append_quota_movement.sql"),
    " returning ",
    include_str!("sql/quota_movement_columns.sql")
);

/// A quota account as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    /// `pool` or a county code.
    pub holder: String,
    /// The quota year.
    pub year: i32,
    /// The yearly amount as last set, in hundredths of a mu.
    pub granted_hundredths: i64,
    /// What is left, in hundredths of a mu.
    pub balance_hundredths: i64,
    /// Allocated to cases and not released (consumed included), in hundredths of a mu.
    pub allocated_hundredths: i64,
    /// When the balance last changed.
    pub updated_at: DateTime<Utc>,
    /// The account's version, for ETags.
    pub version: i64,
}

/// The accounts that match: one holder, one year and the given counties, each only when given.
/// The pool comes first within a year, then the counties by code; the latest year first.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn accounts(
    conn: &mut PgConnection,
    holder: Option<&str>,
    year: Option<i32>,
    counties: Option<&[String]>,
) -> Result<Vec<AccountRow>, DbError> {
    sqlx::query_as(ACCOUNTS)
        .bind(holder)
        .bind(year)
        .bind(counties)
        .fetch_all(conn)
        .await
        .doing("listing quota accounts")
}

/// The account of `holder` for `year`, if it was ever opened.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn account(
    conn: &mut PgConnection,
    holder: &str,
    year: i32,
) -> Result<Option<AccountRow>, DbError> {
    sqlx::query_as(ACCOUNTS)
        .bind(holder)
        .bind(year)
        .bind(None::<Vec<String>>)
        .fetch_optional(conn)
        .await
        .doing("reading a quota account")
}

/// Opens the (empty) account of `holder` for `year` unless it exists. A county the region does
/// not have breaks [`ACCOUNT_COUNTY`].
///
/// # Errors
/// Database failures, [`ACCOUNT_COUNTY`] among them.
#[tracing::instrument(skip(conn))]
pub async fn open_account(conn: &mut PgConnection, holder: &str, year: i32) -> Result<(), DbError> {
    sqlx::query(
        "insert into quota_accounts (holder, year) values ($1, $2) on conflict (holder, year) do nothing",
    )
    .bind(holder)
    .bind(year)
    .execute(conn)
    .await
    .doing("opening a quota account")?;
    Ok(())
}

/// The yearly amount and balance of an account, read under a row lock for a change of the amount.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct GrantRow {
    /// The yearly amount as last set, in hundredths of a mu.
    pub granted_hundredths: i64,
    /// What is left, in hundredths of a mu.
    pub balance_hundredths: i64,
}

/// Locks the account of `holder` for `year` (`for update`) and reads its amount and balance.
///
/// # Errors
/// Database failures; no such account (`fetch_one` on nothing).
#[tracing::instrument(skip(conn))]
pub async fn lock_grant(conn: &mut PgConnection, holder: &str, year: i32) -> Result<GrantRow, DbError> {
    sqlx::query_as(
        "select (granted_mu * 100)::bigint as granted_hundredths, (balance_mu * 100)::bigint as balance_hundredths
           from quota_accounts where holder = $1 and year = $2 for update",
    )
    .bind(holder)
    .bind(year)
    .fetch_one(conn)
    .await
    .doing("locking the quota account")
}

/// Sets the yearly amount to `granted` hundredths and moves the balance by `delta` hundredths
/// with it; returns the new balance. A balance that would go below zero breaks
/// [`BALANCE_NOT_NEGATIVE`].
///
/// # Errors
/// Database failures, [`BALANCE_NOT_NEGATIVE`] among them.
#[tracing::instrument(skip(conn))]
pub async fn set_granted(
    conn: &mut PgConnection,
    holder: &str,
    year: i32,
    granted: i64,
    delta: i64,
    now: DateTime<Utc>,
) -> Result<i64, DbError> {
    sqlx::query_scalar(
        "update quota_accounts
            set granted_mu = $3::bigint::numeric / 100, balance_mu = balance_mu + $4::bigint::numeric / 100,
                updated_at = $5, version = version + 1
          where holder = $1 and year = $2
      returning (balance_mu * 100)::bigint",
    )
    .bind(holder)
    .bind(year)
    .bind(granted)
    .bind(delta)
    .bind(now)
    .fetch_one(conn)
    .await
    .doing("setting the yearly amount")
}

/// Moves the balance of `holder`'s `year` account by `delta` hundredths (negative takes) and
/// returns the new balance; `None` when there is no such account. The row's lock is the point
/// where concurrent allocations serialise; one that would overdraw breaks
/// [`BALANCE_NOT_NEGATIVE`].
///
/// # Errors
/// Database failures, [`BALANCE_NOT_NEGATIVE`] among them.
#[tracing::instrument(skip(conn))]
pub async fn move_balance(
    conn: &mut PgConnection,
    holder: &str,
    year: i32,
    delta: i64,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbError> {
    sqlx::query_scalar(
        "update quota_accounts
            set balance_mu = balance_mu + $3::bigint::numeric / 100, updated_at = $4, version = version + 1
          where holder = $1 and year = $2
      returning (balance_mu * 100)::bigint",
    )
    .bind(holder)
    .bind(year)
    .bind(delta)
    .bind(now)
    .fetch_optional(conn)
    .await
    .doing("changing a quota balance")
}

/// Locks the `year` accounts of `holders` in one order (by holder), so two transfers in
/// opposite directions cannot deadlock; returns the holders whose account exists.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn lock_accounts(
    conn: &mut PgConnection,
    year: i32,
    holders: &[&str],
) -> Result<Vec<String>, DbError> {
    sqlx::query_scalar(
        "select holder from quota_accounts where year = $1 and holder = any($2) order by holder for update",
    )
    .bind(year)
    .bind(holders)
    .fetch_all(conn)
    .await
    .doing("locking the quota accounts")
}

/// What kind of movement a quota ledger entry is: stored as its snake-case code, answered as it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum MovementKind {
    /// The yearly amount set or corrected.
    Grant,
    /// Given to a case.
    Allocate,
    /// Returned by a case.
    Release,
    /// Used by the case's approved conversion: the balance stays (the allocation took it), the
    /// case holds it no longer, and it never returns.
    Consume,
    /// Sent to the other side of a transfer.
    TransferOut,
    /// Received from the other side of a transfer.
    TransferIn,
}

/// One entry of the quota ledger as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MovementRow {
    /// Sequence number.
    pub id: i64,
    /// The account's holder key.
    pub holder: String,
    /// The account's year.
    pub year: i32,
    /// What happened.
    pub kind: MovementKind,
    /// How the balance changed, in signed hundredths of a mu.
    pub delta_hundredths: i64,
    /// The balance after it, in hundredths of a mu.
    pub balance_after_hundredths: i64,
    /// For a consumption: what the approval used, in hundredths of a mu.
    pub consumed_hundredths: Option<i64>,
    /// The case, for allocations, releases and consumptions.
    pub case_id: Option<Uuid>,
    /// Pairs the two entries of a transfer.
    pub transfer_id: Option<Uuid>,
    /// Who (none for the command line and the system).
    pub actor_id: Option<Uuid>,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The entries of one account, oldest first.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn account_movements(
    conn: &mut PgConnection,
    holder: &str,
    year: i32,
) -> Result<Vec<MovementRow>, DbError> {
    sqlx::query_as(ACCOUNT_MOVEMENTS)
        .bind(holder)
        .bind(year)
        .fetch_all(conn)
        .await
        .doing("reading the quota ledger")
}

/// The entries of one case, oldest first.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn case_movements(conn: &mut PgConnection, case_id: Uuid) -> Result<Vec<MovementRow>, DbError> {
    sqlx::query_as(CASE_MOVEMENTS)
        .bind(case_id)
        .fetch_all(conn)
        .await
        .doing("reading the case's quota entries")
}

/// A ledger entry to append, with the balance it leaves.
#[derive(Debug, Clone, Copy)]
pub struct NewMovement<'a> {
    /// The account's holder key.
    pub holder: &'a str,
    /// The account's year.
    pub year: i32,
    /// What happens.
    pub kind: MovementKind,
    /// The signed change of the balance, in hundredths.
    pub delta: i64,
    /// The balance after it, in hundredths.
    pub after: i64,
    /// For a consumption: what the approval used, in hundredths.
    pub consumed: Option<i64>,
    /// The case, for allocations, releases and consumptions.
    pub case_id: Option<Uuid>,
    /// Pairs the two entries of a transfer.
    pub transfer_id: Option<Uuid>,
    /// Who.
    pub actor: Option<Uuid>,
    /// Why.
    pub reason: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
}

impl<'a> NewMovement<'a> {
    /// An entry of `kind` on `holder`'s `year` account, at `at`, that moves nothing and names
    /// nobody: the base the ledger fills in with struct update syntax.
    pub fn new(holder: &'a str, year: i32, kind: MovementKind, at: DateTime<Utc>) -> Self {
        Self {
            holder,
            year,
            kind,
            delta: 0,
            after: 0,
            consumed: None,
            case_id: None,
            transfer_id: None,
            actor: None,
            reason: None,
            at,
        }
    }
}

/// Appends an entry to the quota ledger and returns it as stored.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn append_movement(conn: &mut PgConnection, m: &NewMovement<'_>) -> Result<MovementRow, DbError> {
    sqlx::query_as(APPEND_MOVEMENT)
        .bind(m.holder)
        .bind(m.year)
        .bind(m.kind)
        .bind(m.delta)
        .bind(m.after)
        .bind(m.consumed)
        .bind(m.case_id)
        .bind(m.transfer_id)
        .bind(m.actor)
        .bind(m.reason)
        .bind(m.at)
        .fetch_one(conn)
        .await
        .doing("appending to the quota ledger")
}

/// What a case holds, and of which account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HeldRow {
    /// The account's holder key.
    pub holder: String,
    /// The account's year.
    pub year: i32,
    /// The amount, in hundredths of a mu.
    pub held_hundredths: i64,
}

/// What a case holds (allocated and neither released nor consumed), if anything.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn held(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<HeldRow>, DbError> {
    sqlx::query_as(include_str!("sql/quota_held.sql"))
        .bind(case_id)
        .fetch_optional(conn)
        .await
        .doing("reading what the case holds")
}

/// What a case's approvals consumed, in hundredths of a mu (zero when nothing).
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn consumed(conn: &mut PgConnection, case_id: Uuid) -> Result<i64, DbError> {
    sqlx::query_scalar(
        "select coalesce((sum(consumed_mu) * 100)::bigint, 0) from quota_movements
          where case_id = $1 and kind = 'consume'",
    )
    .bind(case_id)
    .fetch_one(conn)
    .await
    .doing("reading what the case consumed")
}

/// A case's quota request (or its cancellation) as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    /// The case.
    pub case_id: Uuid,
    /// The quota year.
    pub year: i32,
    /// The amount, in hundredths of a mu.
    pub mu_hundredths: i64,
    /// Whether this row cancels the request.
    pub cancelled: bool,
    /// When it was recorded.
    pub requested_at: DateTime<Utc>,
    /// Who recorded it.
    pub requested_by: Option<Uuid>,
}

const REQUEST_COLUMNS: &str =
    "case_id, year, (mu * 100)::bigint as mu_hundredths, cancelled, requested_at, requested_by";

/// The case's latest request row: the request in force, or its cancellation.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn latest_request(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<RequestRow>, DbError> {
    sqlx::query_as(&format!(
        "select {REQUEST_COLUMNS} from quota_requests where case_id = $1 order by id desc limit 1"
    ))
    .bind(case_id)
    .fetch_optional(conn)
    .await
    .doing("reading the quota request")
}

/// A request row to append: a request, or the cancellation of the one in force.
#[derive(Debug, Clone, Copy)]
pub struct NewRequest<'a> {
    /// The case.
    pub case_id: Uuid,
    /// The quota year.
    pub year: i32,
    /// The amount, in hundredths of a mu.
    pub mu: i64,
    /// Whether it cancels the request in force.
    pub cancelled: bool,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: Uuid,
    /// Why (for a cancellation).
    pub reason: Option<&'a str>,
}

impl NewRequest<'_> {
    /// A request (not a cancellation, without a reason) of `mu` hundredths of `year` quota.
    pub fn new(case_id: Uuid, year: i32, mu: i64, by: Uuid, at: DateTime<Utc>) -> Self {
        Self {
            case_id,
            year,
            mu,
            cancelled: false,
            at,
            by,
            reason: None,
        }
    }
}

/// Appends a request row and returns it as stored.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn append_request(conn: &mut PgConnection, r: &NewRequest<'_>) -> Result<RequestRow, DbError> {
    sqlx::query_as(&format!(
        "insert into quota_requests (case_id, year, mu, cancelled, requested_at, requested_by, reason)
         values ($1, $2, $3::bigint::numeric / 100, $4, $5, $6, $7)
         returning {REQUEST_COLUMNS}"
    ))
    .bind(r.case_id)
    .bind(r.year)
    .bind(r.mu)
    .bind(r.cancelled)
    .bind(r.at)
    .bind(r.by)
    .bind(r.reason)
    .fetch_one(conn)
    .await
    .doing(if r.cancelled {
        "cancelling the quota request"
    } else {
        "recording the quota request"
    })
}

/// Key-project cases of `county` whose `year` request is in force and unmet, other than
/// `except`, among cases at `stages` (those that may still ask for quota).
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn key_projects_waiting(
    conn: &mut PgConnection,
    county: &str,
    year: i32,
    except: Uuid,
    stages: &[&str],
) -> Result<Vec<Uuid>, DbError> {
    sqlx::query_scalar(include_str!("sql/key_projects_waiting.sql"))
        .bind(county)
        .bind(year)
        .bind(except)
        .bind(stages)
        .fetch_all(conn)
        .await
        .doing("looking for key projects waiting for quota")
}

/// A case waiting for quota, with its county's balance and what its check says it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitingRow {
    /// The case.
    pub case_id: Uuid,
    /// Its title.
    pub title: String,
    /// Its county code.
    pub county_code: String,
    /// Its project.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// Whether the project is on a key-project list.
    pub key_project: bool,
    /// The case's stage code.
    pub stage: String,
    /// The quota year asked for.
    pub year: i32,
    /// The amount asked for, in hundredths of a mu.
    pub mu_hundredths: i64,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// The county's balance for that year, in hundredths (zero without an account).
    pub county_balance_hundredths: i64,
    /// What the latest confirmed, current check says the case needs, in hundredths.
    pub needed_hundredths: Option<i64>,
}

/// The cases waiting for quota at `stages`, limited to `year` and `counties` when given, key
/// projects first, then by the time of the request.
///
/// # Errors
/// Database failures.
#[tracing::instrument(skip(conn))]
pub async fn waiting(
    conn: &mut PgConnection,
    year: Option<i32>,
    counties: Option<&[String]>,
    stages: &[&str],
) -> Result<Vec<WaitingRow>, DbError> {
    sqlx::query_as(include_str!("sql/quota_waiting.sql"))
        .bind(year)
        .bind(counties)
        .bind(stages)
        .fetch_all(conn)
        .await
        .doing("listing the cases waiting for quota")
}
