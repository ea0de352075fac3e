//! Check verdicts: the per-layer rules, slivers, dismissals and the worst-of combination.
#![allow(clippy::unwrap_used, clippy::float_cmp)]

use crate::common;

use common::local;
use landuse_domain::check::{
    evaluate, worst_of, CaseContext, CheckInput, CheckInputError, Dismissal, DismissalError, Dlbm, Hit,
    HitClass, LayerFigures, LayerKind, LayerResult, SliverRule, VerdictRules,
};
use landuse_domain::project::{OutsideBoundaryUse, ProjectLevel, ProjectSector};
use landuse_domain::role::{Actor, Role};
use landuse_domain::transition::CheckSummary;
use landuse_domain::units::SquareMetres;
use uuid::Uuid;

const PARCEL_M2: f64 = 20_000.0;

fn m2(value: f64) -> SquareMetres {
    SquareMetres::new(value).unwrap()
}

fn hit(overlap: f64) -> Hit {
    Hit {
        feature_id: format!("f-{overlap}"),
        parcel_area: m2(PARCEL_M2),
        overlap: m2(overlap),
        dismissed: false,
        dlbm: None,
    }
}

/// Every layer checked with no hit, except `kind` with `hits`.
fn input_with(kind: LayerKind, hits: Vec<Hit>, context: CaseContext) -> CheckInput {
    let mut hits = Some(hits);
    CheckInput {
        case_area: m2(PARCEL_M2),
        layers: LayerKind::ALL
            .iter()
            .copied()
            .map(|k| LayerFigures {
                kind: k,
                checked: true,
                hits: if k == kind {
                    hits.take().unwrap_or_default()
                } else {
                    vec![]
                },
            })
            .collect(),
        context,
    }
}

fn result_of(kind: LayerKind, hits: Vec<Hit>, context: CaseContext) -> LayerResult {
    let verdict = evaluate(&input_with(kind, hits, context), &VerdictRules::default()).unwrap();
    let layer = verdict.layer(kind).unwrap().result;
    assert_eq!(verdict.result, layer, "the only hit decides the case");
    layer
}

fn national(sector: ProjectSector) -> CaseContext {
    CaseContext {
        project_level: Some(ProjectLevel::National),
        project_sector: Some(sector),
        ..CaseContext::default()
    }
}

#[test]
fn each_layer_gives_the_result_of_the_rules_for_an_overlap() {
    use LayerKind as K;
    use LayerResult as R;
    let none = CaseContext::default();
    let allowed_activity = CaseContext {
        declared_allowed_activity: true,
        ..none
    };
    let linear = CaseContext {
        outside_boundary_use: Some(OutsideBoundaryUse::LinearInfrastructure),
        ..none
    };
    let whitelisted = CaseContext {
        wholly_in_mineral_whitelist: true,
        ..none
    };
    let provincial_military = CaseContext {
        project_level: Some(ProjectLevel::Provincial),
        project_sector: Some(ProjectSector::Military),
        ..none
    };
    let municipal_energy = CaseContext {
        project_level: Some(ProjectLevel::Municipal),
        project_sector: Some(ProjectSector::Energy),
        ..none
    };
    let table = [
        (K::EcologicalRedline, none, R::Prohibited),
        (K::EcologicalRedline, allowed_activity, R::NeedsApproval),
        (K::QinlingCore, none, R::Prohibited),
        (K::QinlingCore, allowed_activity, R::NeedsApproval),
        (K::NatureReserveCore, none, R::Prohibited),
        (K::NatureReserveCore, allowed_activity, R::NeedsApproval),
        (K::PermanentFarmland, none, R::Prohibited),
        (
            K::PermanentFarmland,
            national(ProjectSector::Energy),
            R::NeedsStateCouncilApproval,
        ),
        (
            K::PermanentFarmland,
            national(ProjectSector::Transport),
            R::NeedsStateCouncilApproval,
        ),
        (
            K::PermanentFarmland,
            national(ProjectSector::Water),
            R::NeedsStateCouncilApproval,
        ),
        (
            K::PermanentFarmland,
            provincial_military,
            R::NeedsStateCouncilApproval,
        ),
        (
            K::PermanentFarmland,
            national(ProjectSector::Industry),
            R::Prohibited,
        ),
        (K::PermanentFarmland, municipal_energy, R::Prohibited),
        (K::PermanentFarmland, allowed_activity, R::Prohibited),
        (K::UrbanBoundary, linear, R::OutsideBoundary),
        (
            K::UrbanBoundary,
            CaseContext {
                outside_boundary_use: Some(OutsideBoundaryUse::Mining),
                ..none
            },
            R::OutsideBoundary,
        ),
        (
            K::UrbanBoundary,
            CaseContext {
                outside_boundary_use: Some(OutsideBoundaryUse::Special),
                ..none
            },
            R::OutsideBoundary,
        ),
        (K::UrbanBoundary, none, R::Prohibited),
        (K::QinlingKey, none, R::NeedsReview),
        (K::QinlingGeneral, none, R::NeedsReview),
        (K::NatureReserveGeneral, none, R::NeedsReview),
        (K::Geohazard, none, R::Warning),
        (K::MineralDeposit, none, R::NeedsOverlayApproval),
        (K::MineralDeposit, whitelisted, R::Ok),
        (K::MineralWhitelist, none, R::Ok),
    ];
    for (kind, context, expected) in table {
        assert_eq!(
            result_of(kind, vec![hit(500.0)], context),
            expected,
            "{kind} {context:?}"
        );
    }
}

#[test]
fn cultivated_land_needs_an_offset_with_its_area_split_by_land_class() {
    let hits = vec![
        Hit {
            dlbm: Some(Dlbm::Paddy),
            ..hit(1_000.0)
        },
        Hit {
            dlbm: Some(Dlbm::Irrigated),
            ..hit(300.0)
        },
        Hit {
            dlbm: Some(Dlbm::Dry),
            ..hit(200.0)
        },
        Hit {
            dlbm: Some(Dlbm::Dry),
            ..hit(50.0)
        },
        // A sliver of paddy: listed, not counted.
        Hit {
            dlbm: Some(Dlbm::Paddy),
            ..hit(0.4)
        },
    ];
    let verdict = evaluate(
        &input_with(LayerKind::CultivatedLand, hits, CaseContext::default()),
        &VerdictRules::default(),
    )
    .unwrap();
    let layer = verdict.layer(LayerKind::CultivatedLand).unwrap();
    assert_eq!(layer.result, LayerResult::NeedsOffset);
    let split = layer.cultivated.unwrap();
    assert_eq!(split.paddy.value(), 1_000.0);
    assert_eq!(split.irrigated.value(), 300.0);
    assert_eq!(split.dry.value(), 250.0);
    assert_eq!(layer.counted_area.value(), 1_550.0);
    assert_eq!(layer.counted_share, 1_550.0 / PARCEL_M2);
    assert_eq!(layer.slivers().count(), 1);
    assert!(verdict.cultivated_land_found);
    assert!(CheckSummary::from(&verdict).cultivated_land_found);
}

#[test]
fn urban_boundary_figures_are_the_area_outside_and_none_outside_is_ok() {
    assert_eq!(
        result_of(LayerKind::UrbanBoundary, vec![], CaseContext::default()),
        LayerResult::Ok
    );
    let verdict = evaluate(
        &input_with(
            LayerKind::UrbanBoundary,
            vec![hit(2_500.0)],
            CaseContext {
                outside_boundary_use: Some(OutsideBoundaryUse::LinearInfrastructure),
                ..CaseContext::default()
            },
        ),
        &VerdictRules::default(),
    )
    .unwrap();
    let layer = verdict.layer(LayerKind::UrbanBoundary).unwrap();
    assert_eq!(layer.result, LayerResult::OutsideBoundary);
    assert_eq!(layer.counted_area.value(), 2_500.0);
}

#[test]
fn overlaps_under_one_square_metre_or_a_ten_thousandth_of_the_parcel_are_slivers() {
    let table = [
        // (overlap m², parcel m², class)
        (0.99, 5_000.0, HitClass::Sliver),
        (1.0, 5_000.0, HitClass::Counted), // 1 m² is not under 1 m², and 0.02% of the parcel
        (9.9, 100_000.0, HitClass::Sliver), // 0.0099% of the parcel
        (10.0, 100_000.0, HitClass::Counted), // exactly 0.01%
        (15.0, 100_000.0, HitClass::Counted),
    ];
    for (overlap, parcel, expected) in table {
        let hits = vec![Hit {
            parcel_area: m2(parcel),
            ..hit(overlap)
        }];
        let verdict = evaluate(
            &input_with(LayerKind::Geohazard, hits, CaseContext::default()),
            &VerdictRules::default(),
        )
        .unwrap();
        let layer = verdict.layer(LayerKind::Geohazard).unwrap();
        assert_eq!(layer.hits[0].1, expected, "{overlap} m² of {parcel} m²");
        let result = if expected == HitClass::Counted {
            LayerResult::Warning
        } else {
            LayerResult::Ok
        };
        assert_eq!(layer.result, result);
    }
}

#[test]
fn sliver_thresholds_are_configurable_per_layer() {
    let rules =
        VerdictRules::default().with_sliver_rule(LayerKind::Geohazard, SliverRule::new(50.0, 0.0).unwrap());
    let hits = vec![hit(40.0)];
    let geohazard = evaluate(
        &input_with(LayerKind::Geohazard, hits.clone(), CaseContext::default()),
        &rules,
    )
    .unwrap();
    assert_eq!(geohazard.result, LayerResult::Ok);
    let key = evaluate(
        &input_with(LayerKind::QinlingKey, hits, CaseContext::default()),
        &rules,
    )
    .unwrap();
    assert_eq!(key.result, LayerResult::NeedsReview);
    assert_eq!(rules.geohazard_buffer_m(), 200.0);
    assert!(SliverRule::new(-1.0, 0.0).is_err());
    assert!(SliverRule::new(1.0, 1.5).is_err());
}

#[test]
fn a_dismissed_hit_is_listed_but_no_longer_counts() {
    let hits = vec![Hit {
        dismissed: true,
        ..hit(800.0)
    }];
    let verdict = evaluate(
        &input_with(LayerKind::EcologicalRedline, hits, CaseContext::default()),
        &VerdictRules::default(),
    )
    .unwrap();
    let layer = verdict.layer(LayerKind::EcologicalRedline).unwrap();
    assert_eq!(layer.result, LayerResult::Ok);
    assert_eq!(layer.dismissed().count(), 1);
    assert_eq!(layer.counted_area, SquareMetres::ZERO);
    assert_eq!(verdict.result, LayerResult::Ok);
}

#[test]
fn a_layer_not_checked_is_never_reported_as_no_overlap() {
    let mut input = input_with(LayerKind::Geohazard, vec![], CaseContext::default());
    input.layers.retain(|l| l.kind != LayerKind::MineralDeposit); // missing layer
    input
        .layers
        .iter_mut()
        .find(|l| l.kind == LayerKind::QinlingKey)
        .unwrap()
        .checked = false; // no current version
    let verdict = evaluate(&input, &VerdictRules::default()).unwrap();
    assert_eq!(verdict.result, LayerResult::NotChecked);
    assert_eq!(
        verdict.unchecked,
        vec![LayerKind::QinlingKey, LayerKind::MineralDeposit]
    );
    assert_eq!(
        verdict.layer(LayerKind::MineralDeposit).unwrap().result,
        LayerResult::NotChecked
    );
    assert_eq!(CheckSummary::from(&verdict).unchecked_layers.len(), 2);
}

#[test]
fn no_overlap_anywhere_is_ok() {
    let verdict = evaluate(
        &input_with(LayerKind::Geohazard, vec![], CaseContext::default()),
        &VerdictRules::default(),
    )
    .unwrap();
    assert_eq!(verdict.result, LayerResult::Ok);
    assert!(verdict.unchecked.is_empty());
    assert!(!verdict.cultivated_land_found);
    assert_eq!(verdict.layers.len(), LayerKind::ALL.len());
}

#[test]
fn the_case_result_is_the_worst_of_its_layers() {
    use LayerResult as R;
    let table = [
        (vec![], R::Ok),
        (vec![R::Ok, R::Ok], R::Ok),
        (vec![R::Ok, R::NotChecked], R::NotChecked),
        (vec![R::NotChecked, R::Warning], R::Warning),
        (vec![R::Warning, R::NeedsReview, R::NeedsOffset], R::NeedsOffset),
        (
            vec![R::NeedsOffset, R::NeedsOverlayApproval],
            R::NeedsOverlayApproval,
        ),
        (
            vec![R::OutsideBoundary, R::NeedsOverlayApproval],
            R::OutsideBoundary,
        ),
        (vec![R::OutsideBoundary, R::NeedsApproval], R::NeedsApproval),
        (
            vec![R::NeedsStateCouncilApproval, R::NeedsApproval],
            R::NeedsStateCouncilApproval,
        ),
        (
            vec![R::NeedsStateCouncilApproval, R::Prohibited, R::NotChecked],
            R::Prohibited,
        ),
    ];
    for (results, expected) in table {
        assert_eq!(worst_of(results.clone()), expected, "{results:?}");
    }
}

#[test]
fn the_severity_order_is_the_documented_one() {
    let codes: Vec<&str> = LayerResult::ALL.iter().map(|r| r.code()).collect();
    assert_eq!(
        codes,
        [
            "ok",
            "not_checked",
            "warning",
            "needs_review",
            "needs_offset",
            "needs_overlay_approval",
            "outside_boundary",
            "needs_approval",
            "needs_state_council_approval",
            "prohibited"
        ]
    );
    assert!(LayerResult::ALL
        .windows(2)
        .all(|w| w[0] < w[1] && w[0].severity() < w[1].severity()));
}

#[test]
fn layer_codes_parse_back_and_unknown_codes_are_refused() {
    for kind in LayerKind::all() {
        assert_eq!(LayerKind::parse(kind.code()).unwrap(), *kind);
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.code());
    }
    assert!(LayerKind::parse("nature_reserve").is_err());
    assert_eq!(Dlbm::parse("0102").unwrap(), Dlbm::Irrigated);
    assert!(Dlbm::parse("0201").is_err());
}

#[test]
fn figures_that_cannot_be_decided_on_are_refused() {
    let mut twice = input_with(LayerKind::Geohazard, vec![], CaseContext::default());
    twice.layers.push(LayerFigures {
        kind: LayerKind::Geohazard,
        checked: true,
        hits: vec![],
    });
    assert_eq!(
        evaluate(&twice, &VerdictRules::default()),
        Err(CheckInputError::DuplicateLayer(LayerKind::Geohazard))
    );
    let no_dlbm = input_with(
        LayerKind::CultivatedLand,
        vec![hit(100.0)],
        CaseContext::default(),
    );
    assert!(matches!(
        evaluate(&no_dlbm, &VerdictRules::default()),
        Err(CheckInputError::DlbmMissing { .. })
    ));
    let empty_parcel = input_with(
        LayerKind::Geohazard,
        vec![Hit {
            parcel_area: SquareMetres::ZERO,
            ..hit(100.0)
        }],
        CaseContext::default(),
    );
    assert!(matches!(
        evaluate(&empty_parcel, &VerdictRules::default()),
        Err(CheckInputError::EmptyParcel { .. })
    ));
}

#[test]
fn only_a_planner_may_dismiss_a_hit_and_only_with_a_reason() {
    let now = local(2026, 3, 2, 10, 0);
    let planner = Actor::new(Uuid::from_u128(9), Role::Planner);
    let dismissal = Dismissal::record(&planner, "界址测量证实为边界误差", now).unwrap();
    assert_eq!(dismissal.by, planner.id);
    let reviewer = Actor::new(Uuid::from_u128(8), Role::Reviewer);
    assert_eq!(
        Dismissal::record(&reviewer, "理由", now),
        Err(DismissalError::RoleMayNot(Role::Reviewer))
    );
    assert_eq!(
        Dismissal::record(&planner, "  ", now).unwrap_err().code(),
        "reason-required"
    );
}

#[test]
fn verdict_rules_deserialise_with_defaults_and_refuse_bad_numbers() {
    let rules: VerdictRules =
        serde_json::from_str(r#"{"slivers": {"geohazard": {"max_area_m2": 5.0, "max_share": 0.0}}}"#)
            .unwrap();
    assert_eq!(rules.sliver_rule(LayerKind::Geohazard).max_area_m2(), 5.0);
    assert_eq!(
        rules.sliver_rule(LayerKind::PermanentFarmland),
        SliverRule::DEFAULT
    );
    assert_eq!(rules.geohazard_buffer_m(), 200.0);
    assert!(serde_json::from_str::<VerdictRules>(r#"{"geohazard_buffer_m": -5}"#).is_err());
    assert_eq!(
        serde_json::from_str::<VerdictRules>("{}").unwrap(),
        VerdictRules::default()
    );
}

#[test]
fn every_result_and_hit_class_has_its_own_chinese_name() {
    let names: std::collections::BTreeSet<&str> = LayerResult::ALL.iter().map(|r| r.name_zh()).collect();
    assert_eq!(names.len(), LayerResult::ALL.len(), "{names:?}");
    assert_eq!(LayerResult::Prohibited.name_zh(), "禁止占用");
    let classes: std::collections::BTreeSet<&str> =
        [HitClass::Counted, HitClass::Sliver, HitClass::Dismissed]
            .iter()
            .map(|c| c.name_zh())
            .collect();
    assert_eq!(classes.len(), 3);
}
