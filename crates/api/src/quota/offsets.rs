//! The farmland-offset ledger (补充耕地指标 / 耕地占补平衡): what may happen to the indicators
//! and to each case's lock. Its statements are in [`crate::store::ledger::offsets`] and
//! [`crate::store::ledger::needs`]; a case's checks are read through [`crate::store::checks`],
//! the one place that says which check is the latest.
//!
//! A county holds offset indicators from its land-improvement projects, each with an area, a
//! paddy (0101) area and a grain capacity. A case whose confirmed spatial check found
//! cultivated land locks indicators covering its cultivated area, its paddy area and its
//! capacity ([`lock`]; which indicators is decided by [`plan_lock`]); the lock is released on
//! rejection or withdrawal ([`release`], returning exactly what was locked) or consumed once the
//! conversion is approved ([`consume`]). A reviewer may transfer what is left of an indicator to
//! another county ([`transfer`]); the transferred part becomes a new indicator of that county
//! naming the one it came from.
//!
//! What is available of each indicator is a row of `offset_balances`, changed only together
//! with an appended `offset_movements` row; named check constraints keep each of the three
//! quantities from going below zero, and locks take the county's balance rows `for update` in
//! registration order, so concurrent locks serialise instead of double-spending.

use chrono::{DateTime, Utc};
use landuse_domain::{
    check::{self, CheckInput, CheckVerdict, LayerKind, VerdictRules},
    county::CountyCode,
    ledger::{
        offset::{plan_lock, plan_release},
        rules::{self, LedgerAction},
        Amount, LockAdjustment, Quantities, Take,
    },
    role::Role,
    units::SquareMetres,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

pub use crate::store::ledger::offsets::OffsetMovementKind;

use super::{error::LedgerError, quotas::lock_case, Release};
use crate::store::{
    checks,
    ledger::{
        self as ledger_db,
        needs::{self, NeedRow},
        offsets::{self as db, NewIndicator, NewOffsetMovement, QuantitiesRow, FOREIGN_KEY_VIOLATION},
    },
    DbError, Doing,
};

type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// An offset indicator with what is left of it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Indicator {
    /// The indicator's id.
    pub id: Uuid,
    /// The county holding it.
    pub county_code: CountyCode,
    /// The land-improvement project it comes from.
    pub source_project: String,
    /// Its acceptance document or filing number.
    pub source_ref: String,
    /// The indicator a transfer split it off.
    pub transferred_from: Option<Uuid>,
    /// What it held when registered (or transferred in).
    pub registered: Quantities,
    /// What is still available: not locked, consumed or transferred away.
    pub available: Quantities,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// The version of its balance: its ETag.
    pub version: i64,
}

impl TryFrom<db::IndicatorRow> for Indicator {
    type Error = DbError;

    fn try_from(row: db::IndicatorRow) -> Result<Self, DbError> {
        let registered = QuantitiesRow {
            area_hundredths: row.registered_area_hundredths,
            paddy_hundredths: row.registered_paddy_hundredths,
            capacity_hundredths: row.registered_capacity_hundredths,
        };
        let available = QuantitiesRow {
            area_hundredths: row.available_area_hundredths,
            paddy_hundredths: row.available_paddy_hundredths,
            capacity_hundredths: row.available_capacity_hundredths,
        };
        Ok(Self {
            id: row.id,
            county_code: CountyCode::parse(&row.county_code)
                .map_err(|e| ledger_db::corrupt("reading an indicator", &e))?,
            source_project: row.source_project,
            source_ref: row.source_ref,
            transferred_from: row.transferred_from,
            registered: registered.into(),
            available: available.into(),
            registered_at: row.registered_at,
            version: row.version,
        })
    }
}

/// One indicator.
///
/// # Errors
/// Database failures.
pub async fn indicator(conn: &mut PgConnection, id: Uuid) -> Result<Option<Indicator>> {
    Ok(db::indicator(conn, id)
        .await?
        .map(Indicator::try_from)
        .transpose()?)
}

/// One indicator that must exist.
async fn existing(conn: &mut PgConnection, id: Uuid) -> Result<Indicator> {
    indicator(conn, id).await?.ok_or(LedgerError::NoSuchIndicator)
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
) -> Result<Vec<Indicator>> {
    let rows = db::indicators(conn, counties, only_available).await?;
    Ok(rows
        .into_iter()
        .map(Indicator::try_from)
        .collect::<Result<_, _>>()?)
}

/// What a county has available in total.
///
/// # Errors
/// Database failures.
pub async fn county_available(conn: &mut PgConnection, county: CountyCode) -> Result<Quantities> {
    Ok(db::county_available(conn, county.as_str()).await?.into())
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

impl From<db::OffsetMovementRow> for OffsetMovement {
    fn from(row: db::OffsetMovementRow) -> Self {
        Self {
            id: row.id,
            indicator_id: row.indicator_id,
            kind: row.kind,
            case_id: row.case_id,
            transfer_id: row.transfer_id,
            amounts: row.amounts.into(),
            actor_id: row.actor_id,
            reason: row.reason,
            at: row.at,
        }
    }
}

/// The ledger of one indicator, oldest first.
///
/// # Errors
/// Database failures.
pub async fn indicator_movements(conn: &mut PgConnection, id: Uuid) -> Result<Vec<OffsetMovement>> {
    let rows = db::indicator_movements(conn, id).await?;
    Ok(rows.into_iter().map(OffsetMovement::from).collect())
}

/// An indicator to register, as the caller states it.
#[derive(Debug, Clone, Copy)]
pub struct NewIndicatorOf<'a> {
    /// The county holding it (the caller checks that it serves the county).
    pub county: CountyCode,
    /// The land-improvement project it comes from.
    pub source_project: &'a str,
    /// Its acceptance document or filing number (may be empty).
    pub source_ref: &'a str,
    /// What it holds.
    pub amounts: Quantities,
}

/// Inserts an indicator of `county` holding `amounts`, all available, and returns its id.
async fn insert_indicator(
    conn: &mut PgConnection,
    of: &NewIndicatorOf<'_>,
    transferred_from: Option<Uuid>,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let new = NewIndicator {
        id,
        county_code: of.county.as_str(),
        source_project: of.source_project,
        source_ref: of.source_ref,
        transferred_from,
        amounts: (&of.amounts).into(),
        by: Some(by),
        at: now,
    };
    match db::insert_indicator(conn, &new).await {
        Err(e) if e.sqlstate().as_deref() == Some(FOREIGN_KEY_VIOLATION) => {
            Err(LedgerError::UnknownCounty(of.county.as_str().to_owned()))
        }
        other => Ok(other.map(|()| id)?),
    }
}

/// Refuses an indicator without area: `why` says so in the words of the operation.
fn has_area(amounts: &Quantities, why: &'static str) -> Result<()> {
    if amounts.area_m2.is_zero() {
        return Err(LedgerError::InvalidIndicator(why));
    }
    Ok(())
}

/// Refuses an indicator whose paddy area is larger than its area.
fn paddy_within_area(amounts: &Quantities) -> Result<()> {
    if amounts.paddy_m2 > amounts.area_m2 {
        return Err(LedgerError::InvalidIndicator(
            "the paddy area is part of the area and cannot exceed it",
        ));
    }
    Ok(())
}

/// A movement of `kind` on `indicator_id` at `at`, by `actor`, with nothing else said.
fn movement(
    indicator_id: Uuid,
    kind: OffsetMovementKind,
    amounts: &Quantities,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> NewOffsetMovement<'static> {
    NewOffsetMovement {
        indicator_id,
        kind,
        case_id: None,
        transfer_id: None,
        amounts: amounts.into(),
        actor,
        reason: None,
        at,
    }
}

/// Registers an indicator a county's land-improvement project produced. Officers (of the
/// county: the caller checks), reviewers and admins may.
///
/// # Errors
/// [`LedgerError::InvalidIndicator`] (no area, paddy above area, no source),
/// [`LedgerError::UnknownCounty`], [`LedgerError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn register(
    conn: &mut PgConnection,
    new: &NewIndicatorOf<'_>,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<Indicator> {
    if ![Role::Officer, Role::Reviewer, Role::Admin].contains(&actor.1) {
        return Err(LedgerError::RoleMayNot {
            role: actor.1,
            doing: "register offset indicators",
        });
    }
    if new.source_project.trim().is_empty() {
        return Err(LedgerError::InvalidIndicator(
            "name the land-improvement project the indicator comes from",
        ));
    }
    has_area(&new.amounts, "an indicator needs an area above zero")?;
    paddy_within_area(&new.amounts)?;
    let trimmed = NewIndicatorOf {
        source_project: new.source_project.trim(),
        source_ref: new.source_ref.trim(),
        ..*new
    };
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    let id = insert_indicator(&mut tx, &trimmed, None, actor.0, now).await?;
    let registered = movement(id, OffsetMovementKind::Register, &new.amounts, Some(actor.0), now);
    db::append_movement(&mut tx, &registered).await?;
    let registered = existing(&mut tx, id).await?;
    tx.commit().await.doing("committing the indicator")?;
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
) -> Result<std::result::Result<CheckNeeds, &'static str>> {
    let check = match checks::latest(conn, case_id).await? {
        None => return Ok(Err("missing")),
        Some(check) if check.stale => return Ok(Err("stale")),
        Some(check) if check.confirmed_at.is_none() => return Ok(Err("not confirmed")),
        Some(check) => check,
    };
    let report = checks::load(conn, case_id, check.id)
        .await?
        .ok_or_else(|| ledger_db::corrupt("reading the latest check", &"it went missing"))?
        .report;
    let decided = decide_with_dismissals(conn, check.id, &report).await?;
    let split = decided.verdict.cultivated();
    let area_m2 = Amount::round(split.total().value())?;
    Ok(Ok(CheckNeeds {
        check_id: check.id,
        quota_mu: decided.verdict.quota_need_mu(decided.case_area),
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
) -> Result<Decided> {
    let doing = "reading a dismissal";
    let dismissed = checks::dismissed_hits(conn, check_id)
        .await?
        .into_iter()
        .map(|hit| {
            let kind = LayerKind::parse(&hit.layer_kind).map_err(|e| ledger_db::corrupt(doing, &e))?;
            let index = usize::try_from(hit.hit_index).map_err(|e| ledger_db::corrupt(doing, &e))?;
            Ok((kind, index))
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok(decide_again(report, &dismissed)?)
}

/// Decides a stored check report (the spatial crate's `CheckReport`) again from its `input` and
/// `rules`, with the `dismissed` hits left out.
fn decide_again(report: &Value, dismissed: &[(LayerKind, usize)]) -> Result<Decided, DbError> {
    let corrupt =
        |e: &dyn std::fmt::Display| ledger_db::corrupt("reading the stored check report", &e.to_string());
    let input = CheckInput::deserialize(&report["input"]).map_err(|e| corrupt(&e))?;
    let rules = VerdictRules::deserialize(&report["rules"]).map_err(|e| corrupt(&e))?;
    let input = input.with_dismissed(dismissed);
    let verdict = check::evaluate(&input, &rules).map_err(|e| corrupt(&e))?;
    Ok(Decided {
        verdict,
        case_area: input.case_area,
    })
}

/// What a lock needs: the confirmed check's cultivated and paddy area with `capacity_kg`, the
/// grain capacity the reviewer states from the land-quality grading (the check cannot measure
/// it). Returns the check with the quantities.
///
/// # Errors
/// [`LedgerError::CheckNotConfirmed`], [`LedgerError::NothingToLock`] when the check found no
/// cultivated land, [`LedgerError::BadFigure`], database failures and unreadable reports.
pub async fn needs_from_check(
    conn: &mut PgConnection,
    case_id: Uuid,
    capacity_kg: Amount,
) -> Result<(Uuid, Quantities)> {
    let needs = confirmed_needs(conn, case_id)
        .await?
        .map_err(LedgerError::CheckNotConfirmed)?;
    if needs.cultivated.area_m2.is_zero() {
        return Err(LedgerError::NothingToLock);
    }
    Ok((
        needs.check_id,
        Quantities {
            capacity_kg,
            ..needs.cultivated
        },
    ))
}

/// The need in force for the case's lock: the latest one a lock or an adjustment recorded,
/// with the check it was measured on.
///
/// # Errors
/// Database failures.
pub async fn need_in_force(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<(Uuid, Quantities)>> {
    Ok(needs::need_in_force(conn, case_id)
        .await?
        .map(|need| (need.check_id, need.needs.into())))
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

    /// Adds up a case's ledger entries per indicator, in the order the indicators were first
    /// locked.
    fn from_movements(movements: Vec<OffsetMovement>) -> Self {
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
        Self {
            locked: lines.iter().fold(Quantities::ZERO, |s, l| s.plus(&l.locked)),
            consumed: lines.iter().fold(Quantities::ZERO, |s, l| s.plus(&l.consumed)),
            lines,
            movements,
        }
    }

    /// The outstanding lock per indicator, oldest line first.
    fn lock_lines(&self) -> Vec<(Uuid, Quantities)> {
        self.lines
            .iter()
            .filter(|l| !l.locked.is_zero())
            .map(|l| (l.indicator_id, l.locked))
            .collect()
    }
}

/// The offset side of a case: what it locked and consumed, per indicator and in total.
///
/// # Errors
/// Database failures.
pub async fn case_offset(conn: &mut PgConnection, case_id: Uuid) -> Result<CaseOffset> {
    let rows = db::case_movements(conn, case_id).await?;
    Ok(CaseOffset::from_movements(
        rows.into_iter().map(OffsetMovement::from).collect(),
    ))
}

/// Whether the case's offset is in place (the `offset_locked` fact of the stage rules).
///
/// # Errors
/// Database failures.
pub async fn is_locked(conn: &mut PgConnection, case_id: Uuid) -> Result<bool> {
    Ok(case_offset(conn, case_id).await?.in_place())
}

/// Who moves a case's lock, when and why.
#[derive(Debug, Clone, Copy)]
struct LockMove<'a> {
    case_id: Uuid,
    actor: Option<Uuid>,
    reason: Option<&'a str>,
    at: DateTime<Utc>,
}

impl LockMove<'_> {
    /// One `lock` (taken from the indicator's balance) or `release` (given back to it).
    async fn apply(&self, conn: &mut PgConnection, take: &Take, kind: OffsetMovementKind) -> Result<()> {
        let amounts = QuantitiesRow::from(&take.amounts);
        let delta = if kind == OffsetMovementKind::Lock {
            amounts.negated()
        } else {
            amounts
        };
        db::change_balance(conn, take.indicator_id, delta).await?;
        let entry = NewOffsetMovement {
            case_id: Some(self.case_id),
            reason: self.reason,
            ..movement(take.indicator_id, kind, &take.amounts, self.actor, self.at)
        };
        Ok(db::append_movement(conn, &entry).await?)
    }

    /// Gives back what of `current` exceeds the need (newest lines first) and records `need` as
    /// the need the lock now answers to.
    async fn settle(&self, conn: &mut PgConnection, current: &CaseOffset, need: &NeedRow) -> Result<()> {
        let excess = LockAdjustment::between(&need.needs.into(), &current.locked).excess;
        let follows = LockMove {
            reason: Some("the lock follows the latest confirmed check"),
            ..*self
        };
        for take in plan_release(excess, &current.lock_lines()) {
            follows.apply(conn, &take, OffsetMovementKind::Release).await?;
        }
        Ok(needs::record_need(conn, self.case_id, need, self.actor, self.at).await?)
    }
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
/// [`LedgerError::NoSuchCase`], [`LedgerError::WrongStage`], [`LedgerError::NothingToLock`],
/// [`LedgerError::Shortfall`], [`LedgerError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn lock(
    conn: &mut PgConnection,
    case_id: Uuid,
    check_id: Uuid,
    needs: Quantities,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<CaseOffset> {
    if needs.is_zero() {
        return Err(LedgerError::NothingToLock);
    }
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    let case = lock_case(&mut tx, case_id).await?;
    rules::decide(LedgerAction::LockOffset, actor.1, case.stage)?;
    let current = case_offset(&mut tx, case_id).await?;
    let top_up = LockAdjustment::between(&needs, &current.locked).top_up;
    let mover = LockMove {
        case_id,
        actor: Some(actor.0),
        reason: None,
        at: now,
    };
    if !top_up.is_zero() {
        let available: Vec<(Uuid, Quantities)> = db::lock_county_balances(&mut tx, case.county.as_str())
            .await?
            .into_iter()
            .map(|row| (row.indicator_id, row.available.into()))
            .collect();
        let takes = plan_lock(top_up, &available).map_err(|shortfalls| LedgerError::Shortfall {
            county: case.county,
            shortfalls,
        })?;
        for take in &takes {
            mover.apply(&mut tx, take, OffsetMovementKind::Lock).await?;
        }
    }
    let need = NeedRow {
        check_id,
        needs: (&needs).into(),
    };
    mover.settle(&mut tx, &current, &need).await?;
    let locked = case_offset(&mut tx, case_id).await?;
    tx.commit().await.doing("committing the lock")?;
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
) -> Result<Option<CaseOffset>> {
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
    let reviewer = (actor.0, Role::Reviewer);
    match lock(conn, case_id, measured.check_id, needs, reviewer, now).await {
        Ok(offset) => Ok(Some(offset)),
        Err(LedgerError::Shortfall { .. }) => {
            // Give back what the smaller need leaves over, and record the need, so the approval
            // measures against it; the top-up waits for the county's indicators.
            let mut tx = conn.begin().await.doing("starting a transaction")?;
            let current = case_offset(&mut tx, case_id).await?;
            let mover = LockMove {
                case_id,
                actor: Some(actor.0),
                reason: None,
                at: now,
            };
            let need = NeedRow {
                check_id: measured.check_id,
                needs: (&needs).into(),
            };
            mover.settle(&mut tx, &current, &need).await?;
            let after = case_offset(&mut tx, case_id).await?;
            tx.commit().await.doing("committing the adjustment")?;
            Ok(Some(after))
        }
        Err(LedgerError::WrongStage { .. } | LedgerError::NothingToLock) => Ok(None),
        Err(other) => Err(other),
    }
}

/// Returns a case's outstanding lock to the indicators it came from, exactly as locked, one
/// `release` movement per indicator. `Ok(None)` when nothing is locked (releasing twice is
/// harmless). What was consumed stays consumed: after the approval nothing is locked.
///
/// `release.action` says why: a reviewer's [`LedgerAction::ReleaseOffset`] before the approval,
/// or [`LedgerAction::ReturnOnClose`] when the case was rejected or withdrawn before it.
///
/// # Errors
/// [`LedgerError::NoSuchCase`], [`LedgerError::WrongStage`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn release(
    conn: &mut PgConnection,
    case_id: Uuid,
    release: &Release<'_>,
) -> Result<Option<Quantities>> {
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    let case = lock_case(&mut tx, case_id).await?;
    let current = case_offset(&mut tx, case_id).await?;
    if current.locked.is_zero() {
        return Ok(None);
    }
    rules::decide(release.action, release.role, case.stage)?;
    let mover = LockMove {
        case_id,
        actor: release.by,
        reason: release.reason,
        at: release.at,
    };
    for take in plan_release(current.locked, &current.lock_lines()) {
        mover.apply(&mut tx, &take, OffsetMovementKind::Release).await?;
    }
    tx.commit().await.doing("committing the release")?;
    Ok(Some(current.locked))
}

/// Uses up a case's lock (核销): the indicators' locked amounts become consumed for good. The
/// conversion approval does this by itself, in the transaction that moves the case to
/// `supply`; a reviewer may consume a lock still left after it.
///
/// # Errors
/// [`LedgerError::NoSuchCase`], [`LedgerError::WrongStage`] (before the approval),
/// [`LedgerError::NothingLocked`], [`LedgerError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn consume(
    conn: &mut PgConnection,
    case_id: Uuid,
    actor: (Uuid, Role),
    now: DateTime<Utc>,
) -> Result<CaseOffset> {
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    let case = lock_case(&mut tx, case_id).await?;
    rules::decide(LedgerAction::ConsumeOffset, actor.1, case.stage)?;
    let current = case_offset(&mut tx, case_id).await?;
    if current.locked.is_zero() {
        return Err(LedgerError::NothingLocked);
    }
    for (indicator_id, locked) in current.lock_lines() {
        let entry = NewOffsetMovement {
            case_id: Some(case_id),
            ..movement(
                indicator_id,
                OffsetMovementKind::Consume,
                &locked,
                Some(actor.0),
                now,
            )
        };
        db::append_movement(&mut tx, &entry).await?;
    }
    let after = case_offset(&mut tx, case_id).await?;
    tx.commit().await.doing("committing the consumption")?;
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

/// Refuses a transfer of `amounts` out of `source` to `to`, unless it moves something the
/// indicator has, to another county, as a well-formed indicator of its own.
fn transferable(source: &Indicator, to: CountyCode, amounts: &Quantities) -> Result<()> {
    if source.county_code == to {
        return Err(LedgerError::SameCounty(to));
    }
    if amounts.is_zero() {
        return Err(LedgerError::ZeroAmount);
    }
    has_area(
        amounts,
        "the transferred part becomes an indicator of its own and needs an area above zero",
    )?;
    if let Err(shortfalls) = plan_lock(*amounts, &[(source.id, source.available)]) {
        return Err(LedgerError::TransferExceedsAvailable { shortfalls });
    }
    paddy_within_area(amounts)
}

/// Moves `amounts` of an indicator (everything it has left when `None`) to another county,
/// where they become a new indicator naming the one they came from. Only a reviewer transfers.
///
/// # Errors
/// [`LedgerError::NoSuchIndicator`], [`LedgerError::SameCounty`], [`LedgerError::ZeroAmount`],
/// [`LedgerError::TransferExceedsAvailable`], [`LedgerError::UnknownCounty`],
/// [`LedgerError::RoleMayNot`], database failures.
#[tracing::instrument(skip(conn))]
pub async fn transfer(
    conn: &mut PgConnection,
    indicator_id: Uuid,
    to: CountyCode,
    amounts: Option<Quantities>,
    actor: (Uuid, Role),
    reason: &str,
    now: DateTime<Utc>,
) -> Result<OffsetTransfer> {
    if actor.1 != Role::Reviewer {
        return Err(LedgerError::RoleMayNot {
            role: actor.1,
            doing: "transfer offset indicators",
        });
    }
    let mut tx = conn.begin().await.doing("starting a transaction")?;
    if !db::lock_balance(&mut tx, indicator_id).await? {
        return Err(LedgerError::NoSuchIndicator);
    }
    let source = existing(&mut tx, indicator_id).await?;
    let amounts = amounts.unwrap_or(source.available);
    transferable(&source, to, &amounts)?;
    db::change_balance(&mut tx, indicator_id, QuantitiesRow::from(&amounts).negated()).await?;
    let split = NewIndicatorOf {
        county: to,
        source_project: &source.source_project,
        source_ref: &source.source_ref,
        amounts,
    };
    let new_id = insert_indicator(&mut tx, &split, Some(indicator_id), actor.0, now).await?;
    let id = Uuid::now_v7();
    for (indicator, kind) in [
        (indicator_id, OffsetMovementKind::TransferOut),
        (new_id, OffsetMovementKind::TransferIn),
    ] {
        let entry = NewOffsetMovement {
            transfer_id: Some(id),
            reason: Some(reason),
            ..movement(indicator, kind, &amounts, Some(actor.0), now)
        };
        db::append_movement(&mut tx, &entry).await?;
    }
    let from = existing(&mut tx, indicator_id).await?;
    let to = existing(&mut tx, new_id).await?;
    tx.commit().await.doing("committing the transfer")?;
    Ok(OffsetTransfer { id, from, to })
}
