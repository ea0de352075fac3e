//! The transition table, tested for every action, stage and role.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::local;
use landuse_domain::approval::{self, CheckHit, FeatureRef, MissingApproval};
use landuse_domain::check::{LayerKind, LayerResult};
use landuse_domain::ledger::{Amount, OffsetPosition, Quantities, Quantity, QuotaPosition, Shortfall};
use landuse_domain::overlay::OverlayGap;
use landuse_domain::role::{Actor, Role};
use landuse_domain::stage::{CaseState, Stage};
use landuse_domain::transition::{
    decide, rule_for, rules, Action, CaseFacts, CheckFacts, CheckSummary, Refusal, SupplyDecision,
    SupplyMethod, Target, TransitionError,
};
use uuid::Uuid;

use Action::{Advance, AnswerCorrection, Reject, RequestCorrection, Submit, Withdraw};
use Role::{Officer, Reviewer};
use Stage::{
    Accepted, Completed, Conversion, Correction, Draft, PreReview, Registration, Rejected, Supply, Withdrawn,
};

/// The table as the rules state it, written out independently of the code:
/// (action, from, to, role). `to = Correction` for `AnswerCorrection` stands
/// for "the stage it left".
const ALLOWED: &[(Action, Stage, Stage, Role)] = &[
    (Submit, Draft, Accepted, Officer),
    (Advance, Accepted, PreReview, Reviewer),
    (Advance, PreReview, Conversion, Reviewer),
    (Advance, Conversion, Supply, Reviewer),
    (Advance, Supply, Registration, Reviewer),
    (Advance, Registration, Completed, Reviewer),
    (RequestCorrection, Accepted, Correction, Reviewer),
    (RequestCorrection, PreReview, Correction, Reviewer),
    (RequestCorrection, Conversion, Correction, Reviewer),
    (RequestCorrection, Supply, Correction, Reviewer),
    (AnswerCorrection, Correction, Correction, Officer),
    (Reject, Accepted, Rejected, Reviewer),
    (Reject, PreReview, Rejected, Reviewer),
    (Reject, Conversion, Rejected, Reviewer),
    (Reject, Supply, Rejected, Reviewer),
    (Withdraw, Draft, Withdrawn, Officer),
    (Withdraw, Accepted, Withdrawn, Officer),
    (Withdraw, PreReview, Withdrawn, Officer),
    (Withdraw, Conversion, Withdrawn, Officer),
    (Withdraw, Supply, Withdrawn, Officer),
    (Withdraw, Correction, Withdrawn, Officer),
];

const MUNICIPAL: [Stage; 4] = [Accepted, PreReview, Conversion, Supply];

fn actor(role: Role) -> Actor {
    Actor::new(Uuid::from_u128(0x0fac_e000 + role as u128), role)
}

fn amount(hundredths: i64) -> Amount {
    Amount::from_hundredths(hundredths)
}

fn quantities(area: i64, paddy: i64, capacity: i64) -> Quantities {
    Quantities {
        area_m2: amount(area * 100),
        paddy_m2: amount(paddy * 100),
        capacity_kg: amount(capacity * 100),
    }
}

/// Facts that satisfy every precondition.
fn complete_facts() -> CaseFacts {
    CaseFacts {
        check: CheckFacts::Confirmed(CheckSummary {
            worst: LayerResult::NeedsOffset,
            cultivated_land_found: true,
            unchecked_layers: vec![],
        }),
        pre_review_opinion: Some("安自然资预〔2026〕12号".into()),
        quota: QuotaPosition {
            needed_mu: Some(amount(1_125)),
            held_mu: amount(1_125),
            consumed_mu: Amount::ZERO,
        },
        offset: OffsetPosition {
            needed: Some(quantities(800, 200, 500)),
            locked: quantities(800, 200, 500),
            consumed: Quantities::ZERO,
        },
        conversion_approval: Some("陕政土批〔2026〕34号".into()),
        supply_decision: Some(SupplyDecision {
            method: SupplyMethod::Transfer,
            industrial: true,
            standard_land_indicators_present: true,
        }),
        certificate_number: Some("陕(2026)安康市不动产权第0001234号".into()),
        approvals_missing: vec![],
        advance_use_uncovered: vec![],
        overlay_gap: None,
    }
}

/// The states a case can be in at `stage`; for correction, one per stage left.
fn states_at(stage: Stage) -> Vec<CaseState> {
    if stage == Correction {
        MUNICIPAL
            .iter()
            .map(|&left| CaseState::in_correction(left).unwrap())
            .collect()
    } else {
        vec![CaseState::at(stage).unwrap()]
    }
}

fn attempt(state: CaseState, action: Action, role: Role) -> Result<CaseState, TransitionError> {
    decide(
        &state,
        action,
        &actor(role),
        &complete_facts(),
        local(2026, 3, 2, 10, 0),
        Some("依规办理".into()),
    )
    .map(|event| event.state_after)
}

#[test]
fn the_code_table_is_exactly_the_table_of_the_rules() {
    let mut from_code: Vec<(Action, Stage, Stage, Role)> = rules()
        .iter()
        .map(|r| {
            let to = match r.to {
                Target::Stage(stage) => stage,
                Target::StageLeft => Correction,
            };
            (r.action, r.from, to, r.role)
        })
        .collect();
    let mut expected = ALLOWED.to_vec();
    from_code.sort();
    expected.sort();
    assert_eq!(from_code, expected);
}

#[test]
fn every_action_from_every_stage_by_every_role_is_allowed_or_refused_as_the_table_says() {
    let mut allowed_seen = 0;
    for &action in Action::ALL {
        for &stage in Stage::ALL {
            for &role in Role::ALL {
                let row = ALLOWED.iter().find(|(a, s, _, _)| *a == action && *s == stage);
                let role_ever_allowed = ALLOWED.iter().any(|(a, _, _, r)| *a == action && *r == role);
                for state in states_at(stage) {
                    let outcome = attempt(state, action, role);
                    match row {
                        _ if !role_ever_allowed => assert_eq!(
                            outcome,
                            Err(TransitionError::RoleMayNot { role, action }),
                            "{role} {action} from {state}"
                        ),
                        None => assert_eq!(
                            outcome,
                            Err(TransitionError::NotAllowedFrom { stage, action }),
                            "{role} {action} from {state}"
                        ),
                        Some((_, _, to, _)) => {
                            let expected = if action == AnswerCorrection {
                                CaseState::at(state.returns_to().unwrap()).unwrap()
                            } else if *to == Correction {
                                CaseState::in_correction(stage).unwrap()
                            } else {
                                CaseState::at(*to).unwrap()
                            };
                            assert_eq!(outcome, Ok(expected), "{role} {action} from {state}");
                            allowed_seen += 1;
                        }
                    }
                }
            }
        }
    }
    // 19 rows with one state each, plus answering and withdrawing from each of
    // the 4 correction states (one per stage left).
    assert_eq!(allowed_seen, 19 + 2 * 4);
}

#[test]
fn every_allowed_transition_is_refused_to_every_other_role() {
    for &(action, from, _, allowed_role) in ALLOWED {
        for role in Role::ALL.iter().copied().filter(|r| *r != allowed_role) {
            for state in states_at(from) {
                let refused = attempt(state, action, role).unwrap_err();
                assert_eq!(refused, TransitionError::RoleMayNot { role, action });
                assert_eq!(refused.code(), "role-may-not");
                assert_eq!(refused.refusal(), Refusal::Forbidden);
            }
        }
    }
}

#[test]
fn final_stages_allow_nothing() {
    for stage in [Completed, Rejected, Withdrawn] {
        for &action in Action::ALL {
            assert!(rule_for(action, stage).is_none(), "{action} from {stage}");
        }
    }
}

#[test]
fn a_correction_returns_to_the_stage_it_left() {
    let facts = complete_facts();
    let now = local(2026, 3, 2, 10, 0);
    for left in MUNICIPAL {
        let returned = decide(
            &CaseState::at(left).unwrap(),
            RequestCorrection,
            &actor(Reviewer),
            &facts,
            now,
            Some("缺少勘测定界报告".into()),
        )
        .unwrap();
        assert_eq!((returned.from, returned.to), (left, Correction));
        assert_eq!(returned.state_after.returns_to(), Some(left));
        let answered = decide(
            &returned.state_after,
            AnswerCorrection,
            &actor(Officer),
            &facts,
            now,
            None,
        )
        .unwrap();
        assert_eq!((answered.from, answered.to), (Correction, left));
        assert_eq!(answered.state_after, CaseState::at(left).unwrap());
    }
}

#[test]
fn an_event_records_who_when_from_to_and_why() {
    let now = local(2026, 3, 2, 10, 30);
    let reviewer = actor(Reviewer);
    let event = decide(
        &CaseState::at(PreReview).unwrap(),
        Reject,
        &reviewer,
        &CaseFacts::default(),
        now,
        Some("  占用生态保护红线且不属于允许活动 ".into()),
    )
    .unwrap();
    assert_eq!(event.actor, reviewer);
    assert_eq!(event.at, now);
    assert_eq!((event.from, event.to), (PreReview, Rejected));
    assert_eq!(event.action, Reject);
    assert_eq!(event.reason.unwrap().as_str(), "占用生态保护红线且不属于允许活动");
}

#[test]
fn rejecting_withdrawing_and_returning_need_a_reason() {
    let cases = [
        (Reject, Supply, Reviewer),
        (RequestCorrection, Accepted, Reviewer),
        (Withdraw, Draft, Officer),
    ];
    for (action, stage, role) in cases {
        for reason in [None, Some(String::new()), Some("   ".to_owned())] {
            let refused = decide(
                &CaseState::at(stage).unwrap(),
                action,
                &actor(role),
                &complete_facts(),
                local(2026, 3, 2, 10, 0),
                reason,
            )
            .unwrap_err();
            assert_eq!(refused, TransitionError::ReasonRequired { action });
            assert_eq!(refused.refusal(), Refusal::Invalid);
        }
    }
}

#[test]
fn advancing_needs_no_reason_and_a_blank_one_is_dropped() {
    let event = decide(
        &CaseState::at(Accepted).unwrap(),
        Advance,
        &actor(Reviewer),
        &CaseFacts::default(),
        local(2026, 3, 2, 10, 0),
        Some(" ".into()),
    )
    .unwrap();
    assert_eq!(event.reason, None);
}

/// Advances from `stage` with `facts`, returning the refusal if any.
fn advance_with(stage: Stage, facts: &CaseFacts) -> Result<(), TransitionError> {
    decide(
        &CaseState::at(stage).unwrap(),
        Advance,
        &actor(Reviewer),
        facts,
        local(2026, 3, 2, 10, 0),
        None,
    )
    .map(|_| ())
}

fn confirmed(worst: LayerResult, cultivated: bool, unchecked: Vec<LayerKind>) -> CheckFacts {
    CheckFacts::Confirmed(CheckSummary {
        worst,
        cultivated_land_found: cultivated,
        unchecked_layers: unchecked,
    })
}

#[test]
fn pre_review_to_conversion_needs_a_passed_check_and_the_opinion() {
    let table: Vec<(&str, CaseFacts, Result<(), TransitionError>)> = vec![
        ("everything in place", complete_facts(), Ok(())),
        (
            "no check",
            CaseFacts {
                check: CheckFacts::None,
                ..complete_facts()
            },
            Err(TransitionError::CheckMissing),
        ),
        (
            "check not confirmed",
            CaseFacts {
                check: CheckFacts::Unconfirmed,
                ..complete_facts()
            },
            Err(TransitionError::CheckNotConfirmed),
        ),
        (
            "stale check",
            CaseFacts {
                check: CheckFacts::Stale,
                ..complete_facts()
            },
            Err(TransitionError::CheckStale),
        ),
        (
            "prohibited overlap",
            CaseFacts {
                check: confirmed(LayerResult::Prohibited, false, vec![]),
                ..complete_facts()
            },
            Err(TransitionError::CheckProhibited),
        ),
        (
            "a layer not checked",
            CaseFacts {
                check: confirmed(LayerResult::Warning, false, vec![LayerKind::Geohazard]),
                ..complete_facts()
            },
            Err(TransitionError::CheckIncomplete {
                layers: vec![LayerKind::Geohazard],
            }),
        ),
        (
            "approval needed but not prohibited",
            CaseFacts {
                check: confirmed(LayerResult::NeedsStateCouncilApproval, false, vec![]),
                ..complete_facts()
            },
            Ok(()),
        ),
        (
            "opinion missing",
            CaseFacts {
                pre_review_opinion: None,
                ..complete_facts()
            },
            Err(TransitionError::OpinionNotIssued),
        ),
        (
            "opinion blank",
            CaseFacts {
                pre_review_opinion: Some("  ".into()),
                ..complete_facts()
            },
            Err(TransitionError::OpinionNotIssued),
        ),
    ];
    for (name, facts, expected) in table {
        assert_eq!(advance_with(PreReview, &facts), expected, "{name}");
    }
}

#[test]
#[allow(clippy::too_many_lines)] // one row per refusal the approval can give
fn conversion_to_supply_needs_quota_offset_when_cultivated_and_approval() {
    let table: Vec<(&str, CaseFacts, Result<(), TransitionError>)> = vec![
        ("everything in place", complete_facts(), Ok(())),
        (
            "quota not allocated",
            CaseFacts {
                quota: QuotaPosition {
                    held_mu: Amount::ZERO,
                    ..complete_facts().quota
                },
                ..complete_facts()
            },
            Err(TransitionError::QuotaShort {
                needed: amount(1_125),
                held: Amount::ZERO,
                short_by: amount(1_125),
            }),
        ),
        (
            "quota held a hundredth short of the need",
            CaseFacts {
                quota: QuotaPosition {
                    held_mu: amount(1_124),
                    ..complete_facts().quota
                },
                ..complete_facts()
            },
            Err(TransitionError::QuotaShort {
                needed: amount(1_125),
                held: amount(1_124),
                short_by: amount(1),
            }),
        ),
        (
            "quota need unknown",
            CaseFacts {
                quota: QuotaPosition {
                    needed_mu: None,
                    ..complete_facts().quota
                },
                ..complete_facts()
            },
            Err(TransitionError::QuotaNeedUnknown),
        ),
        (
            "cultivated land and no offset",
            CaseFacts {
                offset: OffsetPosition {
                    needed: None,
                    ..OffsetPosition::default()
                },
                ..complete_facts()
            },
            Err(TransitionError::OffsetNeedUnknown),
        ),
        (
            "a lock made against an older, smaller check",
            CaseFacts {
                offset: OffsetPosition {
                    needed: Some(quantities(40_000, 200, 500)),
                    ..complete_facts().offset
                },
                ..complete_facts()
            },
            Err(TransitionError::OffsetShort {
                shortfalls: vec![Shortfall {
                    quantity: Quantity::Area,
                    needed: amount(4_000_000),
                    available: amount(80_000),
                    short_by: amount(3_920_000),
                    unit: "m²",
                }],
            }),
        ),
        (
            "no cultivated land, no offset needed",
            CaseFacts {
                check: confirmed(LayerResult::Ok, false, vec![]),
                offset: OffsetPosition::default(),
                ..complete_facts()
            },
            Ok(()),
        ),
        (
            "approval not recorded",
            CaseFacts {
                conversion_approval: None,
                ..complete_facts()
            },
            Err(TransitionError::ConversionNotApproved),
        ),
        (
            "parcels changed since the check",
            CaseFacts {
                check: CheckFacts::Stale,
                ..complete_facts()
            },
            Err(TransitionError::CheckStale),
        ),
    ];
    for (name, facts, expected) in table {
        assert_eq!(advance_with(Conversion, &facts), expected, "{name}");
    }
}

#[test]
fn supply_to_registration_needs_the_decision_and_standard_land_indicators_for_industry() {
    let decision = |industrial, indicators| {
        Some(SupplyDecision {
            method: SupplyMethod::Allocation,
            industrial,
            standard_land_indicators_present: indicators,
        })
    };
    let table = [
        (None, Err(TransitionError::SupplyDecisionMissing)),
        (
            decision(true, false),
            Err(TransitionError::StandardLandIndicatorsMissing),
        ),
        (decision(true, true), Ok(())),
        (decision(false, false), Ok(())),
    ];
    for (supply_decision, expected) in table {
        let facts = CaseFacts {
            supply_decision,
            ..complete_facts()
        };
        assert_eq!(advance_with(Supply, &facts), expected, "{supply_decision:?}");
    }
}

#[test]
fn registration_to_completed_needs_a_certificate_number() {
    for missing in [None, Some(String::new()), Some(" \t".to_owned())] {
        let facts = CaseFacts {
            certificate_number: missing,
            ..complete_facts()
        };
        let refused = advance_with(Registration, &facts).unwrap_err();
        assert_eq!(refused, TransitionError::CertificateMissing);
        assert_eq!(refused.code(), "certificate-missing");
        assert_eq!(refused.refusal(), Refusal::Conflict);
    }
    assert_eq!(advance_with(Registration, &complete_facts()), Ok(()));
}

#[test]
fn submitting_and_accepting_need_no_facts() {
    let nothing = CaseFacts::default();
    assert_eq!(advance_with(Accepted, &nothing), Ok(()));
    let submitted = decide(
        &CaseState::draft(),
        Submit,
        &actor(Officer),
        &nothing,
        local(2026, 3, 2, 9, 0),
        None,
    );
    assert_eq!(submitted.unwrap().to, Accepted);
}

#[test]
fn the_stage_is_checked_before_the_reason_and_the_preconditions() {
    // A reviewer advancing a draft: refused for the stage, not for missing facts.
    assert_eq!(
        advance_with(Draft, &CaseFacts::default()),
        Err(TransitionError::NotAllowedFrom {
            stage: Draft,
            action: Advance
        })
    );
    assert_eq!(
        advance_with(Draft, &CaseFacts::default()).unwrap_err().code(),
        "not-allowed-from"
    );
}

/// What a hit of `result` on `layer` calls for, as the API loads it into the facts.
fn missing_for(result: LayerResult, layer: LayerKind) -> Vec<MissingApproval> {
    let hit = CheckHit {
        hit_id: Uuid::from_u128(7),
        feature: FeatureRef {
            layer,
            feature: "F-1".into(),
        },
        result,
        dismissed: false,
    };
    approval::missing(&[hit], &[])
}

#[test]
fn a_missing_approval_blocks_only_the_transition_it_is_needed_before() {
    let cases = [
        (LayerResult::NeedsReview, LayerKind::QinlingKey, PreReview),
        (
            LayerResult::NeedsApproval,
            LayerKind::EcologicalRedline,
            PreReview,
        ),
        (LayerResult::OutsideBoundary, LayerKind::UrbanBoundary, PreReview),
        (LayerResult::Warning, LayerKind::Geohazard, PreReview),
        (
            LayerResult::NeedsStateCouncilApproval,
            LayerKind::PermanentFarmland,
            Conversion,
        ),
    ];
    for (result, layer, blocked) in cases {
        let facts = CaseFacts {
            approvals_missing: missing_for(result, layer),
            ..complete_facts()
        };
        for stage in [PreReview, Conversion] {
            let outcome = advance_with(stage, &facts);
            if stage == blocked {
                match outcome {
                    Err(TransitionError::ApprovalMissing { missing }) => {
                        assert_eq!(missing.len(), 1);
                        assert_eq!(missing[0].feature.layer, layer);
                    }
                    other => panic!("{result:?} from {stage:?}: {other:?}"),
                }
            } else {
                assert_eq!(outcome, Ok(()), "{result:?} does not block {stage:?}");
            }
        }
    }
}

#[test]
fn the_refusal_names_the_kind_the_layer_and_the_feature_missing() {
    let facts = CaseFacts {
        approvals_missing: missing_for(LayerResult::Warning, LayerKind::Geohazard),
        ..complete_facts()
    };
    let refused = advance_with(PreReview, &facts).unwrap_err();
    assert_eq!(refused.code(), "approval-missing");
    assert_eq!(refused.refusal(), Refusal::Conflict);
    let text = refused.to_string();
    assert!(text.contains("geohazard_assessment for geohazard F-1"), "{text}");
}

#[test]
fn a_missing_overlay_answer_blocks_conversion_to_supply_only_naming_what_is_missing() {
    let lapsed = OverlayGap::Lapsed {
        query: uuid::Uuid::from_u128(7),
        valid_until: chrono::NaiveDate::from_ymd_opt(2027, 2, 28).unwrap_or_default(),
    };
    let facts = CaseFacts {
        overlay_gap: Some(lapsed.clone()),
        ..complete_facts()
    };
    assert_eq!(advance_with(PreReview, &facts), Ok(()));
    let refused = advance_with(Conversion, &facts).unwrap_err();
    assert_eq!(refused, TransitionError::OverlayAnswerMissing { gap: lapsed });
    assert_eq!(refused.code(), "overlay-lapsed");
    assert_eq!(refused.refusal(), Refusal::Conflict);
    let text = refused.to_string();
    assert!(text.contains("lapsed on 2027-03-01"), "{text}");
}

#[test]
fn every_refusal_has_a_distinct_stable_code() {
    let errors = [
        TransitionError::NotAllowedFrom {
            stage: Draft,
            action: Advance,
        },
        TransitionError::RoleMayNot {
            role: Role::Gis,
            action: Submit,
        },
        TransitionError::ReasonRequired { action: Reject },
        TransitionError::ReasonTooLong { chars: 3000 },
        TransitionError::CheckMissing,
        TransitionError::CheckNotConfirmed,
        TransitionError::CheckStale,
        TransitionError::CheckProhibited,
        TransitionError::CheckIncomplete { layers: vec![] },
        TransitionError::OpinionNotIssued,
        TransitionError::QuotaNeedUnknown,
        TransitionError::QuotaShort {
            needed: Amount::ZERO,
            held: Amount::ZERO,
            short_by: Amount::ZERO,
        },
        TransitionError::OffsetNeedUnknown,
        TransitionError::OffsetShort { shortfalls: vec![] },
        TransitionError::ConversionNotApproved,
        TransitionError::SupplyDecisionMissing,
        TransitionError::StandardLandIndicatorsMissing,
        TransitionError::CertificateMissing,
        TransitionError::ApprovalMissing { missing: vec![] },
        TransitionError::AdvanceUseUncovered { uncovered: vec![] },
        TransitionError::OverlayAnswerMissing {
            gap: OverlayGap::NoQuery,
        },
        TransitionError::OverlayAnswerMissing {
            gap: OverlayGap::Refused {
                query: uuid::Uuid::nil(),
                document_number: "x".into(),
            },
        },
        TransitionError::OverlayAnswerMissing {
            gap: OverlayGap::Lapsed {
                query: uuid::Uuid::nil(),
                valid_until: chrono::NaiveDate::MIN,
            },
        },
    ];
    let mut codes: Vec<&str> = errors.iter().map(TransitionError::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len());
}

#[test]
fn events_serialise_with_stage_codes() {
    let event = decide(
        &CaseState::at(Supply).unwrap(),
        RequestCorrection,
        &actor(Reviewer),
        &CaseFacts::default(),
        local(2026, 3, 2, 10, 0),
        Some("补充供地方案".into()),
    )
    .unwrap();
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["action"], "request_correction");
    assert_eq!(json["from"], "supply");
    assert_eq!(json["to"], "correction");
    assert_eq!(json["state_after"]["returns_to"], "supply");
    assert_eq!(json["actor"]["role"], "reviewer");
}

#[test]
fn the_conversion_waits_until_the_cases_cover_every_approved_advance_use_parcel() {
    use landuse_domain::green::UncoveredAdvanceUse;
    use landuse_domain::units::SquareMetres;
    let measured = |m2: f64| UncoveredAdvanceUse {
        request_id: uuid::Uuid::nil(),
        uncovered: SquareMetres::new(m2).unwrap(),
    };
    let with = |uncovered: Vec<UncoveredAdvanceUse>| CaseFacts {
        advance_use_uncovered: uncovered,
        ..complete_facts()
    };
    let refused = advance_with(PreReview, &with(vec![measured(0.0), measured(666.7)])).unwrap_err();
    assert_eq!(refused.code(), "advance-use-uncovered");
    assert_eq!(refused.refusal(), Refusal::Conflict);
    assert_eq!(
        refused,
        TransitionError::AdvanceUseUncovered {
            uncovered: vec![measured(666.7)]
        },
        "a covered request is not named"
    );
    assert!(
        refused.to_string().contains("666.70 m² (1.00 mu) not covered"),
        "{refused}"
    );
    assert_eq!(
        advance_with(PreReview, &with(vec![measured(0.004)])),
        Ok(()),
        "noise below 0.01 m²"
    );
    assert_eq!(
        advance_with(Conversion, &with(vec![measured(666.7)])),
        Ok(()),
        "checked once, at the conversion"
    );
}
