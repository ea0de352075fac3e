//! A case waiting for each kind of approval a check calls for, so `make run` shows every kind
//! in the review queue and in QGIS (`approvals_awaited`).
//!
//! The generated cases leave some kinds waiting by chance (about half the cases planned to end
//! in conversion wait for whatever their checks call for); a region may have no case that
//! declares an allowed activity in a red line, or whose geohazard assessment was left
//! unrecorded. For each kind no generated case waits for, the loader registers a project of its
//! own and opens a case on a place of the layer that calls for that kind, away from the layers
//! that would prohibit it, and drives it as far as the rules let it go without that one record:
//! to `pre_review` for the kinds needed before conversion, to `conversion` for the State
//! Council's approval. Every other record its check calls for is recorded, so it waits for one
//! kind only.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use landuse_domain::approval::ApprovalKind;
use serde_json::{json, Value};
use sqlx::PgPool;

use super::{
    generate::{Plan, PlannedCase, PlannedProject},
    load::{drive_case, register_project, Driver},
    DemoError, COUNTIES,
};
use crate::store::{self, Doing};

/// Half the side of the square parcel laid on the place, in degrees (about 30 m).
const HALF_SIDE: f64 = 0.0003;

/// How the demo makes a case wait for one kind: the layer it lies on, whether it lies outside
/// the towns, what it declares and what its project is.
struct Showcase {
    layer: &'static str,
    outside_towns: bool,
    /// The allowed activity it declares.
    allowed_activity: Option<&'static str>,
    /// A provincial transport project on the key list, which permanent farmland lets through
    /// with the State Council's approval; otherwise a county's own water works.
    national_works: bool,
    project_name: &'static str,
}

fn showcase(kind: ApprovalKind) -> Showcase {
    let (layer, outside_towns, allowed_activity, national_works, project_name) = match kind {
        ApprovalKind::StateCouncilApproval => ("permanent_farmland", false, None, true, "省道改线工程"),
        ApprovalKind::AuthorityOpinion => (
            "ecological_redline",
            false,
            Some("生态保护红线内必要的巡护步道"),
            false,
            "红线内巡护步道工程",
        ),
        ApprovalKind::ReviewOpinion => ("qinling_key", false, None, false, "秦岭重点保护区供水工程"),
        ApprovalKind::OutsideBoundaryUse => ("cultivated_land", true, None, false, "乡村供水管线工程"),
        ApprovalKind::GeohazardAssessment => ("geohazard", false, None, false, "地灾易发区排水工程"),
    };
    Showcase {
        layer,
        outside_towns,
        allowed_activity,
        national_works,
        project_name,
    }
}

/// The layers whose overlap prohibits a case, but the one the showcase lies on.
fn avoided(layer: &str) -> Vec<&'static str> {
    [
        "permanent_farmland",
        "ecological_redline",
        "qinling_core",
        "nature_reserve_core",
    ]
    .into_iter()
    .filter(|kind| *kind != layer)
    .collect()
}

/// The county whose seat is nearest to `(lon, lat)`.
fn county_near(lon: f64, lat: f64) -> &'static str {
    let distance = |seat: (f64, f64)| (seat.0 - lon).hypot(seat.1 - lat);
    COUNTIES
        .iter()
        .min_by(|a, b| distance(a.seat).total_cmp(&distance(b.seat)))
        .map_or(COUNTIES[0].code, |county| county.code)
}

fn square_parcel(key: &str, lon: f64, lat: f64) -> Value {
    let ring = [
        [lon - HALF_SIDE, lat - HALF_SIDE],
        [lon + HALF_SIDE, lat - HALF_SIDE],
        [lon + HALF_SIDE, lat + HALF_SIDE],
        [lon - HALF_SIDE, lat + HALF_SIDE],
        [lon - HALF_SIDE, lat - HALF_SIDE],
    ];
    json!({
        "type": "Feature",
        "properties": { "case": key, "name": "地块1" },
        "geometry": { "type": "Polygon", "coordinates": [ring] },
    })
}

/// Makes a case wait for each kind in [`ApprovalKind::ALL`] that no case of `left` waits for;
/// how many cases it made. `planned` is the number of generated projects (the new ones are
/// numbered after them); the cases are opened a fortnight before `load_time`.
///
/// # Errors
/// A request the service refused, database failures, and a region with no place for a kind.
pub(super) async fn leave_one_of_each(
    driver: &Driver,
    pool: &PgPool,
    left: &BTreeSet<String>,
    planned: usize,
    year: i32,
    load_time: DateTime<Utc>,
) -> Result<usize, DemoError> {
    let mut made = 0;
    for kind in ApprovalKind::ALL
        .iter()
        .copied()
        .filter(|k| !left.contains(k.code()))
    {
        let shown = showcase(kind);
        let mut conn = pool.acquire().await.doing("connecting")?;
        let spot =
            store::demo::spot_on(&mut conn, shown.layer, &avoided(shown.layer), shown.outside_towns).await?;
        drop(conn);
        let Some((lon, lat)) = spot else {
            return Err(DemoError::Json {
                doing: "placing a case waiting for an approval",
                message: format!(
                    "no place on the {} layer for a case waiting for {}",
                    shown.layer,
                    kind.code()
                ),
            });
        };
        let n = planned + made;
        let county = county_near(lon, lat);
        let project = PlannedProject {
            category: "infrastructure".to_owned(),
            county_code: county.to_owned(),
            key: format!("P{:04}", n + 1),
            level: if shown.national_works {
                "provincial"
            } else {
                "county"
            }
            .to_owned(),
            name: shown.project_name.to_owned(),
            new_start: true,
            on_key_list: shown.national_works,
            planned_start: format!("{year}-06-01"),
            responsible_leader: shown.national_works.then(|| "王副市长".to_owned()),
            sector: if shown.national_works {
                "transport"
            } else {
                "water"
            }
            .to_owned(),
            year,
        };
        let (_, (project_id, county)) = register_project(driver, n, &project).await?;
        let case = PlannedCase {
            age_days: 14,
            green_grant: false,
            in_development_zone: false,
            key: format!("{}-1", project.key),
            overdue: false,
            outside_boundary_use: Some("linear_infrastructure".to_owned()),
            plan: if kind == ApprovalKind::StateCouncilApproval {
                Plan::Supply
            } else {
                Plan::Conversion
            },
            project: project.key.clone(),
            title: "项目用地".to_owned(),
            allowed_activity: shown.allowed_activity.map(str::to_owned),
            waits_for: Some(kind.code().to_owned()),
            phase: None,
        };
        let parcels = vec![square_parcel(&case.key, lon, lat)];
        let (id, _) = drive_case(driver, &case, &project_id, &county, year, parcels, load_time).await?;
        if !driver.left_waiting(kind.code()) {
            return Err(DemoError::Json {
                doing: "leaving a case waiting for an approval",
                message: format!(
                    "case {id} on the {} layer was not asked for {}",
                    shown.layer,
                    kind.code()
                ),
            });
        }
        tracing::info!(case = %id, kind = kind.code(), "demo case left waiting for an approval");
        made += 1;
    }
    Ok(made)
}
