//! The green channel: eligibility, grants and revocations, queue order, advance use.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::local;
use landuse_domain::green::{
    advance_use, phasing_allowed, queue_order, AdvanceUseError, AdvanceUseRequest, AdvanceUseRules,
    GreenBasis, GreenChannel, GreenError, QueueKey,
};
use landuse_domain::limits::Channel;
use landuse_domain::project::{ProjectLevel, ProjectSector};
use landuse_domain::reason::ReasonError;
use landuse_domain::role::{Actor, Role};
use landuse_domain::units::SquareMetres;
use std::cmp::Ordering;
use uuid::Uuid;

fn leader() -> Actor {
    Actor::new(Uuid::from_u128(42), Role::Leader)
}

#[test]
fn a_key_project_case_is_on_the_green_channel() {
    let channel = GreenChannel {
        key_project: true,
        grant: None,
    };
    assert_eq!(channel.basis(), Some(GreenBasis::KeyProject));
    assert_eq!(Channel::from_green(channel.is_active()), Channel::Green);
    assert!(!GreenChannel::default().is_active());
}

#[test]
fn a_leader_grants_the_green_channel_with_a_reason_and_may_revoke_it() {
    let now = local(2026, 3, 2, 10, 0);
    let mut channel = GreenChannel::default();
    let grant = channel
        .grant(&leader(), "市重点民生项目，需加快推进", now)
        .unwrap();
    assert_eq!(grant.by, leader().id);
    channel.grant = Some(grant);
    assert_eq!(channel.basis(), Some(GreenBasis::LeaderGrant));
    assert_eq!(
        channel.grant(&leader(), "再次授予", now),
        Err(GreenError::AlreadyGranted)
    );

    let revocation = channel
        .revoke(&leader(), "项目调出重点清单", local(2026, 4, 1, 10, 0))
        .unwrap();
    channel.grant.as_mut().unwrap().revoked = Some(revocation);
    assert!(!channel.is_active());
    assert_eq!(
        channel.revoke(&leader(), "再次撤销", now),
        Err(GreenError::NotGranted)
    );
    // A revoked grant can be followed by a new one.
    assert!(channel.grant(&leader(), "重新纳入", now).is_ok());
}

#[test]
fn only_a_leader_may_grant_or_revoke_and_never_without_a_reason() {
    let now = local(2026, 3, 2, 10, 0);
    let channel = GreenChannel::default();
    for role in Role::ALL.iter().copied().filter(|r| *r != Role::Leader) {
        let actor = Actor::new(Uuid::from_u128(1), role);
        assert_eq!(
            channel.grant(&actor, "理由", now),
            Err(GreenError::RoleMayNot(role))
        );
        assert_eq!(
            channel.revoke(&actor, "理由", now),
            Err(GreenError::RoleMayNot(role))
        );
    }
    let refused = channel.grant(&leader(), " ", now).unwrap_err();
    assert_eq!(refused, GreenError::Reason(ReasonError::Blank));
    assert_eq!(refused.code(), "reason-required");
}

#[test]
fn phased_cases_are_for_the_green_channel_only() {
    assert!(phasing_allowed(true).is_ok());
    assert_eq!(phasing_allowed(false), Err(GreenError::NotOnGreenChannel));
}

#[test]
fn queues_put_green_first_then_the_nearest_deadline_then_the_id() {
    let soon = Some(local(2026, 3, 4, 0, 0));
    let later = Some(local(2026, 3, 20, 0, 0));
    let mut queue = [
        QueueKey {
            green: false,
            deadline: None,
            id: "e",
        },
        QueueKey {
            green: false,
            deadline: later,
            id: "d",
        },
        QueueKey {
            green: true,
            deadline: None,
            id: "c",
        },
        QueueKey {
            green: false,
            deadline: soon,
            id: "b",
        },
        QueueKey {
            green: true,
            deadline: later,
            id: "a2",
        },
        QueueKey {
            green: true,
            deadline: later,
            id: "a1",
        },
        QueueKey {
            green: true,
            deadline: soon,
            id: "z",
        },
    ];
    queue.sort();
    let order: Vec<&str> = queue.iter().map(|k| k.id).collect();
    assert_eq!(order, ["z", "a1", "a2", "c", "b", "d", "e"]);
    assert_eq!(queue_order(&queue[0], &queue[0]), Ordering::Equal);
}

fn eligible() -> AdvanceUseRequest {
    AdvanceUseRequest {
        green: true,
        project_level: ProjectLevel::Provincial,
        project_sector: ProjectSector::Transport,
        controls_schedule: true,
        requested_area: SquareMetres::new(3_000.0).unwrap(),
        used_area: SquareMetres::ZERO,
        area_with_request: SquareMetres::new(3_000.0).unwrap(),
        pre_reviewed_area: SquareMetres::new(10_000.0).unwrap(),
    }
}

#[test]
fn advance_use_is_open_to_schedule_controlling_works_of_qualifying_projects_up_to_thirty_percent() {
    let rules = AdvanceUseRules::default();
    let m2 = |v| SquareMetres::new(v).unwrap();
    let table: Vec<(&str, AdvanceUseRequest, Result<(), AdvanceUseError>)> = vec![
        ("exactly 30%", eligible(), Ok(())),
        (
            "national water",
            AdvanceUseRequest {
                project_level: ProjectLevel::National,
                project_sector: ProjectSector::Water,
                ..eligible()
            },
            Ok(()),
        ),
        (
            "energy",
            AdvanceUseRequest {
                project_sector: ProjectSector::Energy,
                ..eligible()
            },
            Ok(()),
        ),
        (
            "not green",
            AdvanceUseRequest {
                green: false,
                ..eligible()
            },
            Err(AdvanceUseError::NotOnGreenChannel),
        ),
        (
            "municipal project",
            AdvanceUseRequest {
                project_level: ProjectLevel::Municipal,
                ..eligible()
            },
            Err(AdvanceUseError::LevelNotEligible(ProjectLevel::Municipal)),
        ),
        (
            "county project",
            AdvanceUseRequest {
                project_level: ProjectLevel::County,
                ..eligible()
            },
            Err(AdvanceUseError::LevelNotEligible(ProjectLevel::County)),
        ),
        (
            "industry",
            AdvanceUseRequest {
                project_sector: ProjectSector::Industry,
                ..eligible()
            },
            Err(AdvanceUseError::SectorNotEligible(ProjectSector::Industry)),
        ),
        (
            "military is not among the advance-use sectors",
            AdvanceUseRequest {
                project_sector: ProjectSector::Military,
                ..eligible()
            },
            Err(AdvanceUseError::SectorNotEligible(ProjectSector::Military)),
        ),
        (
            "not schedule-controlling",
            AdvanceUseRequest {
                controls_schedule: false,
                ..eligible()
            },
            Err(AdvanceUseError::NotScheduleControlling),
        ),
        (
            "nothing pre-reviewed",
            AdvanceUseRequest {
                pre_reviewed_area: SquareMetres::ZERO,
                ..eligible()
            },
            Err(AdvanceUseError::NotPreReviewed),
        ),
        (
            "just over 30%",
            AdvanceUseRequest {
                requested_area: m2(1_000.01),
                used_area: m2(2_000.0),
                area_with_request: m2(3_000.01),
                ..eligible()
            },
            Err(AdvanceUseError::AreaOverShare {
                requested: m2(1_000.01),
                used: m2(2_000.0),
                with_request: m2(3_000.01),
                allowed: m2(3_000.0),
                max_share_percent: 30,
            }),
        ),
        (
            "an overlap that does not grow the union passes at the share",
            AdvanceUseRequest {
                requested_area: m2(1_500.0),
                used_area: m2(3_000.0),
                area_with_request: m2(3_000.004),
                ..eligible()
            },
            Ok(()),
        ),
    ];
    for (name, request, expected) in table {
        assert_eq!(advance_use(&request, &rules), expected, "{name}");
    }
}

#[test]
fn the_advance_use_share_is_configurable() {
    let rules = AdvanceUseRules::new(20).unwrap();
    assert!(matches!(
        advance_use(&eligible(), &rules),
        Err(AdvanceUseError::AreaOverShare {
            max_share_percent: 20,
            ..
        })
    ));
    assert!(AdvanceUseRules::new(101).is_err());
}

#[test]
fn the_area_over_share_names_what_is_used_and_what_remains() {
    let m2 = |v| SquareMetres::new(v).unwrap();
    let request = AdvanceUseRequest {
        requested_area: m2(1_500.0),
        used_area: m2(2_000.0),
        area_with_request: m2(3_500.0),
        ..eligible()
    };
    let refused = advance_use(&request, &AdvanceUseRules::default()).unwrap_err();
    assert_eq!(refused.code(), "advance-use-area-over-share");
    assert_eq!(refused.remaining(), m2(1_000.0));
    let text = refused.to_string();
    assert!(text.contains("2000.00 m² (3.00 mu) used"), "{text}");
    assert!(text.contains("1000.00 m² (1.50 mu) remaining"), "{text}");
}

#[test]
fn only_a_leader_decides_a_pending_request_and_an_approval_names_its_document() {
    use chrono::TimeZone;
    use landuse_domain::green::{
        decide_advance_use, AdvanceUseDecisionError, AdvanceUseStatus, AdvanceUseVerdict,
    };
    let now = chrono::Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap();
    let leader = Actor::new(uuid::Uuid::nil(), Role::Leader);
    let reviewer = Actor::new(uuid::Uuid::nil(), Role::Reviewer);
    let (pending, approve, refuse) = (
        AdvanceUseStatus::Pending,
        AdvanceUseVerdict::Approve,
        AdvanceUseVerdict::Refuse,
    );
    let approved = decide_advance_use(
        pending,
        approve,
        Some(" 安政先用〔2026〕3号 "),
        "控制性工程",
        &leader,
        now,
    )
    .unwrap();
    assert_eq!(approved.status, AdvanceUseStatus::Approved);
    assert_eq!(approved.document_number.as_deref(), Some("安政先用〔2026〕3号"));
    let refused = decide_advance_use(pending, refuse, None, "不属控制性工程", &leader, now).unwrap();
    assert_eq!(
        (refused.status, refused.document_number),
        (AdvanceUseStatus::Refused, None)
    );
    let table = [
        (
            decide_advance_use(pending, approve, Some("文号"), "理由", &reviewer, now),
            "role-may-not",
        ),
        (
            decide_advance_use(pending, approve, Some("文号"), " ", &leader, now),
            "reason-required",
        ),
        (
            decide_advance_use(pending, approve, Some(" "), "理由", &leader, now),
            "document-number-required",
        ),
        (
            decide_advance_use(AdvanceUseStatus::Approved, refuse, None, "理由", &leader, now),
            "advance-use-already-decided",
        ),
    ];
    for (decided, code) in table {
        assert_eq!(
            decided.map(|_| ()).map_err(|e: AdvanceUseDecisionError| e.code()),
            Err(code)
        );
    }
}
