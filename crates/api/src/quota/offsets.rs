//! The farmland-offset ledger (补充耕地指标 / 耕地占补平衡) in the database.
//!
//! A county holds offset indicators from its land-improvement projects, each with an area, a
//! paddy (0101) area and a grain capacity. A case whose confirmed spatial check found
//! cultivated land locks indicators covering its cultivated area, its paddy area and its
//! capacity ([`lock`]; which indicators is decided by [`super::plan::plan_lock`]); the lock is
//! released on rejection or withdrawal ([`release`], returning exactly what was locked) or
//! consumed once the conversion is approved ([`consume`]). A reviewer may transfer what is left
//! of an indicator to another county ([`transfer`]); the transferred part becomes a new
//! indicator of that county naming the one it came from.
//!
//! What is available of each indicator is a row of `offset_balances`, changed only together
//! with an appended `offset_movements` row; named check constraints keep each of the three
//! quantities from going below zero, and locks take the county's balance rows `for update` in
//! registration order, so concurrent locks serialise instead of double-spending.

use chrono::{DateTime, Utc};
use landuse_domain::{
    check::{self, CheckInput, CheckVerdict, LayerKind, VerdictRules},
    county::CountyCode,
    ledger::rules::{self, LedgerAction, LedgerRefusal},
    role::Role,
    stage::Stage,
    units::SquareMetres,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use landuse_domain::ledger::{
    offset::{plan_lock, plan_release},
    Amount, AmountError, LockAdjustment, Quantities, Shortfall, Take,
};

use super::store::{lock_case, DbFailure};

/// Why an offset operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum OffsetError {
    /// The county is not one of the region's.
    #[error("{0:?} is not a county of the region")]
    UnknownCounty(String),
    /// No such case.
    #[error("no such case")]
    NoSuchCase,
    /// No such indicator.
    #[error("no such offset indicator")]
    NoSuchIndicator,
    /// A paddy area larger than the area, a blank source, a zero area.
    #[error("{0}")]
    InvalidIndicator(&'static str),
    /// The case is in a stage where this is not done.
    #[error("the case is {stage}; cannot {doing} at that stage")]
    WrongStage {
        /// The case's stage.
        stage: Stage,
        /// What was asked.
        doing: &'static str,
    },
    /// The case's latest spatial check is missing, unconfirmed or stale.
    #[error("the case's latest spatial check is {0}; a lock needs a confirmed, current check")]
    CheckNotConfirmed(&'static str),
    /// The check found no cultivated land: nothing to lock.
    #[error("the confirmed check found no cultivated land; the case needs no offset")]
    NothingToLock,
    /// The case holds no lock.
    #[error("the case holds no offset lock")]
    NothingLocked,
    /// The county's indicators do not cover the case.
    #[error(
        "the offset indicators of {county} do not cover the case: {}",
        join(shortfalls)
    )]
    Shortfall {
        /// The county.
        county: CountyCode,
        /// Each quantity that falls short.
        shortfalls: Vec<Shortfall>,
    },
    /// A transfer of more than the indicator has left.
    #[error("the indicator has less left than the transfer asks: {}", join(shortfalls))]
    TransferExceedsAvailable {
        /// Each quantity that falls short.
        shortfalls: Vec<Shortfall>,
    },
    /// A transfer to the county that already holds it.
    #[error("the indicator already belongs to {0}")]
    SameCounty(CountyCode),
    /// A transfer of nothing.
    #[error("the transfer moves nothing")]
    ZeroAmount,
    /// A figure from the check is not an amount.
    #[error("the check report has an unusable figure: {0}")]
    BadFigure(#[from] AmountError),
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

fn join(shortfalls: &[Shortfall]) -> String {
    shortfalls
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl OffsetError {
    /// A stable code, for problem types and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownCounty(_) => "unknown-county",
            Self::NoSuchCase => "no-such-case",
            Self::NoSuchIndicator => "no-such-indicator",
            Self::InvalidIndicator(_) => "invalid-indicator",
            Self::WrongStage { .. } => "offset-wrong-stage",
            Self::CheckNotConfirmed(_) => "check-not-confirmed",
            Self::NothingToLock => "offset-not-needed",
            Self::NothingLocked => "offset-nothing-locked",
            Self::Shortfall { .. } => "offset-shortfall",
            Self::TransferExceedsAvailable { .. } => "offset-transfer-exceeds-available",
            Self::SameCounty(_) => "offset-same-county",
            Self::ZeroAmount => "zero-amount",
            Self::BadFigure(_) => "check-figure-unusable",
            Self::RoleMayNot { .. } => "role-may-not",
            Self::Db { .. } => "internal",
        }
    }
}

impl From<DbFailure> for OffsetError {
    fn from(f: DbFailure) -> Self {
        Self::Db {
            doing: f.doing,
            source: f.source,
        }
    }
}

impl From<LedgerRefusal> for OffsetError {
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

fn db(doing: &'static str) -> impl FnOnce(sqlx::Error) -> OffsetError {
    move |source| OffsetError::Db { doing, source }
}

fn require(role: Role, allowed: &[Role], doing: &'static str) -> Result<(), OffsetError> {
    if allowed.contains(&role) {
        Ok(())
    } else {
        Err(OffsetError::RoleMayNot { role, doing })
    }
}

fn corrupt(doing: &'static str, what: &impl ToString) -> OffsetError {
    OffsetError::Db {
        doing,
        source: sqlx::Error::Decode(what.to_string().into()),
    }
}

/// An offset indicator with what is left of it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Indicator {
    /// Id.
    pub id: Uuid,
    /// The county holding it.
    pub county_code: CountyCode,
    /// The land-improvement project it comes from.
    pub source_project: String,
    /// Its acceptance document or filing number.
    pub source_ref: String,
    /// The indicator it was split off by a transfer.
    pub transferred_from: Option<Uuid>,
    /// What it held when registered (or transferred in).
    pub registered: Quantities,
    /// What is still available: not locked, consumed or transferred away.
    pub available: Quantities,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// Version of its balance, for ETags.
    pub version: i64,
}

type IndicatorRow = (
    Uuid,
    String,
    String,
    String,
    Option<Uuid>,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    DateTime<Utc>,
    i64,
);

const INDICATOR_SELECT: &str =
    "select i.id, i.county_code, i.source_project, i.source_ref, i.transferred_from,
        (i.area_m2 * 100)::bigint, (i.paddy_m2 * 100)::bigint, (i.capacity_kg * 100)::bigint,
        (b.area_m2 * 100)::bigint, (b.paddy_m2 * 100)::bigint, (b.capacity_kg * 100)::bigint,
        i.registered_at, b.version
   from offset_indicators i join offset_balances b on b.indicator_id = i.id";

fn quantities(area: i64, paddy: i64, capacity: i64) -> Quantities {
    Quantities {
        area_m2: Amount::from_hundredths(area),
        paddy_m2: Amount::from_hundredths(paddy),
        capacity_kg: Amount::from_hundredths(capacity),
    }
}

fn indicator_from(row: IndicatorRow) -> Result<Indicator, OffsetError> {
    let (
        id,
        county,
        source_project,
        source_ref,
        transferred_from,
        ra,
        rp,
        rc,
        aa,
        ap,
        ac,
        registered_at,
        version,
    ) = row;
    Ok(Indicator {
        id,
        county_code: CountyCode::parse(&county).map_err(|e| corrupt("reading an indicator", &e))?,
        source_project,
        source_ref,
        transferred_from,
        registered: quantities(ra, rp, rc),
        available: quantities(aa, ap, ac),
        registered_at,
        version,
    })
}

/// One indicator.
///
/// # Errors
/// Database failures.
pub async fn indicator(conn: &mut PgConnection, id: Uuid) -> Result<Option<Indicator>, OffsetError> {
    let row: Option<IndicatorRow> = sqlx::query_as(&format!("{INDICATOR_SELECT} where i.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("reading an indicator"))?;
    row.map(indicator_from).transpose()
}

/// The indicators of `counties` (all when `None`), by county then registration order; with
/// `only_available`, those with something left.
///
/// # Errors
/// Database failures.
pub async fn indicators(
    conn: &mut PgConnection,
    counties: Option<&[String]>,
    only_available: bool,
) -> Result<Vec<Indicator>, OffsetError> {
    let rows: Vec<IndicatorRow> = sqlx::query_as(&format!(
        "{INDICATOR_SELECT}
          where ($1::text[] is null or i.county_code = any($1))
            and (not $2 or b.area_m2 > 0 or b.paddy_m2 > 0 or b.capacity_kg > 0)
          order by i.county_code, i.registered_at, i.id"
    ))
    .bind(counties)
    .bind(only_available)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("listing indicators"))?;
    rows.into_iter().map(indicator_from).collect()
}

/// What a county has available in total.
///
/// # Errors
/// Database failures.
pub async fn county_available(
    conn: &mut PgConnection,
    county: CountyCode,
) -> Result<Quantities, OffsetError> {
    let (a, p, c): (i64, i64, i64) = sqlx::query_as(
        "select coalesce((sum(area_m2) * 100)::bigint, 0), coalesce((sum(paddy_m2) * 100)::bigint, 0),
                coalesce((sum(capacity_kg) * 100)::bigint, 0)
           from offset_balances where county_code = $1",
    )
    .bind(county.as_str())
    .fetch_one(&mut *conn)
    .await
    .map_err(db("adding up the county's indicators"))?;
    Ok(quantities(a, p, c))
}

/// What a movement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OffsetMovementKind {
    /// The indicator was registered.
    Register,
    /// Locked by a case.
    Lock,
    /// A case's lock returned.
    Release,
    /// A case's lock used up by the approved conversion.
    Consume,
    /// Moved to another county.
    TransferOut,
    /// Received from another county.
    TransferIn,
}

impl OffsetMovementKind {
    fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "register" => Self::Register,
            "lock" => Self::Lock,
            "release" => Self::Release,
            "consume" => Self::Consume,
            "transfer_out" => Self::TransferOut,
            "transfer_in" => Self::TransferIn,
            _ => return None,
        })
    }
}

/// One entry of the offset ledger. The amounts are magnitudes; the kind says which way they go.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OffsetMovement {
    /// Sequence number.
    pub id: i64,
    /// The indicator.
    pub indicator_id: Uuid,
    /// What happened.
    pub kind: OffsetMovementKind,
    /// The case, for locks, releases and consumption.
    pub case_id: Option<Uuid>,
    /// Pairs the two entries of a transfer.
    pub transfer_id: Option<Uuid>,
    /// How much.
    pub amounts: Quantities,
    /// Who.
    pub actor_id: Option<Uuid>,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

type OffsetMovementRow = (
    i64,
    Uuid,
    String,
    Option<Uuid>,
    Option<Uuid>,
    i64,
    i64,
    i64,
    Option<Uuid>,
    Option<String>,
    DateTime<Utc>,
);

const OFFSET_MOVEMENT_SELECT: &str = "select id, indicator_id, kind, case_id, transfer_id,
        (area_m2 * 100)::bigint, (paddy_m2 * 100)::bigint, (capacity_kg * 100)::bigint, actor_id, reason, at
   from offset_movements";

fn offset_movement_from(row: OffsetMovementRow) -> Result<OffsetMovement, OffsetError> {
    let (id, indicator_id, kind, case_id, transfer_id, a, p, c, actor_id, reason, at) = row;
    Ok(OffsetMovement {
        id,
        indicator_id,
        kind: OffsetMovementKind::parse(&kind)
            .ok_or_else(|| corrupt("reading the offset ledger", &format!("unknown kind {kind}")))?,
        case_id,
        transfer_id,
        amounts: quantities(a, p, c),
        actor_id,
        reason,
        at,
    })
}

/// The ledger of one indicator, oldest first.
///
/// # Errors
/// Database failures.
pub async fn indicator_movements(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Vec<OffsetMovement>, OffsetError> {
    let rows: Vec<OffsetMovementRow> = sqlx::query_as(&format!(
        "{OFFSET_MOVEMENT_SELECT} where indicator_id = $1 order by id"
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading the offset ledger"))?;
    rows.into_iter().map(offset_movement_from).collect()
}

struct NewOffsetMovement<'a> {
    indicator_id: Uuid,
    kind: &'static str,
    case_id: Option<Uuid>,
    transfer_id: Option<Uuid>,
    amounts: Quantities,
    actor: Option<Uuid>,
    reason: Option<&'a str>,
    at: DateTime<Utc>,
}

async fn append(conn: &mut PgConnection, m: NewOffsetMovement<'_>) -> Result<(), OffsetError> {
    sqlx::query(
        "insert into offset_movements (indicator_id, kind, case_id, transfer_id, area_m2, paddy_m2, capacity_kg,
                                       actor_id, reason, at)
         values ($1, $2, $3, $4, $5::bigint::numeric / 100, $6::bigint::numeric / 100, $7::bigint::numeric / 100,
                 $8, $9, $10)",
    )
    .bind(m.indicator_id)
    .bind(m.kind)
    .bind(m.case_id)
    .bind(m.transfer_id)
    .bind(m.amounts.area_m2.hundredths())
    .bind(m.amounts.paddy_m2.hundredths())
    .bind(m.amounts.capacity_kg.hundredths())
    .bind(m.actor)
    .bind(m.reason)
    .bind(m.at)
    .execute(&mut *conn)
    .await
    .map_err(db("appending to the offset ledger"))?;
    Ok(())
}

/// Changes an indicator's available amounts by `sign × amounts`; the named check constraints
/// refuse a negative result.
async fn change_balance(
    conn: &mut PgConnection,
    indicator_id: Uuid,
    amounts: &Quantities,
    sign: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update offset_balances
            set area_m2 = area_m2 + $2::bigint::numeric / 100, paddy_m2 = paddy_m2 + $3::bigint::numeric / 100,
                capacity_kg = capacity_kg + $4::bigint::numeric / 100, version = version + 1
          where indicator_id = $1",
    )
    .bind(indicator_id)
    .bind(sign * amounts.area_m2.hundredths())
    .bind(sign * amounts.paddy_m2.hundredths())
    .bind(sign * amounts.capacity_kg.hundredths())
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

#[allow(clippy::too_many_arguments)] // each is a distinct fact of the indicator
async fn insert_indicator(
    conn: &mut PgConnection,
    county: CountyCode,
    source_project: &str,
    source_ref: &str,
    transferred_from: Option<Uuid>,
    amounts: &Quantities,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Uuid, OffsetError> {
    let id = Uuid::now_v7();
    let inserted = sqlx::query(
        "insert into offset_indicators (id, county_code, source_project, source_ref, transferred_from,
                                        area_m2, paddy_m2, capacity_kg, registered_at, registered_by)
         values ($1, $2, $3, $4, $5, $6::bigint::numeric / 100, $7::bigint::numeric / 100,
                 $8::bigint::numeric / 100, $9, $10)",
    )
    .bind(id)
    .bind(county.as_str())
    .bind(source_project)
    .bind(source_ref)
    .bind(transferred_from)
    .bind(amounts.area_m2.hundredths())
    .bind(amounts.paddy_m2.hundredths())
    .bind(amounts.capacity_kg.hundredths())
    .bind(now)
    .bind(actor)
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {
            return Err(OffsetError::UnknownCounty(county.as_str().to_owned()))
        }
        Err(e) => return Err(db("registering the indicator")(e)),
    }
    sqlx::query(
        "insert into offset_balances (indicator_id, county_code, area_m2, paddy_m2, capacity_kg)
         values ($1, $2, 0, 0, 0)",
    )
    .bind(id)
    .bind(county.as_str())
    .execute(&mut *conn)
    .await
    .map_err(db("opening the indicator's balance"))?;
    change_balance(conn, id, amounts, 1)
        .await
        .map_err(db("opening the indicator's balance"))?;
    Ok(id)
}

/// Registers an indicator a county's land-improvement project produced. Officers (of the
/// county: the caller checks), reviewers and admins may.
///
/// # Errors
/// [`OffsetError::InvalidIndicator`] (no area, paddy above area, no source),
/// [`OffsetError::UnknownCounty`], [`OffsetError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
#[allow(clippy::too_many_arguments)] // each is a distinct fact of the indicator
pub async fn register(
    conn: &mut PgConnection,
    county: CountyCode,
    source_project: &str,
    source_ref: &str,
    amounts: Quantities,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<Indicator, OffsetError> {
    require(
        actor.1,
        &[Role::Officer, Role::Reviewer, Role::Admin],
        "register offset indicators",
    )?;
    if source_project.trim().is_empty() {
        return Err(OffsetError::InvalidIndicator(
            "name the land-improvement project the indicator comes from",
        ));
    }
    if amounts.area_m2.is_zero() {
        return Err(OffsetError::InvalidIndicator(
            "an indicator needs an area above zero",
        ));
    }
    if amounts.paddy_m2 > amounts.area_m2 {
        return Err(OffsetError::InvalidIndicator(
            "the paddy area is part of the area and cannot exceed it",
        ));
    }
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    let id = insert_indicator(
        &mut tx,
        county,
        source_project.trim(),
        source_ref.trim(),
        None,
        &amounts,
        Some(actor.0),
        now,
    )
    .await?;
    append(
        &mut tx,
        NewOffsetMovement {
            indicator_id: id,
            kind: "register",
            case_id: None,
            transfer_id: None,
            amounts,
            actor: Some(actor.0),
            reason: None,
            at: now,
        },
    )
    .await?;
    let registered = indicator(&mut tx, id)
        .await?
        .ok_or(OffsetError::NoSuchIndicator)?;
    tx.commit().await.map_err(db("committing the indicator"))?;
    Ok(registered)
}

/// What the latest confirmed check of a case says it needs: the quota for its new construction
/// land, and the cultivated and paddy area the offset must cover. Decided again from the stored
/// report's input with every planner's dismissal applied, so a dismissed sliver of cultivated
/// land lowers the offset and a dismissed construction-land hit raises the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckNeeds {
    /// The confirmed check.
    pub check_id: Uuid,
    /// The construction-land quota the case needs, in mu.
    pub quota_mu: Amount,
    /// Cultivated area (0101 + 0102 + 0103) and paddy area (0101); capacity is not measured.
    pub cultivated: Quantities,
}

/// The needs of the case's latest check, or why there are none: `Err` with the check's state
/// (`missing`, `stale`, `not confirmed`) when the latest check is not a confirmed, current one.
///
/// # Errors
/// The outer `Err`: database failures, and a stored report that cannot be read or decided on
/// (a corrupt record is an error, never a default).
pub async fn confirmed_needs(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Result<CheckNeeds, &'static str>, OffsetError> {
    let latest: Option<(Uuid, bool, Option<DateTime<Utc>>, Value)> = sqlx::query_as(
        "select id, stale, confirmed_at, report from checks where case_id = $1
          order by run_at desc, id desc limit 1",
    )
    .bind(case_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("reading the latest check"))?;
    let (check_id, report) = match latest {
        None => return Ok(Err("missing")),
        Some((_, true, _, _)) => return Ok(Err("stale")),
        Some((_, false, None, _)) => return Ok(Err("not confirmed")),
        Some((id, false, Some(_), report)) => (id, report),
    };
    let verdict = decide_with_dismissals(conn, check_id, &report).await?;
    let split = verdict.verdict.cultivated();
    let area_m2 = Amount::round(split.total().value())?;
    Ok(Ok(CheckNeeds {
        check_id,
        quota_mu: verdict.verdict.quota_need_mu(verdict.case_area),
        cultivated: Quantities {
            area_m2,
            paddy_m2: Amount::round(split.paddy.value())?.min(area_m2),
            capacity_kg: Amount::ZERO,
        },
    }))
}

/// A stored report decided again, with the case area it was decided for.
pub(crate) struct Decided {
    /// The verdict with every dismissal applied.
    pub verdict: CheckVerdict,
    /// The area of the case's parcels.
    pub case_area: SquareMetres,
}

/// Decides the stored report of check `check_id` again with every planner's dismissal of it
/// applied: the one way the service re-decides a check (a dismissal's new result, the needs
/// of the ledgers).
///
/// # Errors
/// Database failures; a report or dismissal that cannot be read.
pub(crate) async fn decide_with_dismissals(
    conn: &mut PgConnection,
    check_id: Uuid,
    report: &Value,
) -> Result<Decided, OffsetError> {
    let dismissed: Vec<(String, i32)> = sqlx::query_as(
        "select layer_kind, hit_index from check_hits where check_id = $1 and dismissed_at is not null",
    )
    .bind(check_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading the check's dismissals"))?;
    let dismissed = dismissed
        .into_iter()
        .map(|(kind, index)| {
            let kind = LayerKind::parse(&kind).map_err(|e| corrupt("reading a dismissal", &e))?;
            let index = usize::try_from(index).map_err(|e| corrupt("reading a dismissal", &e))?;
            Ok((kind, index))
        })
        .collect::<Result<Vec<_>, OffsetError>>()?;
    decide_again(report, &dismissed)
}

/// Decides a stored check report (the spatial crate's `CheckReport`) again from its `input` and
/// `rules`, with the `dismissed` hits left out.
fn decide_again(report: &Value, dismissed: &[(LayerKind, usize)]) -> Result<Decided, OffsetError> {
    let reading = "reading the stored check report";
    let input = CheckInput::deserialize(&report["input"]).map_err(|e| corrupt(reading, &e))?;
    let rules = VerdictRules::deserialize(&report["rules"]).map_err(|e| corrupt(reading, &e))?;
    let input = input.with_dismissed(dismissed);
    let verdict = check::evaluate(&input, &rules).map_err(|e| corrupt(reading, &e))?;
    Ok(Decided {
        verdict,
        case_area: input.case_area,
    })
}

/// What a lock needs: the confirmed check's cultivated and paddy area with `capacity_kg`, the
/// grain capacity the reviewer states from the land-quality grading (the check cannot measure
/// it).
///
/// # Errors
/// [`OffsetError::CheckNotConfirmed`], [`OffsetError::NothingToLock`] when the check found no
/// cultivated land, [`OffsetError::BadFigure`], database failures and unreadable reports.
pub async fn needs_from_check(
    conn: &mut PgConnection,
    case_id: Uuid,
    capacity_kg: Amount,
) -> Result<(Uuid, Quantities), OffsetError> {
    let needs = confirmed_needs(conn, case_id)
        .await?
        .map_err(OffsetError::CheckNotConfirmed)?;
    if needs.cultivated.area_m2.is_zero() {
        return Err(OffsetError::NothingToLock);
    }
    Ok((
        needs.check_id,
        Quantities {
            capacity_kg,
            ..needs.cultivated
        },
    ))
}

/// The need in force for the case's lock: the latest one a lock or an adjustment recorded.
///
/// # Errors
/// Database failures.
pub async fn need_in_force(
    conn: &mut PgConnection,
    case_id: Uuid,
) -> Result<Option<(Uuid, Quantities)>, OffsetError> {
    let row: Option<(Uuid, i64, i64, i64)> = sqlx::query_as(
        "select check_id, (area_m2 * 100)::bigint, (paddy_m2 * 100)::bigint, (capacity_kg * 100)::bigint
           from offset_needs where case_id = $1 order by id desc limit 1",
    )
    .bind(case_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db("reading the case's offset need"))?;
    Ok(row.map(|(check, a, p, c)| (check, quantities(a, p, c))))
}

/// One indicator's part of a case's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LockLine {
    /// The indicator.
    pub indicator_id: Uuid,
    /// Locked and still outstanding.
    pub locked: Quantities,
    /// Consumed by the approved conversion.
    pub consumed: Quantities,
}

/// The offset side of one case.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CaseOffset {
    /// Outstanding locks, in total.
    pub locked: Quantities,
    /// Consumed, in total.
    pub consumed: Quantities,
    /// Per indicator.
    pub lines: Vec<LockLine>,
    /// The case's ledger entries, oldest first.
    pub movements: Vec<OffsetMovement>,
}

impl CaseOffset {
    /// Whether the case's offset is in place: locked or already consumed.
    pub fn in_place(&self) -> bool {
        !self.locked.is_zero() || !self.consumed.is_zero()
    }
}

/// The offset side of a case: what it locked and consumed, per indicator and in total.
///
/// # Errors
/// Database failures.
pub async fn case_offset(conn: &mut PgConnection, case_id: Uuid) -> Result<CaseOffset, OffsetError> {
    let rows: Vec<OffsetMovementRow> = sqlx::query_as(&format!(
        "{OFFSET_MOVEMENT_SELECT} where case_id = $1 order by id"
    ))
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("reading the case's offset entries"))?;
    let movements: Vec<OffsetMovement> = rows
        .into_iter()
        .map(offset_movement_from)
        .collect::<Result<_, _>>()?;
    let mut lines: Vec<LockLine> = Vec::new();
    for m in &movements {
        let index = if let Some(i) = lines.iter().position(|l| l.indicator_id == m.indicator_id) {
            i
        } else {
            lines.push(LockLine {
                indicator_id: m.indicator_id,
                locked: Quantities::ZERO,
                consumed: Quantities::ZERO,
            });
            lines.len() - 1
        };
        let line = &mut lines[index];
        match m.kind {
            OffsetMovementKind::Lock => line.locked = line.locked.plus(&m.amounts),
            OffsetMovementKind::Release => line.locked = line.locked.minus(&m.amounts),
            OffsetMovementKind::Consume => {
                line.locked = line.locked.minus(&m.amounts);
                line.consumed = line.consumed.plus(&m.amounts);
            }
            _ => {}
        }
    }
    lines.retain(|l| !l.locked.is_zero() || !l.consumed.is_zero());
    let locked = lines.iter().fold(Quantities::ZERO, |s, l| s.plus(&l.locked));
    let consumed = lines.iter().fold(Quantities::ZERO, |s, l| s.plus(&l.consumed));
    Ok(CaseOffset {
        locked,
        consumed,
        lines,
        movements,
    })
}

/// Whether the case's offset is in place (the `offset_locked` fact of the stage rules).
///
/// # Errors
/// Database failures.
pub async fn is_locked(conn: &mut PgConnection, case_id: Uuid) -> Result<bool, OffsetError> {
    Ok(case_offset(conn, case_id).await?.in_place())
}

/// Brings the case's lock to `needs`, measured on the confirmed check `check_id`: locks
/// indicators of the case's county where the lock falls short ([`plan_lock`]: oldest first,
/// each quantity filled independently) and returns what exceeds the need ([`plan_release`]:
/// newest first). The need is recorded, so the ledger shows what every lock was measured
/// against. A first lock and a re-lock after the parcels changed are the same operation. All or
/// nothing: when the county falls short nothing is taken or returned and the error names each
/// quantity short and by how much.
///
/// # Errors
/// [`OffsetError::NoSuchCase`], [`OffsetError::WrongStage`], [`OffsetError::NothingToLock`],
/// [`OffsetError::Shortfall`], [`OffsetError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn lock(
    conn: &mut PgConnection,
    case_id: Uuid,
    check_id: Uuid,
    needs: Quantities,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<CaseOffset, OffsetError> {
    if needs.area_m2.is_zero() && needs.paddy_m2.is_zero() && needs.capacity_kg.is_zero() {
        return Err(OffsetError::NothingToLock);
    }
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    let case = lock_case(&mut tx, case_id)
        .await?
        .ok_or(OffsetError::NoSuchCase)?;
    rules::decide(LedgerAction::LockOffset, actor.1, case.stage)?;
    let current = case_offset(&mut tx, case_id).await?;
    let adjustment = LockAdjustment::between(&needs, &current.locked);
    if !adjustment.top_up.is_zero() {
        // Every balance row of the county, locked in registration order: concurrent locks in
        // one county take turns, and each sees what the previous one left.
        let rows: Vec<(Uuid, i64, i64, i64)> = sqlx::query_as(
            "select b.indicator_id, (b.area_m2 * 100)::bigint, (b.paddy_m2 * 100)::bigint, (b.capacity_kg * 100)::bigint
               from offset_balances b join offset_indicators i on i.id = b.indicator_id
              where b.county_code = $1
              order by i.registered_at, i.id
                for update of b",
        )
        .bind(case.county.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(db("locking the county's indicators"))?;
        let available: Vec<(Uuid, Quantities)> = rows
            .into_iter()
            .map(|(id, a, p, c)| (id, quantities(a, p, c)))
            .collect();
        let takes =
            plan_lock(adjustment.top_up, &available).map_err(|shortfalls| OffsetError::Shortfall {
                county: case.county,
                shortfalls,
            })?;
        for take in &takes {
            move_lock(&mut tx, case_id, take, "lock", Some(actor.0), None, now).await?;
        }
    }
    if !adjustment.excess.is_zero() {
        let reason = Some("the lock follows the latest confirmed check");
        for take in plan_release(adjustment.excess, &lock_lines(&current)) {
            move_lock(&mut tx, case_id, &take, "release", Some(actor.0), reason, now).await?;
        }
    }
    record_need(&mut tx, case_id, check_id, &needs, Some(actor.0), now).await?;
    let locked = case_offset(&mut tx, case_id).await?;
    tx.commit().await.map_err(db("committing the lock"))?;
    Ok(locked)
}

/// After a new check of a case is confirmed: brings a lock made against an older check to what
/// the new one measures, keeping the grain capacity stated last. What exceeds the new need goes
/// back at once; a top-up the county's indicators cannot cover is left undone, and the
/// conversion approval is refused naming the shortfall until a reviewer locks again. Does
/// nothing for a case that never locked, and nothing once the case is past its approval.
///
/// # Errors
/// Database failures and unreadable reports.
pub async fn follow_check(
    conn: &mut PgConnection,
    case_id: Uuid,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<Option<CaseOffset>, OffsetError> {
    let Some((_, stated)) = need_in_force(conn, case_id).await? else {
        return Ok(None);
    };
    let Ok(measured) = confirmed_needs(conn, case_id).await? else {
        return Ok(None);
    };
    let needs = Quantities {
        capacity_kg: stated.capacity_kg,
        ..measured.cultivated
    };
    match lock(
        conn,
        case_id,
        measured.check_id,
        needs,
        (actor.0, Role::Reviewer),
        now,
    )
    .await
    {
        Ok(offset) => Ok(Some(offset)),
        Err(OffsetError::Shortfall { .. }) => {
            // Give back what the smaller need leaves over, and record the need, so the approval
            // measures against it; the top-up waits for the county's indicators.
            let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
            let current = case_offset(&mut tx, case_id).await?;
            let excess = LockAdjustment::between(&needs, &current.locked).excess;
            let reason = Some("the lock follows the latest confirmed check");
            for take in plan_release(excess, &lock_lines(&current)) {
                move_lock(&mut tx, case_id, &take, "release", Some(actor.0), reason, now).await?;
            }
            record_need(&mut tx, case_id, measured.check_id, &needs, Some(actor.0), now).await?;
            let after = case_offset(&mut tx, case_id).await?;
            tx.commit().await.map_err(db("committing the adjustment"))?;
            Ok(Some(after))
        }
        Err(OffsetError::WrongStage { .. } | OffsetError::NothingToLock) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The case's outstanding lock per indicator, oldest line first.
fn lock_lines(offset: &CaseOffset) -> Vec<(Uuid, Quantities)> {
    offset
        .lines
        .iter()
        .filter(|l| !l.locked.is_zero())
        .map(|l| (l.indicator_id, l.locked))
        .collect()
}

/// One `lock` (taken from the indicator's balance) or `release` (given back to it) movement.
async fn move_lock(
    tx: &mut PgConnection,
    case_id: Uuid,
    take: &Take,
    kind: &'static str,
    actor: Option<Uuid>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), OffsetError> {
    let sign = if kind == "lock" { -1 } else { 1 };
    change_balance(tx, take.indicator_id, &take.amounts, sign)
        .await
        .map_err(db("changing an indicator's balance"))?;
    append(
        tx,
        NewOffsetMovement {
            indicator_id: take.indicator_id,
            kind,
            case_id: Some(case_id),
            transfer_id: None,
            amounts: take.amounts,
            actor,
            reason,
            at: now,
        },
    )
    .await
}

async fn record_need(
    tx: &mut PgConnection,
    case_id: Uuid,
    check_id: Uuid,
    needs: &Quantities,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), OffsetError> {
    sqlx::query(
        "insert into offset_needs (case_id, check_id, area_m2, paddy_m2, capacity_kg, stated_by, at)
         values ($1, $2, $3::bigint::numeric / 100, $4::bigint::numeric / 100, $5::bigint::numeric / 100, $6, $7)",
    )
    .bind(case_id)
    .bind(check_id)
    .bind(needs.area_m2.hundredths())
    .bind(needs.paddy_m2.hundredths())
    .bind(needs.capacity_kg.hundredths())
    .bind(actor)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(db("recording the offset need"))?;
    Ok(())
}

/// Returns a case's outstanding lock to the indicators it came from, exactly as locked, one
/// `release` movement per indicator. `Ok(None)` when nothing is locked (releasing twice is
/// harmless). What was consumed stays consumed: after the approval nothing is locked.
///
/// `action` says why: a reviewer's [`LedgerAction::ReleaseOffset`] before the approval, or
/// [`LedgerAction::ReturnOnClose`] when the case was rejected or withdrawn before it.
///
/// # Errors
/// [`OffsetError::NoSuchCase`], [`OffsetError::WrongStage`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn release(
    conn: &mut PgConnection,
    case_id: Uuid,
    action: LedgerAction,
    actor: (Option<Uuid>, Role),
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Quantities>, OffsetError> {
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    let case = lock_case(&mut tx, case_id)
        .await?
        .ok_or(OffsetError::NoSuchCase)?;
    let current = case_offset(&mut tx, case_id).await?;
    if current.locked.is_zero() {
        return Ok(None);
    }
    rules::decide(action, actor.1, case.stage)?;
    for take in plan_release(current.locked, &lock_lines(&current)) {
        move_lock(&mut tx, case_id, &take, "release", actor.0, reason, now).await?;
    }
    tx.commit().await.map_err(db("committing the release"))?;
    Ok(Some(current.locked))
}

/// Uses up a case's lock (核销): the indicators' locked amounts become consumed for good. The
/// conversion approval does this by itself, in the transaction that moves the case to
/// `supply`; a reviewer may consume a lock still left after it.
///
/// # Errors
/// [`OffsetError::NoSuchCase`], [`OffsetError::WrongStage`] (before the approval),
/// [`OffsetError::NothingLocked`], [`OffsetError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn consume(
    conn: &mut PgConnection,
    case_id: Uuid,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<CaseOffset, OffsetError> {
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    let case = lock_case(&mut tx, case_id)
        .await?
        .ok_or(OffsetError::NoSuchCase)?;
    rules::decide(LedgerAction::ConsumeOffset, actor.1, case.stage)?;
    let current = case_offset(&mut tx, case_id).await?;
    if current.locked.is_zero() {
        return Err(OffsetError::NothingLocked);
    }
    for line in current.lines.iter().filter(|l| !l.locked.is_zero()) {
        append(
            &mut tx,
            NewOffsetMovement {
                indicator_id: line.indicator_id,
                kind: "consume",
                case_id: Some(case_id),
                transfer_id: None,
                amounts: line.locked,
                actor: Some(actor.0),
                reason: None,
                at: now,
            },
        )
        .await?;
    }
    let after = case_offset(&mut tx, case_id).await?;
    tx.commit().await.map_err(db("committing the consumption"))?;
    Ok(after)
}

/// The two sides of an offset transfer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OffsetTransfer {
    /// The transfer's id.
    pub id: Uuid,
    /// The indicator given from, as it is now.
    pub from: Indicator,
    /// The new indicator of the receiving county.
    pub to: Indicator,
}

/// Moves `amounts` of an indicator (everything it has left when `None`) to another county,
/// where they become a new indicator naming the one they came from. Only a reviewer transfers.
///
/// # Errors
/// [`OffsetError::NoSuchIndicator`], [`OffsetError::SameCounty`], [`OffsetError::ZeroAmount`],
/// [`OffsetError::TransferExceedsAvailable`], [`OffsetError::UnknownCounty`],
/// [`OffsetError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn transfer(
    conn: &mut PgConnection,
    indicator_id: Uuid,
    to: CountyCode,
    amounts: Option<Quantities>,
    actor: (Uuid, Role),
    reason: &str,
    now: DateTime<Utc>,
) -> Result<OffsetTransfer, OffsetError> {
    require(actor.1, &[Role::Reviewer], "transfer offset indicators")?;
    let mut tx = conn.begin().await.map_err(db("starting a transaction"))?;
    let locked: Option<(i64,)> =
        sqlx::query_as("select version from offset_balances where indicator_id = $1 for update")
            .bind(indicator_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("locking the indicator"))?;
    if locked.is_none() {
        return Err(OffsetError::NoSuchIndicator);
    }
    let source = indicator(&mut tx, indicator_id)
        .await?
        .ok_or(OffsetError::NoSuchIndicator)?;
    if source.county_code == to {
        return Err(OffsetError::SameCounty(to));
    }
    let amounts = amounts.unwrap_or(source.available);
    if amounts.is_zero() {
        return Err(OffsetError::ZeroAmount);
    }
    if amounts.area_m2.is_zero() {
        return Err(OffsetError::InvalidIndicator(
            "the transferred part becomes an indicator of its own and needs an area above zero",
        ));
    }
    if let Err(shortfalls) = plan_lock(amounts, &[(indicator_id, source.available)]) {
        return Err(OffsetError::TransferExceedsAvailable { shortfalls });
    }
    if amounts.paddy_m2 > amounts.area_m2 {
        return Err(OffsetError::InvalidIndicator(
            "the paddy area is part of the area and cannot exceed it",
        ));
    }
    change_balance(&mut tx, indicator_id, &amounts, -1)
        .await
        .map_err(db("taking from the indicator"))?;
    let new_id = insert_indicator(
        &mut tx,
        to,
        &source.source_project,
        &source.source_ref,
        Some(indicator_id),
        &amounts,
        Some(actor.0),
        now,
    )
    .await?;
    let id = Uuid::now_v7();
    for (indicator, kind) in [(indicator_id, "transfer_out"), (new_id, "transfer_in")] {
        append(
            &mut tx,
            NewOffsetMovement {
                indicator_id: indicator,
                kind,
                case_id: None,
                transfer_id: Some(id),
                amounts,
                actor: Some(actor.0),
                reason: Some(reason),
                at: now,
            },
        )
        .await?;
    }
    let from = indicator(&mut tx, indicator_id)
        .await?
        .ok_or(OffsetError::NoSuchIndicator)?;
    let to = indicator(&mut tx, new_id)
        .await?
        .ok_or(OffsetError::NoSuchIndicator)?;
    tx.commit().await.map_err(db("committing the transfer"))?;
    Ok(OffsetTransfer { id, from, to })
}
