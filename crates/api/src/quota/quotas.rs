//! The construction-quota ledger (新增建设用地计划指标): what may happen to the accounts, the
//! requests and what each case holds. Its statements are in [`crate::store::ledger::quota`].
//!
//! # The ledger
//! A quota account holds one county's (or the municipal pool's) quota for one year. Its
//! balance changes only through movements: `grant` (the yearly amount set or corrected),
//! `allocate` and `release` (to and from a case), `transfer_out` and `transfer_in` (between a
//! county and the pool). Each movement is appended to `quota_movements` in the same transaction
//! that updates the balance, and the balance's check constraint
//! (`quota_accounts_balance_not_negative`) refuses any change that would overdraw it. Two
//! allocations racing for the last mu serialise on the balance row; the second fails on the
//! constraint and is answered with [`LedgerError::Insufficient`].
//!
//! # Requests and "key projects first"
//! A case first records what it needs ([`request`]): an amount in mu and the quota year. It is
//! then waiting for quota until [`allocate`] gives it the whole amount in one movement: an
//! allocation is always in full, never partial. The priority rule, checked on every
//! allocation, is:
//!
//! > A case whose project is not on a key-project list is refused
//! > ([`LedgerError::KeyProjectWaiting`]) while a key project's case in the same county and
//! > year has a request in force that is not yet allocated.
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

use std::{collections::HashSet, fmt};

use chrono::{DateTime, Utc};
use landuse_domain::{
    county::CountyCode,
    ledger::{
        rules::{self, LedgerAction},
        Amount,
    },
    role::Role,
    stage::Stage,
};
use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

pub use crate::store::ledger::quota::MovementKind;

use super::{error::LedgerError, Release};
use crate::store::{
    ledger::{
        self as ledger_db,
        quota::{self as db, NewMovement, NewRequest, BALANCE_NOT_NEGATIVE},
    },
    DbError, Doing,
};

type Result<T, E = LedgerError> = std::result::Result<T, E>;

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

    /// A stored holder key, which the schema's format constraint keeps readable.
    fn stored(key: &str, doing: &'static str) -> Result<Self, DbError> {
        Self::parse(key).map_err(|e| ledger_db::corrupt(doing, &e))
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

/// A case as the ledgers decide on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LedgerCase {
    /// Its county.
    pub county: CountyCode,
    /// Its stage.
    pub stage: Stage,
    /// Whether its project is on a key-project list.
    pub key_project: bool,
}

/// Loads and locks the case, against concurrent transitions and ledger movements.
pub(crate) async fn lock_case(conn: &mut PgConnection, case_id: Uuid) -> Result<LedgerCase> {
    let row = ledger_db::lock_case(conn, case_id)
        .await?
        .ok_or(LedgerError::NoSuchCase)?;
    let doing = "reading the case";
    Ok(LedgerCase {
        county: CountyCode::parse(&row.county_code).map_err(|e| ledger_db::corrupt(doing, &e))?,
        stage: Stage::parse(&row.stage).map_err(|e| ledger_db::corrupt(doing, &e))?,
        key_project: row.on_key_list,
    })
}

/// A quota account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Account {
    /// The holder.
    pub holder: Holder,
    /// The quota year.
    pub year: i32,
    /// The yearly amount as last set, in mu.
    pub granted_mu: Amount,
    /// What is left, in mu.
    pub balance_mu: Amount,
    /// Allocated to cases and not released (what approvals consumed included), in mu.
    pub allocated_mu: Amount,
    /// When the balance last changed.
    pub updated_at: DateTime<Utc>,
    /// The account's version: its ETag.
    pub version: i64,
}

impl TryFrom<db::AccountRow> for Account {
    type Error = DbError;

    fn try_from(row: db::AccountRow) -> Result<Self, DbError> {
        Ok(Self {
            holder: Holder::stored(&row.holder, "reading a quota account")?,
            year: row.year,
            granted_mu: Amount::from_hundredths(row.granted_hundredths),
            balance_mu: Amount::from_hundredths(row.balance_hundredths),
            allocated_mu: Amount::from_hundredths(row.allocated_hundredths),
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

/// The account of `holder` for `year`, if any quota was ever set or moved there.
///
/// # Errors
/// Database failures.
pub async fn account(conn: &mut PgConnection, holder: Holder, year: i32) -> Result<Option<Account>> {
    Ok(db::account(conn, holder.key(), year)
        .await?
        .map(Account::try_from)
        .transpose()?)
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
) -> Result<Vec<Account>> {
    let rows = db::accounts(conn, None, year, counties).await?;
    Ok(rows
        .into_iter()
        .map(Account::try_from)
        .collect::<Result<_, _>>()?)
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
    /// How the balance changed, in mu (signed: negative when it went down).
    pub delta_mu: f64,
    /// The balance after it, in mu.
    pub balance_after_mu: Amount,
    /// For a consumption: the amount the approval used, in mu.
    pub consumed_mu: Option<Amount>,
    /// The case, for allocations, releases and consumptions.
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

impl TryFrom<db::MovementRow> for Movement {
    type Error = DbError;

    fn try_from(row: db::MovementRow) -> Result<Self, DbError> {
        Ok(Self {
            id: row.id,
            holder: Holder::stored(&row.holder, "reading a quota movement")?,
            year: row.year,
            kind: row.kind,
            delta_mu: row.delta_hundredths as f64 / 100.0,
            balance_after_mu: Amount::from_hundredths(row.balance_after_hundredths),
            consumed_mu: row.consumed_hundredths.map(Amount::from_hundredths),
            case_id: row.case_id,
            transfer_id: row.transfer_id,
            actor_id: row.actor_id,
            reason: row.reason,
            at: row.at,
        })
    }
}

fn movements_from(rows: Vec<db::MovementRow>) -> Result<Vec<Movement>> {
    Ok(rows
        .into_iter()
        .map(Movement::try_from)
        .collect::<Result<_, _>>()?)
}

/// Appends `entry` and returns it as stored.
async fn append(conn: &mut PgConnection, entry: &NewMovement<'_>) -> Result<Movement> {
    Ok(db::append_movement(conn, entry).await?.try_into()?)
}

/// The ledger of one account, oldest first.
///
/// # Errors
/// Database failures.
pub async fn movements(conn: &mut PgConnection, holder: Holder, year: i32) -> Result<Vec<Movement>> {
    movements_from(db::account_movements(conn, holder.key(), year).await?)
}

/// Sets the yearly amount of `holder` for `year`. The change from the amount set before is
/// appended as a `grant` movement (nothing is appended when it is the same); lowering the
/// amount below what is already allocated or transferred away is refused.
///
/// # Errors
/// [`LedgerError::UnknownCounty`], [`LedgerError::GrantBelowInUse`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn set_yearly(
    conn: &mut PgConnection,
    holder: Holder,
    year: i32,
    granted: Amount,
    actor: Option<Uuid>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Account> {
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    open_account(&mut tx, holder, year).await?;
    let before = db::lock_grant(&mut tx, holder.key(), year).await?;
    let delta = granted.hundredths() - before.granted_hundredths;
    if delta != 0 {
        let after = match db::set_granted(&mut tx, holder.key(), year, granted.hundredths(), delta, now).await
        {
            Ok(after) => after,
            Err(e) if e.constraint() == Some(BALANCE_NOT_NEGATIVE) => {
                return Err(LedgerError::GrantBelowInUse {
                    holder,
                    year,
                    granted,
                    in_use: Amount::from_hundredths(before.granted_hundredths - before.balance_hundredths),
                })
            }
            Err(e) => return Err(e.into()),
        };
        let entry = NewMovement {
            delta,
            after,
            actor,
            reason,
            ..NewMovement::new(holder.key(), year, MovementKind::Grant, now)
        };
        append(&mut tx, &entry).await?;
    }
    let account = account(&mut tx, holder, year)
        .await?
        .ok_or(LedgerError::NoAccount { holder, year })?;
    tx.commit().await.doing("committing the yearly amount")?;
    Ok(account)
}

/// Opens the (empty) account of `holder` for `year` when it does not exist.
async fn open_account(conn: &mut PgConnection, holder: Holder, year: i32) -> Result<()> {
    match db::open_account(conn, holder.key(), year).await {
        Err(e) if e.constraint() == Some(db::ACCOUNT_COUNTY) => {
            Err(LedgerError::UnknownCounty(holder.key().to_owned()))
        }
        other => Ok(other?),
    }
}

/// Takes `mu` from the account of `holder` for `year`; `Ok(None)` when its balance does not
/// cover it (the statement failed: the caller rolls back, then says what is left).
async fn debit(
    conn: &mut PgConnection,
    holder: Holder,
    year: i32,
    mu: Amount,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    match db::move_balance(conn, holder.key(), year, -mu.hundredths(), now).await {
        Ok(Some(after)) => Ok(Some(after)),
        Ok(None) => Err(LedgerError::NoAccount { holder, year }),
        Err(e) if e.constraint() == Some(BALANCE_NOT_NEGATIVE) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The refusal of a debit the balance did not cover, with what is left as committed now.
async fn insufficient(conn: &mut PgConnection, holder: Holder, year: i32, needed: Amount) -> LedgerError {
    match account(conn, holder, year).await {
        Ok(found) => LedgerError::Insufficient {
            holder,
            year,
            needed,
            available: found.map_or(Amount::ZERO, |a| a.balance_mu),
        },
        Err(failure) => failure,
    }
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

impl From<db::RequestRow> for QuotaRequest {
    fn from(row: db::RequestRow) -> Self {
        Self {
            case_id: row.case_id,
            year: row.year,
            mu: Amount::from_hundredths(row.mu_hundredths),
            cancelled: row.cancelled,
            requested_at: row.requested_at,
            requested_by: row.requested_by,
        }
    }
}

async fn latest_request(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<QuotaRequest>> {
    Ok(db::latest_request(conn, case_id).await?.map(QuotaRequest::from))
}

/// The request in force: the latest, unless it was cancelled.
async fn request_in_force(conn: &mut PgConnection, case_id: Uuid) -> Result<QuotaRequest> {
    latest_request(conn, case_id)
        .await?
        .filter(|r| !r.cancelled)
        .ok_or(LedgerError::NoRequest)
}

/// Quota a case holds: where from, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Held {
    /// The account.
    pub holder: Holder,
    /// Its year.
    pub year: i32,
    /// The amount, in mu.
    pub mu: Amount,
}

/// What a case holds: allocations less releases and consumptions.
async fn held(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<Held>> {
    let Some(row) = db::held(conn, case_id).await? else {
        return Ok(None);
    };
    Ok(Some(Held {
        holder: Holder::stored(&row.holder, "reading what the case holds")?,
        year: row.year,
        mu: Amount::from_hundredths(row.held_hundredths),
    }))
}

/// Refuses while the case holds quota: it must be released first.
async fn holding_nothing(conn: &mut PgConnection, case_id: Uuid) -> Result<()> {
    match held(conn, case_id).await? {
        Some(Held { holder, year, mu }) => Err(LedgerError::AlreadyAllocated { holder, year, mu }),
        None => Ok(()),
    }
}

/// Records what a case needs: `mu` of `year` quota from its county. The case then waits for
/// quota until [`allocate`] gives it the whole amount. Recording the same amount and year again
/// appends nothing.
///
/// Officers (of the case's county: the caller checks the county) and reviewers may record a
/// request, while the case is not yet past conversion and holds no quota.
///
/// # Errors
/// [`LedgerError::NoSuchCase`], [`LedgerError::WrongStage`], [`LedgerError::AlreadyAllocated`],
/// [`LedgerError::ZeroAmount`], [`LedgerError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn request(
    conn: &mut PgConnection,
    case_id: Uuid,
    year: i32,
    mu: Amount,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<QuotaRequest> {
    if mu.is_zero() {
        return Err(LedgerError::ZeroAmount);
    }
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    let case = lock_case(&mut tx, case_id).await?;
    rules::decide(LedgerAction::RequestQuota, actor.1, case.stage)?;
    holding_nothing(&mut tx, case_id).await?;
    if let Some(current) = latest_request(&mut tx, case_id).await? {
        if !current.cancelled && current.year == year && current.mu == mu {
            return Ok(current);
        }
    }
    let new = NewRequest::new(case_id, year, mu.hundredths(), actor.0, now);
    let recorded = db::append_request(&mut tx, &new).await?;
    tx.commit().await.doing("committing the quota request")?;
    Ok(recorded.into())
}

/// Cancels a case's request in force, so it no longer waits (nor, for a key project, holds
/// other projects back). A cancellation is a new request row; the old one stays in the history.
///
/// # Errors
/// [`LedgerError::NoRequest`] when nothing is in force, [`LedgerError::AlreadyAllocated`] when
/// the case holds quota (release it instead), [`LedgerError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn cancel_request(
    conn: &mut PgConnection,
    case_id: Uuid,
    actor: (Uuid, Role),
    reason: &str,
    now: DateTime<Utc>,
) -> Result<QuotaRequest> {
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    let case = lock_case(&mut tx, case_id).await?;
    rules::decide(LedgerAction::CancelQuotaRequest, actor.1, case.stage)?;
    holding_nothing(&mut tx, case_id).await?;
    let current = request_in_force(&mut tx, case_id).await?;
    let new = NewRequest {
        cancelled: true,
        reason: Some(reason),
        ..NewRequest::new(case_id, current.year, current.mu.hundredths(), actor.0, now)
    };
    let recorded = db::append_request(&mut tx, &new).await?;
    tx.commit().await.doing("committing the cancellation")?;
    Ok(recorded.into())
}

/// The stage codes at which a case may still ask for quota (before its conversion approval): a
/// case elsewhere does not wait, nor hold others back.
fn waiting_stages() -> Vec<&'static str> {
    rules::stages_for(LedgerAction::RequestQuota)
        .iter()
        .map(|stage| stage.code())
        .collect()
}

/// Allocates a case's request in force, in full, from its county's account of the request's
/// year. Only a reviewer allocates.
///
/// # Errors
/// [`LedgerError::NoSuchCase`], [`LedgerError::WrongStage`], [`LedgerError::NoRequest`],
/// [`LedgerError::AlreadyAllocated`], [`LedgerError::KeyProjectWaiting`] (a non-key case while
/// a key project of the county waits), [`LedgerError::NoAccount`], [`LedgerError::Insufficient`]
/// (including the loser of a race for the last mu), [`LedgerError::RoleMayNot`], database
/// failures.
#[tracing::instrument(skip(conn))]
pub async fn allocate(
    conn: &mut PgConnection,
    case_id: Uuid,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<Held> {
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    let case = lock_case(&mut tx, case_id).await?;
    rules::decide(LedgerAction::AllocateQuota, actor.1, case.stage)?;
    let request = request_in_force(&mut tx, case_id).await?;
    holding_nothing(&mut tx, case_id).await?;
    let holder = Holder::County(case.county);
    let year = request.year;
    if !case.key_project {
        let stages = waiting_stages();
        let waiting = db::key_projects_waiting(&mut tx, case.county.as_str(), year, case_id, &stages).await?;
        if !waiting.is_empty() {
            return Err(LedgerError::KeyProjectWaiting {
                holder,
                year,
                waiting,
            });
        }
    }
    // The balance row is the point of serialisation: a concurrent allocation waits here for
    // this one's commit, then re-checks the constraint against the committed balance.
    let Some(after) = debit(&mut tx, holder, year, request.mu, now).await? else {
        tx.rollback().await.doing("rolling back the allocation")?;
        return Err(insufficient(conn, holder, year, request.mu).await);
    };
    let entry = NewMovement {
        delta: -request.mu.hundredths(),
        after,
        case_id: Some(case_id),
        actor: Some(actor.0),
        ..NewMovement::new(holder.key(), year, MovementKind::Allocate, now)
    };
    append(&mut tx, &entry).await?;
    tx.commit().await.doing("committing the allocation")?;
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
/// `release.action` says why: a reviewer's [`LedgerAction::ReleaseQuota`] before the approval,
/// or [`LedgerAction::ReturnOnClose`] for a case rejected or withdrawn before it (see
/// [`super::guarantees::release_for_closed_case`]).
///
/// # Errors
/// [`LedgerError::NoSuchCase`], [`LedgerError::WrongStage`], [`LedgerError::RoleMayNot`],
/// database failures.
#[tracing::instrument(skip(conn))]
pub async fn release(
    conn: &mut PgConnection,
    case_id: Uuid,
    release: &Release<'_>,
) -> Result<Option<Movement>> {
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    let case = lock_case(&mut tx, case_id).await?;
    let Some(held) = held(&mut tx, case_id).await? else {
        return Ok(None);
    };
    rules::decide(release.action, release.role, case.stage)?;
    let after = db::move_balance(
        &mut tx,
        held.holder.key(),
        held.year,
        held.mu.hundredths(),
        release.at,
    )
    .await?
    .ok_or(LedgerError::NoAccount {
        holder: held.holder,
        year: held.year,
    })?;
    let entry = NewMovement {
        delta: held.mu.hundredths(),
        after,
        case_id: Some(case_id),
        actor: release.by,
        reason: release.reason,
        ..NewMovement::new(held.holder.key(), held.year, MovementKind::Release, release.at)
    };
    let movement = append(&mut tx, &entry).await?;
    tx.commit().await.doing("committing the release")?;
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
) -> Result<Option<Movement>> {
    let Some(held) = held(conn, case_id).await? else {
        return Ok(None);
    };
    let balance = account(conn, held.holder, held.year)
        .await?
        .ok_or(LedgerError::NoAccount {
            holder: held.holder,
            year: held.year,
        })?
        .balance_mu;
    let entry = NewMovement {
        after: balance.hundredths(),
        consumed: Some(held.mu.hundredths()),
        case_id: Some(case_id),
        actor,
        reason: Some("conversion approved"),
        ..NewMovement::new(held.holder.key(), held.year, MovementKind::Consume, now)
    };
    append(conn, &entry).await.map(Some)
}

/// What a case has consumed, in mu.
///
/// # Errors
/// Database failures.
pub async fn consumed(conn: &mut PgConnection, case_id: Uuid) -> Result<Amount> {
    Ok(Amount::from_hundredths(db::consumed(conn, case_id).await?))
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
/// [`LedgerError::TransferNotViaPool`], [`LedgerError::ZeroAmount`],
/// [`LedgerError::NoAccount`], [`LedgerError::Insufficient`], [`LedgerError::UnknownCounty`],
/// [`LedgerError::RoleMayNot`], database failures.
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
) -> Result<Transfer> {
    if actor.1 != Role::Reviewer {
        return Err(LedgerError::RoleMayNot {
            role: actor.1,
            doing: "transfer quota",
        });
    }
    if from == to || (from != Holder::Pool && to != Holder::Pool) {
        return Err(LedgerError::TransferNotViaPool);
    }
    if mu.is_zero() {
        return Err(LedgerError::ZeroAmount);
    }
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    open_account(&mut tx, to, year).await?;
    let locked = db::lock_accounts(&mut tx, year, &[from.key(), to.key()]).await?;
    if !locked.iter().any(|h| h == from.key()) {
        return Err(LedgerError::NoAccount { holder: from, year });
    }
    let Some(from_after) = debit(&mut tx, from, year, mu, now).await? else {
        tx.rollback().await.doing("rolling back the transfer")?;
        return Err(insufficient(conn, from, year, mu).await);
    };
    let to_after = db::move_balance(&mut tx, to.key(), year, mu.hundredths(), now)
        .await?
        .ok_or(LedgerError::NoAccount { holder: to, year })?;
    let id = Uuid::now_v7();
    let entry = |holder, kind, delta, after| NewMovement {
        delta,
        after,
        transfer_id: Some(id),
        actor: Some(actor.0),
        reason: Some(reason),
        ..NewMovement::new(holder, year, kind, now)
    };
    let out = entry(
        from.key(),
        MovementKind::TransferOut,
        -mu.hundredths(),
        from_after,
    );
    let out = append(&mut tx, &out).await?;
    let into = entry(to.key(), MovementKind::TransferIn, mu.hundredths(), to_after);
    let into = append(&mut tx, &into).await?;
    tx.commit().await.doing("committing the transfer")?;
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
pub async fn case_quota(conn: &mut PgConnection, case_id: Uuid) -> Result<CaseQuota> {
    let movements = movements_from(db::case_movements(conn, case_id).await?)?;
    Ok(CaseQuota {
        request: latest_request(conn, case_id).await?,
        held: held(conn, case_id).await?,
        movements,
    })
}

/// What a case holds, in mu (zero when nothing).
///
/// # Errors
/// Database failures.
pub async fn case_quota_held(conn: &mut PgConnection, case_id: Uuid) -> Result<Amount> {
    Ok(held(conn, case_id).await?.map_or(Amount::ZERO, |h| h.mu))
}

/// Whether a case holds quota.
///
/// # Errors
/// Database failures.
pub async fn is_allocated(conn: &mut PgConnection, case_id: Uuid) -> Result<bool> {
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
    /// Its county's code.
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
    /// The amount asked for, in mu.
    pub mu: Amount,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// The county's balance for that year, in mu.
    pub county_balance_mu: Amount,
    /// How much the balance falls short of the request, in mu (zero when it covers it).
    pub shortfall_mu: Amount,
    /// What the reviewer can do.
    pub next_step: NextStep,
    /// What the case's latest confirmed check says it needs (its area less existing
    /// construction land), in mu; absent without a confirmed check.
    pub needed_mu: Option<Amount>,
    /// How far the request falls short of that need, in mu (zero when it covers it): the
    /// conversion cannot be approved until the case holds its need.
    pub below_need_mu: Option<Amount>,
}

/// The cases waiting for quota (a request in force, nothing allocated, case still open): key
/// projects first, then by the time of the request. Limited to `year` and `counties` when given.
///
/// # Errors
/// Database failures.
pub async fn waiting(
    conn: &mut PgConnection,
    year: Option<i32>,
    counties: Option<&[String]>,
) -> Result<Vec<WaitingCase>> {
    let rows = db::waiting(conn, year, counties, &waiting_stages()).await?;
    let key_waiting: HashSet<(String, i32)> = rows
        .iter()
        .filter(|r| r.key_project)
        .map(|r| (r.county_code.clone(), r.year))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let mu = Amount::from_hundredths(row.mu_hundredths);
            let balance = Amount::from_hundredths(row.county_balance_hundredths);
            let shortfall = mu - balance;
            let next_step = if !row.key_project && key_waiting.contains(&(row.county_code.clone(), row.year))
            {
                NextStep::KeyProjectsFirst
            } else if shortfall.is_zero() {
                NextStep::Allocate
            } else {
                NextStep::TransferFromPool
            };
            let needed = row.needed_hundredths.map(Amount::from_hundredths);
            WaitingCase {
                case_id: row.case_id,
                title: row.title,
                county_code: row.county_code,
                project_id: row.project_id,
                project_name: row.project_name,
                key_project: row.key_project,
                stage: row.stage,
                year: row.year,
                mu,
                requested_at: row.requested_at,
                county_balance_mu: balance,
                shortfall_mu: shortfall,
                next_step,
                needed_mu: needed,
                below_need_mu: needed.map(|n| n - mu),
            }
        })
        .collect())
}
