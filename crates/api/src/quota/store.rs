//! The construction-quota ledger (新增建设用地计划指标) in the database.
//!
//! # The ledger
//! A quota account holds one county's (or the municipal pool's) quota for one year. Its
//! balance changes only through movements: `grant` (the yearly amount set or corrected),
//! `allocate` and `release` (to and from a case), `transfer_out` and `transfer_in` (between a
//! county and the pool). Each movement is appended to `quota_movements` in the same transaction
//! that updates the balance, and the balance's check constraint
//! (`quota_accounts_balance_not_negative`) refuses any change that would overdraw it. Two
//! allocations racing for the last mu serialise on the balance row; the second fails on the
//! constraint and is answered with [`QuotaError::Insufficient`].
//!
//! # Requests and "key projects first"
//! A case first records what it needs ([`request`]): an amount in mu and the quota year. It is
//! then waiting for quota until [`allocate`] gives it the whole amount in one movement: an
//! allocation is always in full, never partial. The priority rule, checked on every
//! allocation, is:
//!
//! > A case whose project is not on a key-project list is refused
//! > ([`QuotaError::KeyProjectWaiting`]) while a key project's case in the same county and year
//! > has a request in force that is not yet allocated.
//!
//! So a reviewer always serves the key projects first; when a key project needs more than the
//! county has, the refusal (and the [waiting report](waiting)) says so, and the way forward is a
//! [`transfer`] from the municipal pool, or cancelling the key project's request. Key projects
//! among themselves, and other projects among themselves, are served in whatever order the
//! reviewer allocates them; the waiting report lists them key projects first, then by the time
//! of their request.
//!
//! Every function takes a `&mut PgConnection` and runs in its own transaction, which becomes a
//! savepoint when the caller has one open, so a refusal leaves the caller's transaction usable.

use std::fmt;

use chrono::{DateTime, Utc};
use landuse_domain::{county::CountyCode, role::Role, stage::Stage};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use landuse_domain::ledger::{
    rules::{self, LedgerAction, LedgerRefusal},
    Amount,
};

/// The name of the constraint that keeps a quota balance from going below zero.
pub const BALANCE_CONSTRAINT: &str = "quota_accounts_balance_not_negative";

/// Who holds a quota account: a county or the municipal pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Holder {
    /// The municipal pool (市级统筹).
    Pool,
    /// A county.
    County(CountyCode),
}

/// The text is neither `pool` nor a county code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a quota holder: expected `pool` or a 6-digit county code")]
pub struct InvalidHolder(pub String);

impl Holder {
    /// Parses `pool` or a county code.
    ///
    /// # Errors
    /// [`InvalidHolder`] for anything else.
    pub fn parse(text: &str) -> Result<Self, InvalidHolder> {
        if text == "pool" {
            Ok(Self::Pool)
        } else {
            CountyCode::parse(text)
                .map(Self::County)
                .map_err(|_| InvalidHolder(text.to_owned()))
        }
    }

    /// The key stored in the `holder` columns.
    pub fn key(&self) -> &str {
        match self {
            Self::Pool => "pool",
            Self::County(code) => code.as_str(),
        }
    }

    /// The county, for a county holder.
    pub fn county(&self) -> Option<CountyCode> {
        match self {
            Self::Pool => None,
            Self::County(code) => Some(*code),
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl Serialize for Holder {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

/// In the OpenAPI document: `pool` or a county code.
impl utoipa::PartialSchema for Holder {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^(pool|[0-9]{6})$"))
            .description(Some("`pool` (the city's reserve) or a county code"))
            .into()
    }
}

impl utoipa::ToSchema for Holder {}

impl<'de> Deserialize<'de> for Holder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a quota operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// The county is not one of the region's.
    #[error("{0:?} is not a county of the region")]
    UnknownCounty(String),
    /// No such case.
    #[error("no such case")]
    NoSuchCase,
    /// The case is in a stage where quota is not requested, allocated or released.
    #[error("the case is {stage}; cannot {doing} at that stage")]
    WrongStage {
        /// The case's stage.
        stage: Stage,
        /// What was asked.
        doing: &'static str,
    },
    /// The case has recorded no request (or cancelled it).
    #[error("the case has no quota request in force; record what it needs first")]
    NoRequest,
    /// The case already holds quota.
    #[error("the case already holds {mu} mu of {holder} {year} quota; release it first")]
    AlreadyAllocated {
        /// Where from.
        holder: Holder,
        /// The year.
        year: i32,
        /// How much.
        mu: Amount,
    },
    /// No quota account for that holder and year.
    #[error("no quota is set for {holder} in {year}")]
    NoAccount {
        /// The holder.
        holder: Holder,
        /// The year.
        year: i32,
    },
    /// The balance does not cover the amount.
    #[error("{holder} has {available} mu of {year} quota left; {needed} mu are needed")]
    Insufficient {
        /// The holder.
        holder: Holder,
        /// The year.
        year: i32,
        /// What was asked for.
        needed: Amount,
        /// What is left.
        available: Amount,
    },
    /// A key project's request in the same county and year waits unmet.
    #[error(
        "key projects are allocated first: {} key-project case(s) in {holder} wait for {year} quota",
        waiting.len()
    )]
    KeyProjectWaiting {
        /// The holder.
        holder: Holder,
        /// The year.
        year: i32,
        /// The waiting key-project cases.
        waiting: Vec<Uuid>,
    },
    /// A new yearly amount below what is already allocated or transferred away.
    #[error("{holder} {year}: the yearly amount cannot drop to {granted} mu, {in_use} mu of it are in use")]
    GrantBelowInUse {
        /// The holder.
        holder: Holder,
        /// The year.
        year: i32,
        /// The amount asked for.
        granted: Amount,
        /// What is allocated or transferred away.
        in_use: Amount,
    },
    /// A transfer that does not go between a county and the pool.
    #[error("quota moves between a county and the municipal pool only")]
    TransferNotViaPool,
    /// A zero amount.
    #[error("the amount must be more than zero")]
    ZeroAmount,
    /// The actor's role may not do this.
    #[error("a {role} may not {doing}")]
    RoleMayNot {
        /// The actor's role.
        role: Role,
        /// What was asked.
        doing: &'static str,
    },
    /// A database failure.
    #[error("database error while {doing}: {source}")]
    Db {
        /// What was being done.
        doing: &'static str,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
}

impl QuotaError {
    /// A stable code, for problem types and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownCounty(_) => "unknown-county",
            Self::NoSuchCase => "no-such-case",
            Self::WrongStage { .. } => "quota-wrong-stage",
            Self::NoRequest => "quota-no-request",
            Self::AlreadyAllocated { .. } => "quota-already-allocated",
            Self::NoAccount { .. } => "quota-no-account",
            Self::Insufficient { .. } => "quota-insufficient",
            Self::KeyProjectWaiting { .. } => "key-project-waiting",
            Self::GrantBelowInUse { .. } => "quota-grant-below-in-use",
            Self::TransferNotViaPool => "quota-transfer-not-via-pool",
            Self::ZeroAmount => "zero-amount",
            Self::RoleMayNot { .. } => "role-may-not",
            Self::Db { .. } => "internal",
        }
    }
}

fn db(doing: &'static str) -> impl FnOnce(sqlx::Error) -> QuotaError {
    move |source| QuotaError::Db { doing, source }
}

/// A database failure with what was being done, convertible into each ledger's error.
#[derive(Debug)]
pub struct DbFailure {
    /// What was being done.
    pub doing: &'static str,
    /// The cause.
    pub source: sqlx::Error,
}

impl From<DbFailure> for QuotaError {
    fn from(f: DbFailure) -> Self {
        Self::Db {
            doing: f.doing,
            source: f.source,
        }
    }
}

/// Whether `error` is a violation of the constraint `name`.
pub(crate) fn violates(error: &sqlx::Error, name: &str) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.constraint() == Some(name))
}

/// Refuses unless `role` is one of `allowed`.
impl From<LedgerRefusal> for QuotaError {
    fn from(refusal: LedgerRefusal) -> Self {
        match refusal {
            LedgerRefusal::RoleMayNot { role, action } => Self::RoleMayNot {
                role,
                doing: action.doing(),
            },
            LedgerRefusal::WrongStage { stage, action } => Self::WrongStage {
                stage,
                doing: action.doing(),
            },
        }
    }
}

fn require(role: Role, allowed: &[Role], doing: &'static str) -> Result<(), QuotaError> {
    if allowed.contains(&role) {
        Ok(())
    } else {
        Err(QuotaError::RoleMayNot { role, doing })
    }
}

/// A quota account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Account {
    /// The holder.
    pub holder: Holder,
    /// The year.
    pub year: i32,
    /// The yearly amount as last set.
    pub granted_mu: Amount,
    /// What is left.
    pub balance_mu: Amount,
    /// Allocated to cases and not released.
    pub allocated_mu: Amount,
    /// When the balance last changed.
    pub updated_at: DateTime<Utc>,
    /// Version, for ETags.
    pub version: i64,
}

type AccountRow = (String, i32, i64, i64, i64, DateTime<Utc>, i64);

const ACCOUNT_SELECT: &str =
    "select a.holder, a.year, (a.granted_mu * 100)::bigint, (a.balance_mu * 100)::bigint,
        coalesce((select (-sum(m.delta_mu) * 100)::bigint from quota_movements m
                   where m.holder = a.holder and m.year = a.year and m.kind in ('allocate', 'release')), 0),
        a.updated_at, a.version
   from quota_accounts a";

fn account_from(row: AccountRow) -> Result<Account, QuotaError> {
    let (holder, year, granted, balance, allocated, updated_at, version) = row;
    let holder = Holder::parse(&holder).map_err(|e| QuotaError::Db {
        doing: "reading a quota account",
        source: sqlx::Error::Decode(Box::new(e)),
    })?;
    Ok(Account {
        holder,
        year,
        granted_mu: Amount::from_hundredths(granted),
        balance_mu: Amount::from_hundredths(balance),
        allocated_mu: Amount::from_hundredths(allocated),
        updated_at,
        version,
    })
}

/// The account of `holder` for `year`, if any quota was ever set or moved there.
///
/// # Errors
/// Database failures.
pub async fn account(
    conn: &mut PgConnection,
    holder: Holder,
    year: i32,
) -> Result<Option<Account>, QuotaError> {
    let row: Option<AccountRow> =
        sqlx::query_as(&format!("{ACCOUNT_SELECT} where a.holder = $1 and a.year = $2"))
            .bind(holder.key())
            .bind(year)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("reading a quota account"))?;
    row.map(account_from).transpose()
}

/// The accounts of `year` (every year when `None`), limited to `counties` when given (the pool
/// is then left out), the pool first, then by county code.
///
/// # Errors
/// Database failures.
pub async fn accounts(
    conn: &mut PgConnection,
    year: Option<i32>,
    counties: Option<&[String]>,
) -> Result<Vec<Account>, QuotaError> {
    let rows: Vec<AccountRow> = sqlx::query_as(&format!(
        "{ACCOUNT_SELECT}
          where ($1::int is null or a.year = $1) and ($2::text[] is null or a.holder = any($2))
          order by a.year desc, a.holder <> 'pool', a.holder"
    ))
    .bind(year)
    .bind(counties)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("listing quota accounts"))?;
    rows.into_iter().map(account_from).collect()
}

/// What kind of movement a ledger entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
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

impl MovementKind {
    fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "grant" => Self::Grant,
            "allocate" => Self::Allocate,
            "release" => Self::Release,
            "consume" => Self::Consume,
            "transfer_out" => Self::TransferOut,
            "transfer_in" => Self::TransferIn,
            _ => return None,
        })
    }
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Movement {
    /// Sequence number.
    pub id: i64,
    /// The account's holder.
    pub holder: Holder,
    /// The account's year.
    pub year: i32,
    /// What happened.
    pub kind: MovementKind,
    /// How the balance changed, in mu (signed).
    pub delta_mu: f64,
    /// The balance after it.
    pub balance_after_mu: Amount,
    /// For a consumption: the amount the approval used.
    pub consumed_mu: Option<Amount>,
    /// The case, for allocations and releases.
    pub case_id: Option<Uuid>,
    /// Pairs the two entries of a transfer.
    pub transfer_id: Option<Uuid>,
    /// Who did it (none for the command line).
    pub actor_id: Option<Uuid>,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

type MovementRow = (
    i64,
    String,
    i32,
    String,
    i64,
    i64,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<String>,
    DateTime<Utc>,
    Option<i64>,
);

const MOVEMENT_SELECT: &str =
    "select id, holder, year, kind, (delta_mu * 100)::bigint, (balance_after_mu * 100)::bigint,
        case_id, transfer_id, actor_id, reason, at, (consumed_mu * 100)::bigint
   from quota_movements";

fn movement_from(row: MovementRow) -> Result<Movement, QuotaError> {
    let (id, holder, year, kind, delta, after, case_id, transfer_id, actor_id, reason, at, consumed) = row;
    let corrupt = |what: String| QuotaError::Db {
        doing: "reading a quota movement",
        source: sqlx::Error::Decode(what.into()),
    };
    Ok(Movement {
        id,
        holder: Holder::parse(&holder).map_err(|e| corrupt(e.to_string()))?,
        year,
        kind: MovementKind::parse(&kind).ok_or_else(|| corrupt(format!("unknown kind {kind}")))?,
        delta_mu: delta as f64 / 100.0,
        balance_after_mu: Amount::from_hundredths(after),
        consumed_mu: consumed.map(Amount::from_hundredths),
        case_id,
        transfer_id,
        actor_id,
        reason,
        at,
    })
}

/// The ledger of one account, oldest first.
///
/// # Errors
/// Database failures.
pub async fn movements(
    conn: &mut PgConnection,
    holder: Holder,
    year: i32,
) -> Result<Vec<Movement>, QuotaError> {
    let rows: Vec<MovementRow> = sqlx::query_as(&format!(
        "{MOVEMENT_SELECT} where holder = $1 and year = $2 order by id"
    ))
    .bind(holder.key())
    .bind(year)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading the quota ledger"))?;
    rows.into_iter().map(movement_from).collect()
}

/// Sets the yearly amount of `holder` for `year`. The change from the amount set before is
/// appended as a `grant` movement (nothing is appended when it is the same); lowering the
/// amount below what is already allocated or transferred away is refused.
///
/// # Errors
/// [`QuotaError::UnknownCounty`], [`QuotaError::GrantBelowInUse`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn set_yearly(
    conn: &mut PgConnection,
    holder: Holder,
    year: i32,
    granted: Amount,
    actor: Option<Uuid>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Account, QuotaError> {
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    ensure_account(&mut tx, holder, year).await?;
    let (old_granted, balance): (i64, i64) = sqlx::query_as(
        "select (granted_mu * 100)::bigint, (balance_mu * 100)::bigint from quota_accounts
          where holder = $1 and year = $2 for update",
    )
    .bind(holder.key())
    .bind(year)
    .fetch_one(&mut *tx)
    .await
    .map_err(db("locking the quota account"))?;
    let delta = granted.hundredths() - old_granted;
    if delta != 0 {
        let updated = sqlx::query_scalar::<_, i64>(
            "update quota_accounts
                set granted_mu = $3::bigint::numeric / 100, balance_mu = balance_mu + $4::bigint::numeric / 100,
                    updated_at = $5, version = version + 1
              where holder = $1 and year = $2
          returning (balance_mu * 100)::bigint",
        )
        .bind(holder.key())
        .bind(year)
        .bind(granted.hundredths())
        .bind(delta)
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        let after = match updated {
            Ok(after) => after,
            Err(e) if violates(&e, BALANCE_CONSTRAINT) => {
                return Err(QuotaError::GrantBelowInUse {
                    holder,
                    year,
                    granted,
                    in_use: Amount::from_hundredths(old_granted - balance),
                })
            }
            Err(e) => return Err(db("setting the yearly amount")(e)),
        };
        insert_movement(
            &mut tx,
            NewMovement {
                holder,
                year,
                kind: "grant",
                delta,
                after,
                case_id: None,
                transfer_id: None,
                actor,
                reason,
                at: now,
            },
        )
        .await?;
    }
    let account = account(&mut tx, holder, year)
        .await?
        .ok_or(QuotaError::NoAccount { holder, year })?;
    tx.commit().await.map_err(db("committing the yearly amount"))?;
    Ok(account)
}

/// Creates the (empty) account of `holder` for `year` when it does not exist.
async fn ensure_account(conn: &mut PgConnection, holder: Holder, year: i32) -> Result<(), QuotaError> {
    let created = sqlx::query(
        "insert into quota_accounts (holder, year) values ($1, $2) on conflict (holder, year) do nothing",
    )
    .bind(holder.key())
    .bind(year)
    .execute(&mut *conn)
    .await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if violates(&e, "quota_accounts_county_fk") => {
            Err(QuotaError::UnknownCounty(holder.key().to_owned()))
        }
        Err(e) => Err(db("opening a quota account")(e)),
    }
}

struct NewMovement<'a> {
    holder: Holder,
    year: i32,
    kind: &'static str,
    delta: i64,
    after: i64,
    case_id: Option<Uuid>,
    transfer_id: Option<Uuid>,
    actor: Option<Uuid>,
    reason: Option<&'a str>,
    at: DateTime<Utc>,
}

async fn insert_movement(conn: &mut PgConnection, m: NewMovement<'_>) -> Result<Movement, QuotaError> {
    let row: MovementRow = sqlx::query_as(
        "insert into quota_movements (holder, year, kind, delta_mu, balance_after_mu, case_id, transfer_id,
                                      actor_id, reason, at)
         values ($1, $2, $3, $4::bigint::numeric / 100, $5::bigint::numeric / 100, $6, $7, $8, $9, $10)
      returning id, holder, year, kind, (delta_mu * 100)::bigint, (balance_after_mu * 100)::bigint,
                case_id, transfer_id, actor_id, reason, at, (consumed_mu * 100)::bigint",
    )
    .bind(m.holder.key())
    .bind(m.year)
    .bind(m.kind)
    .bind(m.delta)
    .bind(m.after)
    .bind(m.case_id)
    .bind(m.transfer_id)
    .bind(m.actor)
    .bind(m.reason)
    .bind(m.at)
    .fetch_one(&mut *conn)
    .await
    .map_err(db("appending to the quota ledger"))?;
    movement_from(row)
}

/// A case as the ledgers need it.
#[derive(Debug, Clone)]
pub(crate) struct CaseInfo {
    pub county: CountyCode,
    pub stage: Stage,
    pub key_project: bool,
}

/// Loads (and locks, against concurrent transitions and allocations) a case.
pub(crate) async fn lock_case(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<CaseInfo>, DbFailure> {
    let row: Option<(Uuid, String, String, bool)> = sqlx::query_as(
        "select c.id, c.county_code, c.stage, p.on_key_list
           from cases c join projects p on p.id = c.project_id
          where c.id = $1 for update of c",
    )
    .bind(case_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|source| DbFailure {
        doing: "locking the case",
        source,
    })?;
    let Some((_, county, stage, key_project)) = row else {
        return Ok(None);
    };
    let corrupt = |what: String| DbFailure {
        doing: "reading the case",
        source: sqlx::Error::Decode(what.into()),
    };
    Ok(Some(CaseInfo {
        county: CountyCode::parse(&county).map_err(|e| corrupt(e.to_string()))?,
        stage: Stage::parse(&stage).map_err(|e| corrupt(e.to_string()))?,
        key_project,
    }))
}

/// What a case asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QuotaRequest {
    /// The case.
    pub case_id: Uuid,
    /// The quota year.
    pub year: i32,
    /// The amount, in mu.
    pub mu: Amount,
    /// Whether the request was cancelled.
    pub cancelled: bool,
    /// When it was recorded.
    pub requested_at: DateTime<Utc>,
    /// Who recorded it.
    pub requested_by: Option<Uuid>,
}

type RequestRow = (Uuid, i32, i64, bool, DateTime<Utc>, Option<Uuid>);

async fn latest_request(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<QuotaRequest>, QuotaError> {
    let row: Option<RequestRow> = sqlx::query_as(
        "select case_id, year, (mu * 100)::bigint, cancelled, requested_at, requested_by
           from quota_requests where case_id = $1 order by id desc limit 1",
    )
    .bind(case_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("reading the quota request"))?;
    Ok(row.map(
        |(case_id, year, mu, cancelled, requested_at, requested_by)| QuotaRequest {
            case_id,
            year,
            mu: Amount::from_hundredths(mu),
            cancelled,
            requested_at,
            requested_by,
        },
    ))
}

/// Quota a case holds: where from, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Held {
    /// The account.
    pub holder: Holder,
    /// Its year.
    pub year: i32,
    /// The amount.
    pub mu: Amount,
}

/// What a case holds: allocations less releases and consumptions, per account (at most one
/// is non-zero).
async fn held(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<Held>, QuotaError> {
    let row: Option<(String, i32, i64)> = sqlx::query_as(
        "select holder, year, ((-sum(delta_mu) - coalesce(sum(consumed_mu), 0)) * 100)::bigint
           from quota_movements
          where case_id = $1 and kind in ('allocate', 'release', 'consume')
          group by holder, year having -sum(delta_mu) - coalesce(sum(consumed_mu), 0) <> 0
          order by year desc limit 1",
    )
    .bind(case_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("reading what the case holds"))?;
    row.map(|(holder, year, mu)| {
        Ok(Held {
            holder: Holder::parse(&holder).map_err(|e| QuotaError::Db {
                doing: "reading what the case holds",
                source: sqlx::Error::Decode(Box::new(e)),
            })?,
            year,
            mu: Amount::from_hundredths(mu),
        })
    })
    .transpose()
}

/// Records what a case needs: `mu` of `year` quota from its county. The case then waits for
/// quota until [`allocate`] gives it the whole amount. Recording the same amount and year again
/// appends nothing.
///
/// Officers (of the case's county: the caller checks the county) and reviewers may record a
/// request, while the case is not yet past conversion and holds no quota.
///
/// # Errors
/// [`QuotaError::NoSuchCase`], [`QuotaError::WrongStage`], [`QuotaError::AlreadyAllocated`],
/// [`QuotaError::ZeroAmount`], [`QuotaError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn request(
    conn: &mut PgConnection,
    case_id: Uuid,
    year: i32,
    mu: Amount,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<QuotaRequest, QuotaError> {
    if mu.is_zero() {
        return Err(QuotaError::ZeroAmount);
    }
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    let case = lock_case(&mut tx, case_id).await?.ok_or(QuotaError::NoSuchCase)?;
    rules::decide(LedgerAction::RequestQuota, actor.1, case.stage)?;
    if let Some(held) = held(&mut tx, case_id).await? {
        return Err(QuotaError::AlreadyAllocated {
            holder: held.holder,
            year: held.year,
            mu: held.mu,
        });
    }
    if let Some(current) = latest_request(&mut tx, case_id).await? {
        if !current.cancelled && current.year == year && current.mu == mu {
            return Ok(current);
        }
    }
    sqlx::query(
        "insert into quota_requests (case_id, year, mu, requested_at, requested_by)
         values ($1, $2, $3::bigint::numeric / 100, $4, $5)",
    )
    .bind(case_id)
    .bind(year)
    .bind(mu.hundredths())
    .bind(now)
    .bind(actor.0)
    .execute(&mut *tx)
    .await
    .map_err(db("recording the quota request"))?;
    let recorded = latest_request(&mut tx, case_id)
        .await?
        .ok_or(QuotaError::NoRequest)?;
    tx.commit().await.map_err(db("committing the quota request"))?;
    Ok(recorded)
}

/// Cancels a case's request in force, so it no longer waits (nor, for a key project, holds
/// other projects back). A cancellation is a new request row; the old one stays in the history.
///
/// # Errors
/// [`QuotaError::NoRequest`] when nothing is in force, [`QuotaError::AlreadyAllocated`] when
/// the case holds quota (release it instead), [`QuotaError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn cancel_request(
    conn: &mut PgConnection,
    case_id: Uuid,
    actor: (Uuid, Role),
    reason: &str,
    now: DateTime<Utc>,
) -> Result<QuotaRequest, QuotaError> {
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    let case = lock_case(&mut tx, case_id).await?.ok_or(QuotaError::NoSuchCase)?;
    rules::decide(LedgerAction::CancelQuotaRequest, actor.1, case.stage)?;
    if let Some(held) = held(&mut tx, case_id).await? {
        return Err(QuotaError::AlreadyAllocated {
            holder: held.holder,
            year: held.year,
            mu: held.mu,
        });
    }
    let current = latest_request(&mut tx, case_id)
        .await?
        .filter(|r| !r.cancelled)
        .ok_or(QuotaError::NoRequest)?;
    sqlx::query(
        "insert into quota_requests (case_id, year, mu, cancelled, requested_at, requested_by, reason)
         values ($1, $2, $3::bigint::numeric / 100, true, $4, $5, $6)",
    )
    .bind(case_id)
    .bind(current.year)
    .bind(current.mu.hundredths())
    .bind(now)
    .bind(actor.0)
    .bind(reason)
    .execute(&mut *tx)
    .await
    .map_err(db("cancelling the quota request"))?;
    let recorded = latest_request(&mut tx, case_id)
        .await?
        .ok_or(QuotaError::NoRequest)?;
    tx.commit().await.map_err(db("committing the cancellation"))?;
    Ok(recorded)
}

/// The stage codes at which a case may still ask for quota (before its conversion approval): a
/// case elsewhere does not wait, nor hold others back.
fn waiting_stages() -> Vec<&'static str> {
    rules::stages_for(LedgerAction::RequestQuota)
        .iter()
        .map(|stage| stage.code())
        .collect()
}

/// Key-project cases of `county` whose `year` request is in force and unmet, except `except`.
async fn key_projects_waiting(
    conn: &mut PgConnection,
    county: CountyCode,
    year: i32,
    except: Uuid,
) -> Result<Vec<Uuid>, QuotaError> {
    sqlx::query_scalar(
        "with latest as (
             select distinct on (r.case_id) r.case_id, r.year, r.cancelled
               from quota_requests r
               join cases c on c.id = r.case_id
              where c.county_code = $1
              order by r.case_id, r.id desc)
         select c.id
           from latest l
           join cases c on c.id = l.case_id
           join projects p on p.id = c.project_id
          where not l.cancelled and l.year = $2 and p.on_key_list and c.id <> $3
            and c.stage = any($4)
            and not exists (select 1 from quota_movements m
                             where m.case_id = c.id and m.kind in ('allocate', 'release')
                            having sum(m.delta_mu) <> 0)
          order by c.id",
    )
    .bind(county.as_str())
    .bind(year)
    .bind(except)
    .bind(waiting_stages())
    .fetch_all(&mut *conn)
    .await
    .map_err(db("looking for key projects waiting for quota"))
}

/// Allocates a case's request in force, in full, from its county's account of the request's
/// year. Only a reviewer allocates.
///
/// # Errors
/// [`QuotaError::NoSuchCase`], [`QuotaError::WrongStage`], [`QuotaError::NoRequest`],
/// [`QuotaError::AlreadyAllocated`], [`QuotaError::KeyProjectWaiting`] (a non-key case while a
/// key project of the county waits), [`QuotaError::NoAccount`], [`QuotaError::Insufficient`]
/// (including the loser of a race for the last mu), [`QuotaError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn allocate(
    conn: &mut PgConnection,
    case_id: Uuid,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<Held, QuotaError> {
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    let case = lock_case(&mut tx, case_id).await?.ok_or(QuotaError::NoSuchCase)?;
    rules::decide(LedgerAction::AllocateQuota, actor.1, case.stage)?;
    let request = latest_request(&mut tx, case_id)
        .await?
        .filter(|r| !r.cancelled)
        .ok_or(QuotaError::NoRequest)?;
    if let Some(held) = held(&mut tx, case_id).await? {
        return Err(QuotaError::AlreadyAllocated {
            holder: held.holder,
            year: held.year,
            mu: held.mu,
        });
    }
    let holder = Holder::County(case.county);
    let year = request.year;
    if !case.key_project {
        let waiting = key_projects_waiting(&mut tx, case.county, year, case_id).await?;
        if !waiting.is_empty() {
            return Err(QuotaError::KeyProjectWaiting {
                holder,
                year,
                waiting,
            });
        }
    }
    // The balance row is the point of serialisation: a concurrent allocation waits here for
    // this one's commit, then re-checks the constraint against the committed balance.
    let updated = sqlx::query_scalar::<_, i64>(
        "update quota_accounts
            set balance_mu = balance_mu - $3::bigint::numeric / 100, updated_at = $4, version = version + 1
          where holder = $1 and year = $2
      returning (balance_mu * 100)::bigint",
    )
    .bind(holder.key())
    .bind(year)
    .bind(request.mu.hundredths())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await;
    let after = match updated {
        Ok(Some(after)) => after,
        Ok(None) => return Err(QuotaError::NoAccount { holder, year }),
        Err(e) if violates(&e, BALANCE_CONSTRAINT) => {
            tx.rollback().await.map_err(db("rolling back the allocation"))?;
            let available = account(conn, holder, year)
                .await?
                .map_or(Amount::ZERO, |a| a.balance_mu);
            return Err(QuotaError::Insufficient {
                holder,
                year,
                needed: request.mu,
                available,
            });
        }
        Err(e) => return Err(db("allocating quota")(e)),
    };
    insert_movement(
        &mut tx,
        NewMovement {
            holder,
            year,
            kind: "allocate",
            delta: -request.mu.hundredths(),
            after,
            case_id: Some(case_id),
            transfer_id: None,
            actor: Some(actor.0),
            reason: None,
            at: now,
        },
    )
    .await?;
    tx.commit().await.map_err(db("committing the allocation"))?;
    Ok(Held {
        holder,
        year,
        mu: request.mu,
    })
}

/// Returns what a case holds to the account it came from, as a `release` movement. `Ok(None)`
/// when the case holds nothing (so releasing twice is harmless, and a case whose approval
/// consumed its quota has nothing to give back).
///
/// `action` says why: a reviewer's [`LedgerAction::ReleaseQuota`] before the approval, or
/// [`LedgerAction::ReturnOnClose`] for a case rejected or withdrawn before it (see
/// [`super::guarantees::release_for_closed_case`]).
///
/// # Errors
/// [`QuotaError::NoSuchCase`], [`QuotaError::WrongStage`], [`QuotaError::RoleMayNot`],
/// database failures.
#[tracing::instrument(skip(conn))]
pub async fn release(
    conn: &mut PgConnection,
    case_id: Uuid,
    action: LedgerAction,
    actor: (Option<Uuid>, Role),
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Movement>, QuotaError> {
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    let case = lock_case(&mut tx, case_id).await?.ok_or(QuotaError::NoSuchCase)?;
    let Some(held) = held(&mut tx, case_id).await? else {
        return Ok(None);
    };
    rules::decide(action, actor.1, case.stage)?;
    let after: i64 = sqlx::query_scalar(
        "update quota_accounts
            set balance_mu = balance_mu + $3::bigint::numeric / 100, updated_at = $4, version = version + 1
          where holder = $1 and year = $2
      returning (balance_mu * 100)::bigint",
    )
    .bind(held.holder.key())
    .bind(held.year)
    .bind(held.mu.hundredths())
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(db("releasing quota"))?;
    let movement = insert_movement(
        &mut tx,
        NewMovement {
            holder: held.holder,
            year: held.year,
            kind: "release",
            delta: held.mu.hundredths(),
            after,
            case_id: Some(case_id),
            transfer_id: None,
            actor: actor.0,
            reason,
            at: now,
        },
    )
    .await?;
    tx.commit().await.map_err(db("committing the release"))?;
    Ok(Some(movement))
}

/// Consumes what the case holds: called by the conversion approval, in the transaction that
/// moves the case to `supply`. One `consume` movement of the held amount; the balance stays as
/// the allocation left it. `Ok(None)` when the case holds nothing.
///
/// # Errors
/// Database failures.
pub async fn consume(
    conn: &mut PgConnection,
    case_id: Uuid,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Option<Movement>, QuotaError> {
    let Some(held) = held(conn, case_id).await? else {
        return Ok(None);
    };
    let after: i64 = sqlx::query_scalar(
        "select (balance_mu * 100)::bigint from quota_accounts where holder = $1 and year = $2",
    )
    .bind(held.holder.key())
    .bind(held.year)
    .fetch_one(&mut *conn)
    .await
    .map_err(db("reading the balance"))?;
    let movement = sqlx::query_as::<_, MovementRow>(
        "insert into quota_movements (holder, year, kind, delta_mu, balance_after_mu, case_id, actor_id,
                                      reason, at, consumed_mu)
         values ($1, $2, 'consume', 0, $3::bigint::numeric / 100, $4, $5,
                 'conversion approved', $6, $7::bigint::numeric / 100)
      returning id, holder, year, kind, (delta_mu * 100)::bigint, (balance_after_mu * 100)::bigint,
                case_id, transfer_id, actor_id, reason, at, (consumed_mu * 100)::bigint",
    )
    .bind(held.holder.key())
    .bind(held.year)
    .bind(after)
    .bind(case_id)
    .bind(actor)
    .bind(now)
    .bind(held.mu.hundredths())
    .fetch_one(&mut *conn)
    .await
    .map_err(db("consuming the case's quota"))?;
    movement_from(movement).map(Some)
}

/// What a case has consumed, in mu.
///
/// # Errors
/// Database failures.
pub async fn consumed(conn: &mut PgConnection, case_id: Uuid) -> Result<Amount, QuotaError> {
    let hundredths: i64 = sqlx::query_scalar(
        "select coalesce((sum(consumed_mu) * 100)::bigint, 0) from quota_movements
          where case_id = $1 and kind = 'consume'",
    )
    .bind(case_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db("reading what the case consumed"))?;
    Ok(Amount::from_hundredths(hundredths))
}

/// Both entries of a transfer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Transfer {
    /// The transfer's id.
    pub id: Uuid,
    /// The entry on the giving account.
    pub out: Movement,
    /// The entry on the receiving account.
    pub into: Movement,
}

/// Moves `mu` of `year` quota between a county and the municipal pool (either way). Only a
/// reviewer transfers. The receiving account is opened when it does not exist.
///
/// # Errors
/// [`QuotaError::TransferNotViaPool`], [`QuotaError::ZeroAmount`], [`QuotaError::NoAccount`],
/// [`QuotaError::Insufficient`], [`QuotaError::UnknownCounty`], [`QuotaError::RoleMayNot`],
/// database failures.
#[tracing::instrument(skip(conn))]
#[allow(clippy::too_many_arguments)] // each is a distinct fact of the transfer
pub async fn transfer(
    conn: &mut PgConnection,
    year: i32,
    from: Holder,
    to: Holder,
    mu: Amount,
    actor: (Uuid, Role),
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Transfer, QuotaError> {
    require(actor.1, &[Role::Reviewer], "transfer quota")?;
    if from == to || (from != Holder::Pool && to != Holder::Pool) {
        return Err(QuotaError::TransferNotViaPool);
    }
    if mu.is_zero() {
        return Err(QuotaError::ZeroAmount);
    }
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    ensure_account(&mut tx, to, year).await?;
    // Both rows locked in one order (by holder) so that opposite transfers cannot deadlock.
    let locked: Vec<String> = sqlx::query_scalar(
        "select holder from quota_accounts where year = $1 and holder in ($2, $3) order by holder for update",
    )
    .bind(year)
    .bind(from.key())
    .bind(to.key())
    .fetch_all(&mut *tx)
    .await
    .map_err(db("locking the quota accounts"))?;
    if !locked.iter().any(|h| h == from.key()) {
        return Err(QuotaError::NoAccount { holder: from, year });
    }
    let change = "update quota_accounts
                     set balance_mu = balance_mu + $3::bigint::numeric / 100, updated_at = $4, version = version + 1
                   where holder = $1 and year = $2
               returning (balance_mu * 100)::bigint";
    let debited = sqlx::query_scalar::<_, i64>(change)
        .bind(from.key())
        .bind(year)
        .bind(-mu.hundredths())
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
    let from_after = match debited {
        Ok(after) => after,
        Err(e) if violates(&e, BALANCE_CONSTRAINT) => {
            tx.rollback().await.map_err(db("rolling back the transfer"))?;
            let available = account(conn, from, year)
                .await?
                .map_or(Amount::ZERO, |a| a.balance_mu);
            return Err(QuotaError::Insufficient {
                holder: from,
                year,
                needed: mu,
                available,
            });
        }
        Err(e) => return Err(db("transferring quota")(e)),
    };
    let to_after: i64 = sqlx::query_scalar(change)
        .bind(to.key())
        .bind(year)
        .bind(mu.hundredths())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db("transferring quota"))?;
    let id = Uuid::now_v7();
    let entry = |holder, kind, delta, after| NewMovement {
        holder,
        year,
        kind,
        delta,
        after,
        case_id: None,
        transfer_id: Some(id),
        actor: Some(actor.0),
        reason: Some(reason),
        at: now,
    };
    let out = insert_movement(&mut tx, entry(from, "transfer_out", -mu.hundredths(), from_after)).await?;
    let into = insert_movement(&mut tx, entry(to, "transfer_in", mu.hundredths(), to_after)).await?;
    tx.commit().await.map_err(db("committing the transfer"))?;
    Ok(Transfer { id, out, into })
}

/// Everything about one case's quota.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CaseQuota {
    /// The request in force (or the cancellation), if any.
    pub request: Option<QuotaRequest>,
    /// What the case holds, if anything.
    pub held: Option<Held>,
    /// The case's ledger entries, oldest first.
    pub movements: Vec<Movement>,
}

/// The quota side of one case.
///
/// # Errors
/// Database failures.
pub async fn case_quota(conn: &mut PgConnection, case_id: Uuid) -> Result<CaseQuota, QuotaError> {
    let rows: Vec<MovementRow> = sqlx::query_as(&format!("{MOVEMENT_SELECT} where case_id = $1 order by id"))
        .bind(case_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db("reading the case's quota entries"))?;
    Ok(CaseQuota {
        request: latest_request(conn, case_id).await?,
        held: held(conn, case_id).await?,
        movements: rows.into_iter().map(movement_from).collect::<Result<_, _>>()?,
    })
}

/// What a case holds, in mu (zero when nothing).
///
/// # Errors
/// Database failures.
pub async fn case_quota_held(conn: &mut PgConnection, case_id: Uuid) -> Result<Amount, QuotaError> {
    Ok(held(conn, case_id).await?.map_or(Amount::ZERO, |h| h.mu))
}

/// Whether a case holds quota.
///
/// # Errors
/// Database failures.
pub async fn is_allocated(conn: &mut PgConnection, case_id: Uuid) -> Result<bool, QuotaError> {
    Ok(held(conn, case_id).await?.is_some())
}

/// What a reviewer can do for a waiting case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    /// The county's balance covers it and nothing comes first: allocate.
    Allocate,
    /// The county's balance falls short: transfer the shortfall from the pool (or wait).
    TransferFromPool,
    /// A key project of the same county and year waits: serve it first.
    KeyProjectsFirst,
}

/// A case waiting for quota.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WaitingCase {
    /// The case.
    pub case_id: Uuid,
    /// Its title.
    pub title: String,
    /// Its county.
    pub county_code: String,
    /// Its project.
    pub project_id: Uuid,
    /// The project's name.
    pub project_name: String,
    /// Whether the project is on a key-project list.
    pub key_project: bool,
    /// The case's stage.
    pub stage: String,
    /// The quota year asked for.
    pub year: i32,
    /// The amount asked for.
    pub mu: Amount,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// The county's balance for that year.
    pub county_balance_mu: Amount,
    /// How much the balance falls short of the request (zero when it covers it).
    pub shortfall_mu: Amount,
    /// What the reviewer can do.
    pub next_step: NextStep,
    /// What the case's latest confirmed check says it needs (its area less existing
    /// construction land); absent without a confirmed check.
    pub needed_mu: Option<Amount>,
    /// How far the request falls short of that need (zero when it covers it): the conversion
    /// cannot be approved until the case holds its need.
    pub below_need_mu: Option<Amount>,
}

type WaitingRow = (
    Uuid,
    String,
    String,
    Uuid,
    String,
    bool,
    String,
    i32,
    i64,
    DateTime<Utc>,
    i64,
    Option<i64>,
);

/// The cases waiting for quota (a request in force, nothing allocated, case still open): key
/// projects first, then by the time of the request. Limited to `year` and `counties` when given.
///
/// # Errors
/// Database failures.
pub async fn waiting(
    conn: &mut PgConnection,
    year: Option<i32>,
    counties: Option<&[String]>,
) -> Result<Vec<WaitingCase>, QuotaError> {
    let rows: Vec<WaitingRow> = sqlx::query_as(
        "with latest as (
             select distinct on (case_id) case_id, year, mu, cancelled, requested_at
               from quota_requests order by case_id, id desc),
         held as (
             select case_id, sum(delta_mu) as delta from quota_movements
              where case_id is not null group by case_id),
         checked as (
             select distinct on (case_id) case_id, stale, confirmed_at, quota_need_mu
               from checks order by case_id, run_at desc, id desc)
         select c.id, c.title, c.county_code, p.id, p.name, p.on_key_list, c.stage, l.year,
                (l.mu * 100)::bigint, l.requested_at, coalesce((a.balance_mu * 100)::bigint, 0),
                case when k.confirmed_at is not null and not k.stale
                     then (k.quota_need_mu * 100)::bigint end
           from latest l
           join cases c on c.id = l.case_id
           join projects p on p.id = c.project_id
           left join held h on h.case_id = c.id
           left join checked k on k.case_id = c.id
           left join quota_accounts a on a.holder = c.county_code and a.year = l.year
          where not l.cancelled and coalesce(h.delta, 0) = 0
            and c.stage = any($3)
            and ($1::int is null or l.year = $1)
            and ($2::text[] is null or c.county_code = any($2))
          order by p.on_key_list desc, l.requested_at, c.id",
    )
    .bind(year)
    .bind(counties)
    .bind(waiting_stages())
    .fetch_all(&mut *conn)
    .await
    .map_err(db("listing the cases waiting for quota"))?;
    let key_waiting: std::collections::HashSet<(String, i32)> =
        rows.iter().filter(|r| r.5).map(|r| (r.2.clone(), r.7)).collect();
    Ok(rows
        .into_iter()
        .map(
            |(
                case_id,
                title,
                county_code,
                project_id,
                project_name,
                key_project,
                stage,
                year,
                mu,
                requested_at,
                balance,
                needed,
            )| {
                let mu = Amount::from_hundredths(mu);
                let balance = Amount::from_hundredths(balance);
                let shortfall = mu - balance;
                let next_step = if !key_project && key_waiting.contains(&(county_code.clone(), year)) {
                    NextStep::KeyProjectsFirst
                } else if shortfall.is_zero() {
                    NextStep::Allocate
                } else {
                    NextStep::TransferFromPool
                };
                WaitingCase {
                    case_id,
                    title,
                    county_code,
                    project_id,
                    project_name,
                    key_project,
                    stage,
                    year,
                    mu,
                    requested_at,
                    county_balance_mu: balance,
                    shortfall_mu: shortfall,
                    next_step,
                    needed_mu: needed.map(Amount::from_hundredths),
                    below_need_mu: needed.map(|n| Amount::from_hundredths(n) - mu),
                }
            },
        )
        .collect())
}
