//! What a planner's desk shows of one case, gathered once for the page and the report: the
//! header with its deadline, the parcels, and a check with a row per rule, decided again by the
//! domain with the recorded dismissals (the same decision the dismissal itself stored).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use landuse_domain::{
    calendar::BUREAU_OFFSET,
    check::{self, CheckInput, CheckVerdict, HitClass, LayerKind, LayerResult, VerdictRules},
    clock::{Pause, StageClock},
    green::{Grant, GreenChannel},
    limits::{self, Channel, Remaining},
    stage::{CaseState, Stage},
};
use landuse_spatial::{area::AreaFigures, store::LayerReport};
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    admin,
    auth::Caller,
    http::error::ApiError,
    store::review::{self as store, CaseHeader, CheckBrief, CheckRow, HitRow, ParcelRow, QueueRow},
    workflow::cases::approvals::{self, ApprovalsView},
};

/// An instant as the bureau reads it: `2026-03-02 14:05`.
pub fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&BUREAU_OFFSET)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Square metres with two decimals.
pub fn m2(figures: &AreaFigures) -> String {
    format!("{:.2}", figures.m2)
}

/// Mu with two decimals.
pub fn mu(figures: &AreaFigures) -> String {
    format!("{:.2}", figures.mu)
}

/// Hectares with four decimals.
pub fn ha(figures: &AreaFigures) -> String {
    format!("{:.4}", figures.ha)
}

/// A share (0 to 1) as a percentage with two decimals.
pub fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

/// The calendar and limits a deadline is computed with.
pub struct Clocks {
    calendar: landuse_domain::calendar::WorkCalendar,
    limits: landuse_domain::limits::TimeLimits,
}

fn rules_error(doing: &'static str, error: admin::AdminError) -> ApiError {
    match error {
        admin::AdminError::Db { source, .. } => ApiError::db(doing, source),
        other => ApiError::internal(doing, other),
    }
}

impl Clocks {
    /// Loads the working-day calendar and the stage limits.
    ///
    /// # Errors
    /// Database failures; a broken calendar or limit table (500).
    pub async fn load(conn: &mut PgConnection) -> Result<Self, ApiError> {
        let calendar = admin::load_calendar(conn)
            .await
            .map_err(|e| rules_error("loading the working-day calendar", e))?;
        let limits = admin::load_time_limits(conn)
            .await
            .map_err(|e| rules_error("loading the time limits", e))?;
        Ok(Self { calendar, limits })
    }

    /// The running stage deadline of a case and the working days left at `now`.
    ///
    /// # Errors
    /// A stored stage or pause that does not parse (500).
    pub fn deadline(
        &self,
        state: CaseState,
        green: bool,
        started_at: DateTime<Utc>,
        pauses: &[store::PauseRow],
        now: DateTime<Utc>,
    ) -> Result<Option<Remaining>, ApiError> {
        let pauses = pauses
            .iter()
            .map(|p| Pause::new(p.paused_at, p.resumed_at))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal("reading a pause", e))?;
        let clock = StageClock { started_at, pauses };
        Ok(limits::remaining_working_days(
            &self.limits,
            &self.calendar,
            &state,
            Channel::from_green(green),
            &clock,
            now,
        ))
    }
}

/// A stored stage and its return stage, as the domain's state.
///
/// # Errors
/// A stage the domain does not know (a corrupt row, 500).
pub fn case_state(stage: &str, returns_to: Option<&str>) -> Result<CaseState, ApiError> {
    let stage = Stage::parse(stage).map_err(|e| ApiError::internal("reading the case stage", e))?;
    let returns_to = returns_to
        .map(Stage::parse)
        .transpose()
        .map_err(|e| ApiError::internal("reading the case stage", e))?;
    CaseState::new(stage, returns_to).map_err(|e| ApiError::internal("reading the case state", e))
}

/// The green channel of a case from its project's listing and a leader's stored grant. A grant
/// that does not parse is an error, not a case quietly off the green channel.
///
/// # Errors
/// A stored grant that is not a grant (500).
pub fn green_channel(on_key_list: bool, grant: Option<&serde_json::Value>) -> Result<GreenChannel, ApiError> {
    let grant = grant
        .map(Grant::deserialize)
        .transpose()
        .map_err(|e| ApiError::internal("reading the case's green-channel grant", e))?;
    Ok(GreenChannel {
        key_project: on_key_list,
        grant,
    })
}

/// One case of the queue with its deadline.
pub struct QueueItem {
    /// The row.
    pub row: QueueRow,
    /// Its stage.
    pub state: CaseState,
    /// Whether the green channel is in force.
    pub green: bool,
    /// The deadline, when a limit runs.
    pub deadline: Option<Remaining>,
}

/// The queue of `caller` at `now`, at most `limit` cases.
///
/// # Errors
/// Database failures; corrupt rows (500).
pub async fn queue(
    conn: &mut PgConnection,
    caller: &Caller,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<QueueItem>, ApiError> {
    let counties = caller.county_filter();
    let rows = store::queue(conn, counties.as_deref(), limit).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let since: Vec<DateTime<Utc>> = rows.iter().map(|r| r.stage_entered_at).collect();
    let pauses = store::pauses(conn, &ids, &since).await?;
    let clocks = Clocks::load(conn).await?;
    rows.into_iter()
        .map(|row| {
            let state = case_state(&row.stage, row.returns_to.as_deref())?;
            let green = green_channel(row.on_key_list, row.green_grant.as_ref())?.is_active();
            let own: Vec<_> = pauses.iter().filter(|p| p.case_id == row.id).cloned().collect();
            let deadline = clocks.deadline(state, green, row.stage_entered_at, &own, now)?;
            Ok(QueueItem {
                row,
                state,
                green,
                deadline,
            })
        })
        .collect()
}

/// Everything the page and the report show of a case.
pub struct Desk {
    /// The case.
    pub case: CaseHeader,
    /// Its stage.
    pub state: CaseState,
    /// Its green channel.
    pub green: GreenChannel,
    /// Its running deadline.
    pub deadline: Option<Remaining>,
    /// Its parcels.
    pub parcels: Vec<ParcelRow>,
    /// Its checks, newest first.
    pub checks: Vec<CheckBrief>,
    /// The check shown, with its rules.
    pub check: Option<CheckDesk>,
    /// Layer names by code.
    pub names: BTreeMap<String, String>,
    /// The approval records the case's checks called for, and those still missing: the case
    /// view's `approvals` block, decided by the same function.
    pub approvals: ApprovalsView,
}

/// A check, decided again with its dismissals.
pub struct CheckDesk {
    /// The stored check.
    pub row: CheckRow,
    /// The domain's verdict with the recorded dismissals.
    pub verdict: CheckVerdict,
    /// What the check measured per layer (versions used, hits with their attributes).
    pub layers: Vec<LayerReport>,
    /// The stored hits (ids, dismissals, overlaps).
    pub hits: Vec<HitRow>,
}

/// One rule's row.
pub struct Rule {
    /// The layer.
    pub kind: LayerKind,
    /// Its Chinese name.
    pub name: String,
    /// Its colour on the map.
    pub colour: &'static str,
    /// The versions used: `v3（610900）`; empty when not checked.
    pub versions: Vec<String>,
    /// The verdict.
    pub result: LayerResult,
    /// The counted overlap.
    pub counted: AreaFigures,
    /// Its share of the case area.
    pub share: f64,
    /// Every hit.
    pub hits: Vec<Hit>,
}

/// One touched feature.
pub struct Hit {
    /// The stored hit's id (what a dismissal names).
    pub id: Option<Uuid>,
    /// The feature, in words.
    pub feature: String,
    /// The overlap.
    pub overlap: AreaFigures,
    /// Its share of its parcel.
    pub share: f64,
    /// How it counts.
    pub class: HitClass,
    /// Who dismissed it, when and why.
    pub dismissal: Option<Dismissal>,
    /// The overlap as GeoJSON (lon/lat).
    pub geojson: Option<String>,
}

/// A recorded dismissal.
pub struct Dismissal {
    /// Who.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

#[derive(Deserialize)]
struct StoredReport {
    input: CheckInput,
    rules: VerdictRules,
    #[serde(default)]
    layers: Vec<LayerReport>,
}

impl Desk {
    /// Loads case `id` as `caller` sees it, with check `check` (its latest when `None`).
    ///
    /// # Errors
    /// 404 for a case the caller may not see, or a check not of this case; database failures.
    pub async fn load(
        conn: &mut PgConnection,
        caller: &Caller,
        id: Uuid,
        check: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Self, ApiError> {
        let case = store::case_header(conn, id)
            .await?
            .filter(|c| caller.sees(&c.county_code))
            .ok_or(ApiError::NotFound("case"))?;
        let state = case_state(&case.stage, case.returns_to.as_deref())?;
        let green = green_channel(case.on_key_list, case.green_grant.as_ref())?;
        let pauses = store::pauses(conn, &[case.id], &[case.stage_entered_at]).await?;
        let clocks = Clocks::load(conn).await?;
        let deadline = clocks.deadline(state, green.is_active(), case.stage_entered_at, &pauses, now)?;
        let parcels = store::parcels(conn, id).await?;
        let checks = store::checks(conn, id).await?;
        let row = store::check(conn, id, check).await?;
        if check.is_some() && row.is_none() {
            return Err(ApiError::NotFound("check"));
        }
        let check = match row {
            Some(row) => {
                let hits = store::hits(conn, row.id).await?;
                Some(CheckDesk::decide(row, hits)?)
            }
            None => None,
        };
        let names = store::layer_names(conn)
            .await?
            .into_iter()
            .map(|n| (n.code, n.name_zh))
            .collect();
        let mut loaded = approvals::load_for(conn, &[id]).await?;
        let (hits, records) = loaded.remove(&id).unwrap_or_default();
        let approvals = approvals::approvals_view(&hits, &records)?;
        Ok(Self {
            case,
            state,
            green,
            deadline,
            parcels,
            checks,
            check,
            names,
            approvals,
        })
    }

    /// A layer's Chinese name, or its code when the table has none.
    pub fn name_of(&self, kind: &str) -> String {
        self.names.get(kind).cloned().unwrap_or_else(|| kind.to_owned())
    }

    /// The case's number as people quote it: the first block of its id.
    pub fn number(&self) -> String {
        self.case.id.to_string()[..8].to_uppercase()
    }

    /// The parcels' area on the ellipsoid.
    pub fn area(&self) -> AreaFigures {
        AreaFigures::from_m2(self.parcels.iter().map(|p| p.area_m2).sum())
    }

    /// A row per rule of the check shown, in the domain's order.
    pub fn rules(&self) -> Vec<Rule> {
        let Some(check) = &self.check else {
            return Vec::new();
        };
        check
            .verdict
            .layers
            .iter()
            .map(|layer| {
                let measured = check.layers.iter().find(|l| l.kind == layer.kind);
                let versions = measured
                    .map(|m| {
                        m.versions
                            .iter()
                            .map(|v| format!("v{}（{}）", v.version_no, v.jurisdiction))
                            .collect()
                    })
                    .unwrap_or_default();
                let hits = layer
                    .hits
                    .iter()
                    .enumerate()
                    .map(|(index, (hit, class))| {
                        let stored = check.hits.iter().find(|h| {
                            h.layer_kind == layer.kind.code()
                                && usize::try_from(h.hit_index).ok() == Some(index)
                        });
                        let detail = measured.and_then(|m| m.hits.get(index));
                        Hit {
                            id: stored.map(|s| s.id),
                            feature: describe_feature(layer.kind, detail, &hit.feature_id),
                            overlap: AreaFigures::from_m2(hit.overlap.value()),
                            share: detail.map_or(0.0, |d| d.share),
                            class: *class,
                            dismissal: stored.and_then(|s| {
                                s.dismissed_at.map(|at| Dismissal {
                                    by: s.dismissed_by.clone().unwrap_or_default(),
                                    at,
                                    reason: s.dismiss_reason.clone().unwrap_or_default(),
                                })
                            }),
                            geojson: stored.and_then(|s| s.geojson.clone()),
                        }
                    })
                    .collect();
                Rule {
                    kind: layer.kind,
                    name: self.name_of(layer.kind.code()),
                    colour: landuse_report::map::colour(layer.kind.code()),
                    versions,
                    result: layer.result,
                    counted: AreaFigures::from_m2(layer.counted_area.value()),
                    share: layer.counted_share,
                    hits,
                }
            })
            .collect()
    }
}

impl CheckDesk {
    /// Decides the stored check again from its input and rules with the recorded dismissals.
    ///
    /// # Errors
    /// A stored report that does not read (500).
    pub fn decide(row: CheckRow, hits: Vec<HitRow>) -> Result<Self, ApiError> {
        let stored = StoredReport::deserialize(&row.report)
            .map_err(|e| ApiError::internal("reading the stored check report", e))?;
        let dismissed: Vec<(LayerKind, usize)> = hits
            .iter()
            .filter(|h| h.dismissed_at.is_some())
            .filter_map(|h| {
                Some((
                    LayerKind::parse(&h.layer_kind).ok()?,
                    usize::try_from(h.hit_index).ok()?,
                ))
            })
            .collect();
        let input = stored.input.with_dismissed(&dismissed);
        let verdict = check::evaluate(&input, &stored.rules)
            .map_err(|e| ApiError::internal("deciding the stored check again", e))?;
        Ok(Self {
            row,
            verdict,
            layers: stored.layers,
            hits,
        })
    }
}

/// A touched feature in words: its source id and the attributes a planner recognises it by.
fn describe_feature(
    kind: LayerKind,
    detail: Option<&landuse_spatial::store::CheckHit>,
    fallback: &str,
) -> String {
    let Some(detail) = detail else {
        return fallback.to_owned();
    };
    if detail.feature_id.is_none() {
        return match kind {
            LayerKind::UrbanBoundary => format!("地块 {} 在城镇开发边界外的部分", detail.parcel + 1),
            LayerKind::MineralWhitelist => format!("地块 {} 在白名单外的部分", detail.parcel + 1),
            _ => format!("地块 {}", detail.parcel + 1),
        };
    }
    let mut parts = vec![detail
        .source_id
        .clone()
        .unwrap_or_else(|| format!("#{}", detail.feature_id.unwrap_or_default()))];
    if let Some(attributes) = detail.attributes.as_object() {
        for key in ["DLBM", "DLMC", "name", "NAME", "MC", "BSM"] {
            if let Some(value) = attributes.get(key) {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), ToOwned::to_owned);
                if !text.is_empty() && text.chars().count() <= 40 {
                    parts.push(format!("{key} {text}"));
                }
            }
        }
    }
    if let Some(distance) = detail.distance_m {
        parts.push(format!("距地块 {distance:.0} m"));
    }
    parts.join(" · ")
}
