//! The authorization matrix: every county-scoped endpoint called by its own county, by an
//! officer of another county, with no token and with a role that may not, gets 2xx-or-domain
//! answer / 404 / 401 / 403; and after every refused call every table of cases, parcels,
//! checks, ledgers and history is byte for byte what it was (compared, not inferred from the
//! status: under row-level security an UPDATE of another county's row changes nothing and
//! raises no error).
#![allow(clippy::unwrap_used)]

use crate::common;

use common::TestApp;
use serde_json::{json, Value};
use sqlx::PgPool;

/// Every table a refused request must leave untouched.
const TABLES: [&str; 22] = [
    "projects",
    "project_events",
    "start_rate_freezes",
    "cases",
    "case_events",
    "case_pauses",
    "parcels",
    "checks",
    "check_hits",
    "case_approvals",
    "case_overlay_queries",
    "case_overlay_answers",
    "ledger_items",
    "quota_accounts",
    "quota_requests",
    "quota_movements",
    "offset_indicators",
    "offset_balances",
    "offset_movements",
    "project_start_records",
    "alerts",
    "idempotency_keys",
];

async fn digest(db: &PgPool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in TABLES {
        let sum: String = sqlx::query_scalar(&format!(
            "select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t"
        ))
        .fetch_one(db)
        .await
        .unwrap();
        out.push((table.to_owned(), sum));
    }
    out
}

/// One endpoint and who may call it.
struct Probe {
    method: &'static str,
    path: String,
    body: Option<Value>,
    /// The role that may call it, when it is not the officer (so the other-county officer is
    /// simply a wrong role: 403).
    role: &'static str,
    /// A role that may not call it.
    wrong: &'static str,
    /// What an officer of another county gets: 404 for a path naming another county's case or
    /// project; 422 "no such project in your counties" when the reference is in the body.
    other: u16,
}

impl Probe {
    fn new(
        method: &'static str,
        path: String,
        body: Option<Value>,
        role: &'static str,
        wrong: &'static str,
    ) -> Self {
        Self {
            method,
            path,
            body,
            role,
            wrong,
            other: if role == "officer" { 404 } else { 403 },
        }
    }

    fn other_county_gets(mut self, status: u16) -> Self {
        self.other = status;
        self
    }
}

async fn etag(app: &TestApp, case: &str) -> String {
    app.send("GET", &format!("/api/v1/cases/{case}"), "officer", None, &[])
        .await
        .etag()
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_county_scoped_endpoint_answers_each_caller_rightly_and_refusals_change_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let project = app.project(false).await;
    let (case, _) = app.case(&project).await;
    let nobody = "00000000-0000-7000-8000-000000000000";
    let parcels = json!({ "type": "FeatureCollection", "features": [
        { "type": "Feature", "properties": {}, "geometry": common::square(109.0, 32.7, 0.001) }
    ]});
    let c = |rest: &str| format!("/api/v1/cases/{case}{rest}");
    let probes = vec![
        Probe::new(
            "GET",
            format!("/api/v1/projects/{project}"),
            None,
            "officer",
            "gis",
        ),
        Probe::new("GET", c(""), None, "officer", "gis"),
        Probe::new("GET", c("/history"), None, "officer", "gis"),
        Probe::new("GET", c("/checks"), None, "officer", "gis"),
        Probe::new("GET", c(&format!("/checks/{nobody}")), None, "officer", "gis"),
        Probe::new("GET", c("/quota"), None, "officer", "gis"),
        Probe::new("GET", c("/offset"), None, "officer", "gis"),
        Probe::new("GET", c("/approvals"), None, "officer", "gis"),
        Probe::new("GET", c("/overlay-queries"), None, "officer", "gis"),
        Probe::new("PUT", c("/parcels"), Some(parcels.clone()), "officer", "planner"),
        Probe::new(
            "POST",
            c("/parcels"),
            Some(parcels.clone()),
            "officer",
            "reviewer",
        ),
        Probe::new(
            "POST",
            c("/transitions"),
            Some(json!({ "action": "submit" })),
            "officer",
            "gis",
        ),
        Probe::new(
            "POST",
            "/api/v1/cases".to_owned(),
            Some(json!({ "project_id": project, "title": "二期用地" })),
            "officer",
            "planner",
        )
        .other_county_gets(422),
        Probe::new(
            "POST",
            "/api/v1/quotas/requests".to_owned(),
            Some(json!({ "case_id": case, "year": 2026, "mu": 1.0 })),
            "officer",
            "planner",
        ),
        Probe::new(
            "POST",
            c("/quota/cancel"),
            Some(json!({ "reason": "撤回" })),
            "officer",
            "planner",
        ),
        Probe::new(
            "POST",
            format!("/api/v1/projects/{project}/start"),
            Some(json!({ "started_on": "2026-03-01" })),
            "officer",
            "planner",
        ),
        Probe::new(
            "GET",
            format!("/api/v1/projects/{project}/history"),
            None,
            "officer",
            "gis",
        ),
        Probe::new(
            "PATCH",
            format!("/api/v1/projects/{project}"),
            Some(json!({ "name": "改名项目" })),
            "officer",
            "planner",
        ),
        // Municipal roles' writes: an officer (of any county) is a wrong role.
        Probe::new(
            "PUT",
            format!("/api/v1/projects/{project}/designation"),
            Some(common::key_designation("municipal", "water")),
            "leader",
            "officer",
        ),
        Probe::new("POST", c("/facts"), Some(json!({})), "reviewer", "officer"),
        Probe::new(
            "POST",
            c("/approvals"),
            Some(json!({
                "kind": "review_opinion", "document_number": "陕林审〔2026〕12号", "authority": "陕西省林业局",
                "decided_on": "2026-11-30", "hits": [nobody]
            })),
            "reviewer",
            "officer",
        ),
        Probe::new(
            "POST",
            c("/overlay-queries"),
            Some(json!({})),
            "reviewer",
            "officer",
        ),
        Probe::new(
            "POST",
            c("/green-channel"),
            Some(json!({ "action": "grant", "reason": "重点项目" })),
            "leader",
            "officer",
        ),
        Probe::new("POST", c("/checks"), Some(json!({})), "planner", "officer"),
        Probe::new(
            "POST",
            c(&format!("/checks/{nobody}/confirm")),
            Some(json!({})),
            "planner",
            "officer",
        ),
        Probe::new(
            "POST",
            c("/quota/release"),
            Some(json!({ "reason": "x" })),
            "reviewer",
            "officer",
        ),
        Probe::new(
            "POST",
            c("/offset/lock"),
            Some(json!({ "capacity_kg": 0.0 })),
            "reviewer",
            "officer",
        ),
        Probe::new(
            "POST",
            c("/offset/release"),
            Some(json!({ "reason": "撤回" })),
            "reviewer",
            "officer",
        ),
        Probe::new(
            "POST",
            c("/offset/consume"),
            Some(json!({})),
            "reviewer",
            "officer",
        ),
    ];
    let mut failures = Vec::new();
    let mut rightful_changes = 0;
    for probe in &probes {
        let write = probe.method != "GET";
        for (who, expected) in [("", 401), (probe.wrong, 403), ("officer2", probe.other)] {
            let tag = etag(&app, &case).await;
            let before = digest(&app.db).await;
            let answer = app
                .send(
                    probe.method,
                    &probe.path,
                    who,
                    probe.body.clone(),
                    &[
                        ("if-match", &tag),
                        ("idempotency-key", &uuid::Uuid::new_v4().to_string()),
                    ],
                )
                .await;
            let after = digest(&app.db).await;
            let label = format!(
                "{} {} as {:?}",
                probe.method,
                probe.path,
                if who.is_empty() { "nobody" } else { who }
            );
            if answer.status != expected {
                failures.push(format!(
                    "{label}: {} (expected {expected}) {}",
                    answer.status, answer.text
                ));
            }
            if write && before != after {
                let changed: Vec<&str> = before
                    .iter()
                    .zip(&after)
                    .filter(|(b, a)| b != a)
                    .map(|(b, _)| b.0.as_str())
                    .collect();
                failures.push(format!("{label}: refused but changed {changed:?}"));
            }
            if !answer.headers["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("application/problem+json")
            {
                failures.push(format!("{label}: not problem+json"));
            }
        }
        // The rightful caller gets past authorization (its answer may still be a domain
        // refusal of the dummy body, but never 401/403/404).
        let tag = etag(&app, &case).await;
        let before = digest(&app.db).await;
        let answer = app
            .send(
                probe.method,
                &probe.path,
                probe.role,
                probe.body.clone(),
                &[
                    ("if-match", &tag),
                    ("idempotency-key", &uuid::Uuid::new_v4().to_string()),
                ],
            )
            .await;
        if answer.status < 300 && probe.method != "GET" && digest(&app.db).await != before {
            rightful_changes += 1;
        }
        let nonexistent_child = probe.path.contains(nobody);
        if matches!(answer.status, 401 | 403) || (answer.status == 404 && !nonexistent_child) {
            failures.push(format!(
                "{} {} as {}: {} {}",
                probe.method, probe.path, probe.role, answer.status, answer.text
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
    // Lists filter by county: the other county's officer finds neither the case nor the project
    // (nor its parcels through OGC), while the own county's does.
    for path in [
        "/api/v1/cases",
        "/api/v1/projects",
        "/api/v1/ledger",
        "/api/v1/alerts",
        "/api/v1/quotas/waiting",
        "/ogc/collections/parcels/items",
    ] {
        let other = app.send("GET", path, "officer2", None, &[]).await;
        assert!(
            other.status < 300 || other.status == 403,
            "{path} as officer2: {} {}",
            other.status,
            other.text
        );
        assert!(
            !other.text.contains(&case) && !other.text.contains(&project),
            "{path} shows another county's case to officer2: {}",
            other.text
        );
    }
    let own = app.send("GET", "/api/v1/cases", "officer", None, &[]).await;
    assert!(own.text.contains(&case), "the own county lists its case");
    let own = app
        .send("GET", "/ogc/collections/parcels/items", "officer", None, &[])
        .await;
    assert!(
        own.text.contains(&case),
        "the own county reads its parcels through OGC: {}",
        own.text
    );
    // The snapshot does see a change when one is made: the rightful writes made some.
    assert!(
        rightful_changes >= 3,
        "only {rightful_changes} rightful writes changed the snapshot"
    );
}
