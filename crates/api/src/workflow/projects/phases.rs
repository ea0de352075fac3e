//! Phased and segmented cases (分期 / 分段) of one project: the phase a new case states, the
//! rule that two live cases of a project may not overlap, and the cases the project view sums.
//! The rules are the domain's (`landuse_domain::phase`); this module loads what they weigh,
//! with the project row locked so two writes to one project's cases are decided one after the
//! other, and answers their refusals.

use landuse_domain::{
    green::{Grant, GreenChannel},
    ledger::{OffsetPosition, Quantities, QuotaPosition},
    phase::{self, CaseFigures, LiveCase, Phase, PhaseError, PhaseKind, StageCount},
    stage::Stage,
};
use landuse_spatial::{area, wkb_io};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    http::error::ApiError,
    store::{self, phases::ProjectCaseRow, projects::ProjectRow},
    workflow::guarantees,
};

/// Which phase (分期) or segment (分段) of its project a case is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasePhase {
    /// `phase` (分期) or `segment` (分段); one project's live cases are all of one kind.
    pub kind: PhaseKind,
    /// Its number, from 1; one per live case of the project and kind.
    #[schema(minimum = 1, maximum = 999)]
    pub number: i64,
    /// A name, such as the stretch of a road (`K0+000–K12+500`): not blank, at most 100
    /// characters, surrounding whitespace dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "\\S", max_length = 100)]
    pub name: Option<String>,
}

impl CasePhase {
    /// The domain's phase, refusing a malformed number or name as 422 naming `phase.number`
    /// or `phase.name`.
    ///
    /// # Errors
    /// As above.
    pub fn parse(&self) -> Result<Phase, ApiError> {
        Phase::parse(self.kind, self.number, self.name.as_deref())
            .map_err(|e| ApiError::invalid("invalid-field", format!("phase.{}", e.field()), e.to_string()))
    }

    /// The phase stored as `kind`, `number`, `name`; none when the case states none.
    ///
    /// # Errors
    /// A stored phase that does not parse (a corrupt row), as 500.
    pub fn stored(
        kind: Option<&str>,
        number: Option<i32>,
        name: Option<&str>,
    ) -> Result<Option<Self>, ApiError> {
        let (Some(kind), Some(number)) = (kind, number) else {
            return Ok(None);
        };
        let kind = PhaseKind::parse(kind).map_err(|e| ApiError::internal("reading a case's phase", e))?;
        let phase = Phase::parse(kind, i64::from(number), name)
            .map_err(|e| ApiError::internal("reading a case's phase", e))?;
        Ok(Some(Self::of(&phase)))
    }

    fn of(phase: &Phase) -> Self {
        Self {
            kind: phase.kind(),
            number: i64::from(phase.number()),
            name: phase.name().map(str::to_owned),
        }
    }
}

/// The live cases of `project` (its row locked by the caller) as the phase rules weigh them.
pub(super) async fn live_cases(
    conn: &mut PgConnection,
    project: &ProjectRow,
) -> Result<Vec<LiveCase>, ApiError> {
    let rows = store::phases::live_cases(conn, project.id).await?;
    rows.into_iter()
        .map(|row| {
            let grant = row
                .green_grant
                .map(Grant::deserialize)
                .transpose()
                .map_err(|e| ApiError::internal("reading a case's green-channel grant", e))?;
            let phase = CasePhase::stored(row.phase_kind.as_deref(), row.phase_number, None)?;
            Ok(LiveCase {
                id: row.id,
                phase: phase.map(|p| (p.kind, u32::try_from(p.number).unwrap_or(u32::MAX))),
                green: GreenChannel {
                    key_project: project.on_key_list,
                    grant,
                }
                .is_active(),
            })
        })
        .collect()
}

/// Whether a new case stating `phase` may join `project` (its row locked by the caller): the
/// domain's [`phase::admit`], a refusal about the request alone as 422 naming `phase`, a
/// conflict with the project's other cases as 409.
///
/// # Errors
/// As above; database failures.
pub async fn admit(
    conn: &mut PgConnection,
    project: &ProjectRow,
    phase: Option<&Phase>,
) -> Result<(), ApiError> {
    let live = live_cases(conn, project).await?;
    let green = phase::project_on_green_channel(project.on_key_list, &live);
    phase::admit(phase, green, &live).map_err(|e| refusal(&e))
}

fn refusal(e: &PhaseError) -> ApiError {
    if e.is_input() {
        ApiError::invalid(e.code(), "phase", e.to_string())
    } else {
        ApiError::conflict(e.code(), e.to_string())
    }
}

/// Refuses case `case_id`'s parcels, as the transaction now holds them, when they overlap the
/// parcels of another live case of project `project_id` by at least the domain's tolerance
/// ([`phase::overlap_counts`]): 409 `phase-overlap` naming the other case and the overlap in m²,
/// mu and ha (on the ellipsoid), for the largest overlap. Locks the project row first, so two
/// uploads to cases of one project cannot both pass.
///
/// # Errors
/// As above; database failures; a stored geometry that does not decode.
pub async fn refuse_overlap(
    conn: &mut PgConnection,
    case_id: Uuid,
    project_id: Uuid,
) -> Result<(), ApiError> {
    store::projects::load(conn, project_id, true).await?;
    let mut worst: Option<(Uuid, f64)> = None;
    for row in store::phases::overlaps(conn, case_id, project_id).await? {
        let overlap = wkb_io::from_wkb(&row.overlap_wkb)
            .map(wkb_io::polygons_of)
            .map_err(|e| ApiError::internal("decoding an overlap", e))?;
        let m2 = area::ellipsoidal_area(&overlap);
        if phase::overlap_counts(m2) && worst.is_none_or(|(_, w)| m2 > w) {
            worst = Some((row.other_case_id, m2));
        }
    }
    let Some((other, m2)) = worst else {
        return Ok(());
    };
    let figures = area::AreaFigures::from_m2(m2);
    let detail = format!(
        "the parcels overlap those of case {other}, a live case of the same project, by {:.2} m² ({} mu)",
        figures.m2, figures.mu
    );
    let members = vec![
        ("other_case_id", json!(other)),
        ("overlap_m2", json!(figures.m2)),
        ("overlap_mu", json!(figures.mu)),
        ("overlap_ha", json!(figures.ha)),
    ];
    Err(ApiError::conflict_with("phase-overlap", detail, members))
}

/// An area in the three units the bureau reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AreaView {
    /// Square metres, on the CGCS2000 ellipsoid, unrounded.
    pub m2: f64,
    /// Mu (亩), to 2 decimals.
    pub mu: f64,
    /// Hectares, to 4 decimals.
    pub ha: f64,
}

impl AreaView {
    fn of(m2: f64) -> Self {
        let f = area::AreaFigures::from_m2(m2);
        Self {
            m2: f.m2,
            mu: f.mu,
            ha: f.ha,
        }
    }
}

/// Where a case stands on farmland offset, in the project view.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OffsetFigures {
    /// Locked and not yet consumed or released.
    pub locked: Quantities,
    /// Consumed by the approved conversion.
    pub consumed: Quantities,
}

/// One case of a project, in the project view.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectCase {
    /// The case.
    pub id: Uuid,
    /// Its title.
    pub title: String,
    /// Which phase or segment it is; absent for a case of the whole project.
    pub phase: Option<CasePhase>,
    /// Its stage.
    pub stage: Stage,
    /// Whether it is live (neither rejected nor withdrawn): only live cases count in the area
    /// total and the phase and overlap rules.
    pub live: bool,
    /// The area of its parcels.
    pub area: AreaView,
    /// Quota: what its latest confirmed check says it needs, held, consumed (mu).
    pub quota: QuotaPosition,
    /// Offset: locked and consumed.
    pub offset: OffsetFigures,
}

/// A project's cases summed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectCaseTotals {
    /// The area of the live cases.
    pub area: AreaView,
    /// Quota held, over every case, in mu.
    pub quota_held_mu: landuse_domain::ledger::Amount,
    /// Quota consumed, over every case (it stays consumed if a case is later withdrawn), in mu.
    pub quota_consumed_mu: landuse_domain::ledger::Amount,
    /// Offset locked, over every case.
    pub offset_locked: Quantities,
    /// Offset consumed, over every case.
    pub offset_consumed: Quantities,
    /// How many cases are in each stage (stages with none left out).
    pub cases_per_stage: Vec<StageCount>,
}

/// The cases of a project, each with its figures, and their totals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectCases {
    /// Every case, phases in order, then the rest by age.
    pub cases: Vec<ProjectCase>,
    /// The totals ([`phase::totals`]).
    pub totals: ProjectCaseTotals,
}

async fn project_case(conn: &mut PgConnection, row: ProjectCaseRow) -> Result<ProjectCase, ApiError> {
    let stage = Stage::parse(&row.stage).map_err(|e| ApiError::internal("reading the case stage", e))?;
    let positions = guarantees::positions(conn, row.id).await?;
    Ok(ProjectCase {
        phase: CasePhase::stored(
            row.phase_kind.as_deref(),
            row.phase_number,
            row.phase_name.as_deref(),
        )?,
        id: row.id,
        title: row.title,
        stage,
        live: phase::is_live(stage),
        area: AreaView::of(row.area_m2),
        quota: positions.quota,
        offset: OffsetFigures {
            locked: positions.offset.locked,
            consumed: positions.offset.consumed,
        },
    })
}

/// The cases of project `project_id` with their figures from the ledgers, and the totals.
///
/// # Errors
/// Database failures; a stored row that cannot be read, as 500.
pub async fn project_cases(conn: &mut PgConnection, project_id: Uuid) -> Result<ProjectCases, ApiError> {
    let mut cases = Vec::new();
    for row in store::phases::project_cases(conn, project_id).await? {
        cases.push(project_case(conn, row).await?);
    }
    let figures: Vec<CaseFigures> = cases
        .iter()
        .map(|c| CaseFigures {
            stage: c.stage,
            area_m2: c.area.m2,
            quota: c.quota,
            offset: OffsetPosition {
                needed: None,
                locked: c.offset.locked,
                consumed: c.offset.consumed,
            },
        })
        .collect();
    let totals = phase::totals(&figures);
    Ok(ProjectCases {
        cases,
        totals: ProjectCaseTotals {
            area: AreaView::of(totals.live_area_m2),
            quota_held_mu: totals.quota_held_mu,
            quota_consumed_mu: totals.quota_consumed_mu,
            offset_locked: totals.offset_locked,
            offset_consumed: totals.offset_consumed,
            cases_per_stage: totals.per_stage,
        },
    })
}
