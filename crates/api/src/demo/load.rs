//! `landuse demo load`: imports the generated layers through the layer import and makes the
//! quotas, offset indicators, projects and cases through the router, as the roles that would
//! make them, so every case obeys the real rules and its events, history, ledger items and
//! quota and offset ledgers agree. Each case is opened with the service clock set back by its
//! age and its steps are spread over that time; a case left to sit runs past its limits.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fmt,
    path::Path,
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use axum::{body::Body, http::Request, Router};
use chrono::{DateTime, Datelike, TimeDelta, Utc};
use futures_util::{StreamExt, TryStreamExt};
use landuse_domain::{calendar::bureau_date, check::LayerKind, county::CountyCode};
use landuse_spatial::store::{self as layer_store, ImportOptions};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgPool;
use tower::ServiceExt;

use super::{
    generate::{DemoPlan, Plan, PlannedCase, PlannedProject, LAYER_FILES},
    tokens, waiting, DemoError, COUNTIES,
};
use crate::{
    admin,
    app::AppState,
    clock::Clock,
    config::Config,
    store::{self, Doing},
};

/// The settings key that records the demo in the database.
pub const LOADED_KEY: &str = "demo";

/// The label of the short-lived tokens the loader acts with (revoked when it is done).
const LOADER_LABEL: &str = "demo loader";

/// Grain capacity of cultivated land, kg per m² a year (about 300 kg per mu).
const GRAIN_KG_PER_M2: f64 = 0.45;

/// How many cases are driven at once.
const WORKERS: usize = 4;

/// Construction quota each county gets for the demo year, in mu.
const COUNTY_QUOTA_MU: f64 = 4000.0;

/// Whether the demo recorded in the database is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadState {
    /// A load started and has not finished (or stopped half-way).
    Loading,
    /// Loaded.
    Loaded,
}

/// The `demo` settings row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loaded {
    /// Complete or not.
    pub state: LoadState,
    /// The generator seed.
    pub seed: u64,
    /// When the load started.
    pub started_at: DateTime<Utc>,
    /// What it made, once loaded.
    #[serde(default)]
    pub counts: Option<Counts>,
}

impl fmt::Display for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            LoadState::Loading => "loading",
            LoadState::Loaded => "loaded",
        };
        write!(
            f,
            "seed {}, {state} {}",
            self.seed,
            self.started_at.format("%Y-%m-%d %H:%M UTC")
        )?;
        if let Some(counts) = &self.counts {
            write!(f, "; {counts}")?;
        }
        Ok(())
    }
}

/// What a loaded demo holds, counted in the database after the load.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Features per layer kind.
    pub layers: BTreeMap<String, i64>,
    /// Projects.
    pub projects: i64,
    /// Cases.
    pub cases: i64,
    /// Parcels.
    pub parcels: i64,
    /// Cases per stage.
    pub stages: BTreeMap<String, i64>,
    /// Cases on the green channel.
    pub green: i64,
    /// Cases past their stage deadline.
    pub overdue: i64,
    /// Open ledger items past the three-week clearing.
    pub ledger_overdue: i64,
    /// Spatial checks stored.
    pub checks: i64,
    /// Case events in the append-only history.
    pub events: i64,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layers: Vec<String> = self.layers.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let stages: Vec<String> = self.stages.iter().map(|(k, n)| format!("{k} {n}")).collect();
        write!(
            f,
            "layers: {}; {} projects, {} cases ({}), {} parcels; {} green channel, {} past their \
             deadline, {} ledger items overdue; {} checks, {} events",
            layers.join(", "),
            self.projects,
            self.cases,
            stages.join(", "),
            self.parcels,
            self.green,
            self.overdue,
            self.ledger_overdue,
            self.checks,
            self.events
        )
    }
}

/// What `load` did.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// What the database holds now.
    pub counts: Counts,
    /// Cases whose check found something that stops them (a red line, a core zone), or that
    /// wait for an approval their check calls for, where their plan meant them to go further:
    /// they wait in pre-review (or in conversion for the State Council), as a real one would.
    pub stopped_short: usize,
    /// Seconds the load took.
    pub seconds: f64,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "demo loaded in {:.1} s: {}; {} cases stopped by their check or waiting for its approvals",
            self.seconds, self.counts, self.stopped_short
        )
    }
}

/// The demo recorded in the database, if any.
///
/// # Errors
/// Database failures, a record that is not one this module writes.
pub async fn loaded(pool: &PgPool) -> Result<Option<Loaded>, DemoError> {
    let mut conn = pool.acquire().await.doing("reading whether a demo is loaded")?;
    store::admin::setting(&mut conn, LOADED_KEY)
        .await?
        .map(|v| {
            serde_json::from_value(v).map_err(|e| DemoError::Json {
                doing: "reading the demo record in settings",
                message: e.to_string(),
            })
        })
        .transpose()
}

/// The router as a client, acting as the demo users.
pub(super) struct Driver {
    router: Router,
    pub(super) clock: Clock,
    tokens: BTreeMap<String, String>,
    /// The approval kinds some case was left waiting for.
    left_waiting: Mutex<BTreeSet<String>>,
}

/// One answer, read whole.
struct Reply {
    status: u16,
    etag: String,
    json: Value,
    text: String,
}

impl Driver {
    /// Notes that a case was left waiting for the approval `kinds`.
    fn note_waiting(&self, kinds: impl IntoIterator<Item = String>) {
        self.left_waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(kinds);
    }

    /// Whether some case was left waiting for the approval `kind`.
    pub(super) fn left_waiting(&self, kind: &str) -> bool {
        self.left_waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(kind)
    }

    /// Sends a JSON body (or none) as `who`, and insists on `expected`.
    async fn call(
        &self,
        expected: u16,
        method: &str,
        path: &str,
        who: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Reply, DemoError> {
        let bytes = body.map(|b| ("application/json", b.to_string().into_bytes()));
        let reply = self.send(method, path, who, bytes, if_match).await?;
        if reply.status == expected {
            Ok(reply)
        } else {
            Err(DemoError::Refused {
                doing: format!("{method} {path} as {who}"),
                status: reply.status,
                body: reply.text,
            })
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        who: &str,
        body: Option<(&str, Vec<u8>)>,
        if_match: Option<&str>,
    ) -> Result<Reply, DemoError> {
        let failed = |message: String| DemoError::Refused {
            doing: format!("{method} {path} as {who}"),
            status: 0,
            body: message,
        };
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = self.tokens.get(who) {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        let body = match body {
            Some((content_type, bytes)) => {
                request = request.header("content-type", content_type);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let request = request.body(body).map_err(|e| failed(e.to_string()))?;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .map_err(|e| failed(e.to_string()))?;
        Ok(Reply {
            status,
            etag,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

/// The steps a plan takes after the case is opened and its parcels uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Submit,
    Accept,
    Check,
    Confirm,
    Opinion,
    ToConversion,
    Approval,
    QuotaAndOffset,
    ToSupply,
    SupplyDecision,
    ToRegistration,
    Certificate,
    ToCompleted,
    Correction,
    Reject,
    Withdraw,
}

fn steps(plan: Plan) -> &'static [Step] {
    use Step::{
        Accept, Approval, Certificate, Check, Confirm, Correction, Opinion, QuotaAndOffset, Reject, Submit,
        SupplyDecision, ToCompleted, ToConversion, ToRegistration, ToSupply, Withdraw,
    };
    const MAIN: [Step; 13] = [
        Submit,
        Accept,
        Check,
        Confirm,
        Opinion,
        ToConversion,
        Approval,
        QuotaAndOffset,
        ToSupply,
        SupplyDecision,
        ToRegistration,
        Certificate,
        ToCompleted,
    ];
    match plan {
        Plan::Draft => &[],
        Plan::Accepted => &MAIN[..1],
        Plan::PreReview | Plan::Prohibited => &MAIN[..3],
        Plan::Conversion => &MAIN[..6],
        Plan::Supply => &MAIN[..9],
        Plan::Registration => &MAIN[..11],
        Plan::Completed => &MAIN,
        Plan::Correction => &[Submit, Accept, Check, Correction],
        Plan::Rejected => &[Submit, Accept, Check, Confirm, Reject],
        Plan::Withdrawn => &[Submit, Withdraw],
    }
}

/// One worker's share of the cases: each case, its project id, county and parcels.
type Share<'a> = Vec<(&'a PlannedCase, String, String, Vec<Value>)>;

/// Who takes a transition step: the case's county officer or the bureau's reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Officer,
    Reviewer,
}

/// The transition a step posts: who, the action, and the reason given. Every step not named
/// here that reaches this function advances the case as the reviewer.
fn transition_of(step: Step) -> (Actor, &'static str, Option<&'static str>) {
    match step {
        Step::Submit => (Actor::Officer, "submit", None),
        Step::Withdraw => (Actor::Officer, "withdraw", Some("项目选址调整，申请撤回")),
        Step::Correction => (
            Actor::Reviewer,
            "request_correction",
            Some("缺少勘测定界报告，请补正后再报"),
        ),
        Step::Reject => (
            Actor::Reviewer,
            "reject",
            Some("拟用地块占用永久基本农田，不予通过"),
        ),
        _ => (Actor::Reviewer, "advance", None),
    }
}

/// The facts a step records: the pre-review opinion, the conversion approval, the supply
/// decision or the certificate, numbered after the case.
fn facts_of(step: Step, year: i32, number: &str) -> Value {
    match step {
        Step::Opinion => json!({ "pre_review_opinion": format!("安自然资预〔{year}〕{number}号") }),
        Step::Approval => json!({ "conversion_approval": format!("陕政土批〔{year}〕{number}号") }),
        Step::SupplyDecision => json!({ "supply_decision": {
            "method": "allocation", "industrial": false, "standard_land_indicators_present": false
        } }),
        _ => json!({ "certificate_number": format!("陕（{year}）安康市不动产权第{number}号") }),
    }
}

/// The document an approval of `kind` cites in the demo, numbered after the case: its number,
/// authority, conclusion, and who records it.
fn approval_document(
    kind: &str,
    year: i32,
    number: &str,
) -> (String, &'static str, &'static str, &'static str) {
    match kind {
        "state_council_approval" => (
            format!("国函〔{year}〕{number}号"),
            "国务院",
            "同意占用永久基本农田",
            "reviewer",
        ),
        "authority_opinion" => (
            format!("陕林护函〔{year}〕{number}号"),
            "陕西省林业局",
            "同意在生态保护红线内开展该活动",
            "reviewer",
        ),
        "review_opinion" => (
            format!("陕秦岭办审〔{year}〕{number}号"),
            "陕西省秦岭生态环境保护委员会办公室",
            "论证通过",
            "reviewer",
        ),
        "outside_boundary_use" => (
            format!("陕自然资函〔{year}〕{number}号"),
            "陕西省自然资源厅",
            "同意城镇开发边界外选址",
            "reviewer",
        ),
        _ => (
            format!("安地灾评〔{year}〕{number}号"),
            "陕西省地质调查院",
            "地质灾害危险性小，适宜建设",
            "planner",
        ),
    }
}

/// One case as the demo drives it: its id, officer, check and last answer (whose ETag the next
/// step sends).
struct CaseRun<'a> {
    driver: &'a Driver,
    id: String,
    officer: String,
    year: i32,
    number: String,
    check: Value,
    last: Reply,
    /// Whether the case may be left waiting for the approvals its check calls for: only cases
    /// planned to end in conversion, so every later stage keeps its cases.
    may_wait: bool,
    /// The approval kind it is left waiting for, all others recorded.
    waits_for: Option<String>,
}

impl CaseRun<'_> {
    fn path(&self, tail: &str) -> String {
        format!("/api/v1/cases/{}{tail}", self.id)
    }

    /// Takes one step; `false` when the case's check, or an approval it waits for, stops it
    /// short of its plan.
    async fn step(&mut self, step: Step, goes_on: bool) -> Result<bool, DemoError> {
        let etag = Some(self.last.etag.clone());
        let reply = match step {
            Step::Check => {
                let run = self
                    .driver
                    .call(201, "POST", &self.path("/checks"), "planner", None, None)
                    .await?;
                // A check bumps the case's version: its ETag is the case's next one.
                self.check = run.json.clone();
                if goes_on && self.check["result"] == "prohibited" {
                    // The rules stop it here, as they would a real one: it waits in
                    // pre-review with the check that found what is in its way.
                    return Ok(false);
                }
                run
            }
            Step::Confirm => {
                let check_id = self.check["id"].as_str().unwrap_or_default();
                let path = self.path(&format!("/checks/{check_id}/confirm"));
                self.driver
                    .call(200, "POST", &path, "planner", None, etag.as_deref())
                    .await?
            }
            Step::QuotaAndOffset => {
                self.quota_and_offset().await?;
                return Ok(true);
            }
            Step::Opinion | Step::Approval | Step::SupplyDecision | Step::Certificate => {
                let facts = facts_of(step, self.year, &self.number);
                self.driver
                    .call(
                        200,
                        "POST",
                        &self.path("/facts"),
                        "reviewer",
                        Some(&facts),
                        etag.as_deref(),
                    )
                    .await?
            }
            _ => {
                let leaving = match step {
                    Step::ToConversion => Some("pre_review"),
                    Step::ToSupply => Some("conversion"),
                    _ => None,
                };
                if let Some(from) = leaving {
                    if !self.approvals_before(from).await? {
                        return Ok(false);
                    }
                }
                if step == Step::ToSupply && !self.overlay_answered().await? {
                    return Ok(false);
                }
                let etag = Some(self.last.etag.clone());
                let (actor, action, reason) = transition_of(step);
                let who = match actor {
                    Actor::Officer => self.officer.as_str(),
                    Actor::Reviewer => "reviewer",
                };
                let body = json!({ "action": action, "reason": reason });
                self.driver
                    .call(
                        200,
                        "POST",
                        &self.path("/transitions"),
                        who,
                        Some(&body),
                        etag.as_deref(),
                    )
                    .await?
            }
        };
        self.last = reply;
        Ok(true)
    }

    /// Records the approvals the case's confirmed check calls for before it leaves `from`, one
    /// record of each kind answering all its hits, as the reviewer (the planner for a geohazard
    /// assessment) does once the documents arrive; `false`, recording nothing, for about half
    /// the cases planned to end in conversion, which the demo leaves waiting for them, and
    /// `false` with every other kind recorded for a case planned to wait for one kind.
    async fn approvals_before(&mut self, from: &str) -> Result<bool, DemoError> {
        let mut by_kind: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for missing in self.last.json["approvals"]["missing"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if missing["before_from"] == from {
                let kind = missing["kind"].as_str().unwrap_or_default().to_owned();
                by_kind.entry(kind).or_default().push(missing["hit_id"].clone());
            }
        }
        if by_kind.is_empty() {
            return Ok(true);
        }
        if self.waits_for.is_none() && self.waits() {
            self.driver.note_waiting(by_kind.into_keys());
            return Ok(false);
        }
        let waits = self
            .waits_for
            .as_ref()
            .and_then(|kind| by_kind.remove_entry(kind));
        if let Some((kind, _)) = &waits {
            self.driver.note_waiting([kind.clone()]);
        }
        let today = bureau_date(self.driver.clock.now());
        for (kind, hits) in by_kind {
            let (document, authority, conclusion, who) = approval_document(&kind, self.year, &self.number);
            let body = json!({
                "kind": kind,
                "document_number": document,
                "authority": authority,
                "decided_on": today,
                "conclusion": conclusion,
                "hits": hits,
            });
            let etag = self.last.etag.clone();
            self.last = self
                .driver
                .call(
                    201,
                    "POST",
                    &self.path("/approvals"),
                    who,
                    Some(&body),
                    Some(&etag),
                )
                .await?;
        }
        Ok(waits.is_none())
    }

    /// Whether the case leaves the cases that wait (see [`Self::approvals_before`]) unanswered.
    fn waits(&self) -> bool {
        self.may_wait && self.number.bytes().map(u64::from).sum::<u64>() % 2 == 0
    }

    /// Before `conversion → supply`: when the case's check hit a mineral deposit, the mineral
    /// authority's answer `no_overlay` to its overlay query, recorded on the day (a new query
    /// first when the last one was answered and has lapsed); `false`, recording nothing, for the
    /// cases the demo leaves waiting, whose query then runs late.
    async fn overlay_answered(&mut self) -> Result<bool, DemoError> {
        let overlay = &self.last.json["overlay"];
        if overlay["missing"].is_null() {
            return Ok(true);
        }
        if self.waits() {
            return Ok(false);
        }
        let last = overlay["queries"].as_array().and_then(|q| q.last());
        let open = last
            .filter(|q| q["answer"].is_null())
            .and_then(|q| q["id"].as_str());
        let query = if let Some(id) = open {
            id.to_owned()
        } else {
            let etag = self.last.etag.clone();
            self.last = self
                .driver
                .call(
                    201,
                    "POST",
                    &self.path("/overlay-queries"),
                    "reviewer",
                    None,
                    Some(&etag),
                )
                .await?;
            let queries = self.last.json["overlay"]["queries"].as_array();
            let id = queries.and_then(|q| q.last()).and_then(|q| q["id"].as_str());
            id.unwrap_or_default().to_owned()
        };
        let body = json!({
            "document_number": format!("陕自然资矿查〔{}〕{}号", self.year, self.number),
            "answered_on": bureau_date(self.driver.clock.now()),
            "conclusion": "no_overlay",
        });
        let etag = self.last.etag.clone();
        let path = self.path(&format!("/overlay-queries/{query}/answer"));
        self.last = self
            .driver
            .call(201, "POST", &path, "reviewer", Some(&body), Some(&etag))
            .await?;
        Ok(true)
    }

    /// Allocates the quota the confirmed check says the case needs (its area less the existing
    /// construction land under it, so the request states no amount) and, when the check found
    /// cultivated land, locks the offset its grain capacity needs.
    async fn quota_and_offset(&self) -> Result<(), DemoError> {
        let allocation = json!({ "case_id": self.id, "year": self.year });
        self.driver
            .call(
                201,
                "POST",
                "/api/v1/quotas/allocations",
                "reviewer",
                Some(&allocation),
                None,
            )
            .await?;
        if self.check["summary"]["cultivated_land_found"].as_bool() != Some(true) {
            return Ok(());
        }
        let cultivated_m2 = self.check["report"]["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["kind"] == "cultivated_land")
            .and_then(|l| l["counted"]["m2"].as_f64())
            .unwrap_or(0.0);
        // About 300 kg of grain a year per mu, from the land-quality grading.
        let capacity_kg = (cultivated_m2 * GRAIN_KG_PER_M2).round();
        self.driver
            .call(
                201,
                "POST",
                &self.path("/offset/lock"),
                "reviewer",
                Some(&json!({ "capacity_kg": capacity_kg })),
                None,
            )
            .await?;
        Ok(())
    }
}

/// What the case declares for the verdict rules.
fn declarations(case: &PlannedCase) -> Value {
    let mut declared = json!({});
    if case.allowed_activity.is_some() {
        declared["allowed_activity"] = json!(true);
    }
    if let Some(used) = &case.outside_boundary_use {
        declared["outside_boundary_use"] = json!(used);
    }
    declared
}

/// Opens the case as its county's officer and uploads its parcels; the answer to the upload.
async fn open_case(
    driver: &Driver,
    case: &PlannedCase,
    project_id: &str,
    officer: &str,
    parcels: Vec<Value>,
) -> Result<(String, Reply), DemoError> {
    let mut body = json!({
        "project_id": project_id,
        "title": case.title,
        "declarations": declarations(case),
    });
    if let Some(phase) = &case.phase {
        body["phase"] = json!({ "kind": phase.kind, "number": phase.number, "name": phase.name });
    }
    let created = driver
        .call(201, "POST", "/api/v1/cases", officer, Some(&body), None)
        .await?;
    let id = created.json["id"].as_str().unwrap_or_default().to_owned();
    let collection = json!({ "type": "FeatureCollection", "features": parcels });
    let uploaded = driver
        .send(
            "PUT",
            &format!("/api/v1/cases/{id}/parcels"),
            officer,
            Some(("application/geo+json", collection.to_string().into_bytes())),
            Some(&created.etag),
        )
        .await?;
    if uploaded.status != 200 {
        return Err(DemoError::Refused {
            doing: format!("uploading the parcels of {}", case.key),
            status: uploaded.status,
            body: uploaded.text,
        });
    }
    Ok((id, uploaded))
}

/// Drives one case from its opening to where its plan ends; its id, and `false` when its check
/// stopped it short of the plan.
pub(super) async fn drive_case(
    driver: &Driver,
    case: &PlannedCase,
    project_id: &str,
    county: &str,
    year: i32,
    parcels: Vec<Value>,
    load_time: DateTime<Utc>,
) -> Result<(String, bool), DemoError> {
    let officer = format!("officer:{county}");
    let plan_steps = steps(case.plan);
    let opened = load_time - TimeDelta::days(i64::from(case.age_days));
    driver.clock.set(opened);
    // An approval of past years holds that year's quota and carries its numbers.
    let year = if case.historic() {
        bureau_date(opened).year()
    } else {
        year
    };
    // A case left to sit, or approved years ago, takes its steps within its first days; the
    // others spread them over their age, so the last one is recent.
    let span_minutes = if case.overdue || case.historic() {
        3 * 24 * 60
    } else {
        i64::from(case.age_days) * 24 * 60
    };
    let gap = TimeDelta::minutes(span_minutes / (plan_steps.len() as i64 + 2));
    let (id, mut last) = open_case(driver, case, project_id, &officer, parcels).await?;
    if case.green_grant {
        driver.clock.advance(gap);
        let grant = json!({ "action": "grant", "reason": "市级重点民生工程，领导小组同意走绿色通道" });
        let path = format!("/api/v1/cases/{id}/green-channel");
        last = driver
            .call(200, "POST", &path, "leader", Some(&grant), Some(&last.etag))
            .await?;
    }
    let mut run = CaseRun {
        driver,
        id,
        officer,
        year,
        number: case.key.trim_start_matches('P').replace('-', ""),
        check: Value::Null,
        last,
        may_wait: case.plan == Plan::Conversion,
        waits_for: case.waits_for.clone(),
    };
    let goes_on = plan_steps.contains(&Step::ToConversion);
    for step in plan_steps {
        driver.clock.advance(gap);
        if !run.step(*step, goes_on).await? {
            return Ok((run.id, false));
        }
    }
    Ok((run.id, true))
}

/// One supply part the demo records, with what follows it; days are counted back from the
/// load's date, so each part stands where it is meant to on the day the demo is loaded (and
/// moves on with time, as real land does).
#[derive(Debug, Clone)]
struct DemoSupply {
    /// Which parcels of the case (by position) the part covers.
    parcels: std::ops::Range<usize>,
    /// The decision, agreed handover and agreed start, days before the load.
    decided: i64,
    agreed_handover: i64,
    agreed_start: i64,
    /// The handover, days before the load (none: not yet handed over).
    handed_over: Option<i64>,
    /// Whether the certificate is issued the day of the handover (交地即交证).
    certificate: bool,
    /// The start, days before the load.
    started: Option<i64>,
    /// The completion, days before the load, with the indicators achieved when industrial.
    completed: Option<i64>,
    /// Industrial land, and whether supplied as standard land (with agreed indicators).
    industrial: Option<Standard>,
}

/// Whether industrial land was supplied as standard land.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standard {
    /// With its indicators agreed.
    Yes,
    /// Without.
    No,
}

impl DemoSupply {
    /// A part of land for other uses.
    fn part(
        parcels: std::ops::Range<usize>,
        decided: i64,
        agreed_start: i64,
        handed_over: Option<i64>,
        certificate: bool,
        started: Option<i64>,
    ) -> Self {
        Self {
            parcels,
            decided,
            agreed_handover: agreed_start + 20,
            agreed_start,
            handed_over,
            certificate,
            started,
            completed: None,
            industrial: None,
        }
    }

    /// An industrial part decided `decided` days back, handed over with its certificate that
    /// day, to start a month later (and started then when that day has come).
    fn industrial(decided: i64, standard: Standard) -> Self {
        let start = decided - 30;
        Self {
            parcels: 0..usize::MAX,
            decided,
            agreed_handover: decided,
            agreed_start: start,
            handed_over: Some(decided),
            certificate: true,
            started: (start >= 0).then_some(start),
            completed: None,
            industrial: Some(standard),
        }
    }
}

/// Which approved case a [`DemoSupply`] goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wants {
    /// A case with more than one parcel (the part covers some of them).
    SeveralParcels,
    /// Any case outside the development zones.
    Any,
    /// A case inside a development zone.
    InZone,
}

/// The parts the demo records, each for the youngest approved case old enough for it (its
/// approval on or before the decision) that [`Wants`] allows, in this order:
/// - an approval partly supplied (its first parcel) whose land lies idle, its agreed start 400
///   days back;
/// - an approval whose first parcel was to start 800 days back (reclaimable) and whose other
///   parcels started on time;
/// - land handed over 120 days late (a government-caused delay, marked and not idle);
/// - land due to start within the month's warning (due soon);
/// - land supplied in the approval's first year, over five years back, built and accepted;
/// - this year's industrial land: standard land inside a development zone, and elsewhere one
///   part as standard land and one not, so the standard-land report has both goals' lines.
///
/// `into_year` is how many days of the load's year have passed before the load's day.
fn demo_supplies(into_year: i64) -> Vec<(Wants, Vec<DemoSupply>)> {
    let part = DemoSupply::part;
    let built = DemoSupply {
        completed: Some(1_200),
        industrial: Some(Standard::Yes),
        ..part(0..usize::MAX, 1_900, 1_800, Some(1_820), true, Some(1_790))
    };
    vec![
        (
            Wants::SeveralParcels,
            vec![part(0..1, 430, 400, Some(420), true, None)],
        ),
        (
            Wants::SeveralParcels,
            vec![
                part(0..1, 830, 800, Some(820), false, None),
                part(1..usize::MAX, 200, 170, Some(190), true, Some(175)),
            ],
        ),
        (
            Wants::Any,
            vec![part(0..usize::MAX, 430, 400, Some(300), true, None)],
        ),
        (
            Wants::Any,
            vec![part(0..usize::MAX, 370, 350, Some(370), true, None)],
        ),
        (Wants::Any, vec![built]),
        (
            Wants::InZone,
            vec![DemoSupply::industrial(into_year / 2, Standard::Yes)],
        ),
        (
            Wants::Any,
            vec![DemoSupply::industrial(into_year / 3, Standard::Yes)],
        ),
        (
            Wants::Any,
            vec![DemoSupply::industrial(into_year / 4, Standard::No)],
        ),
    ]
}

/// The standard-land indicators the demo agrees, and those it finds achieved (all met but the
/// tax per mu, a little short).
fn demo_indicators(achieved: bool) -> Value {
    json!({
        "investment_intensity": { "value": 320.0, "unit": "万元/亩" },
        "floor_area_ratio": { "value": 1.2, "unit": "1" },
        "tax_per_mu": { "value": if achieved { 18.5 } else { 20.0 }, "unit": "万元/亩·年" },
        "energy_per_output": { "value": 0.045, "unit": "tce/万元" },
        "land_use_standard_met": true
    })
}

/// Records supply parts for approved cases through the supply endpoints, as the reviewer would
/// (see [`demo_supplies`]); how many parts.
async fn record_supplies(
    driver: &Driver,
    pool: &PgPool,
    approved: Vec<ApprovedCase>,
    today: chrono::NaiveDate,
) -> Result<usize, DemoError> {
    let mut conn = pool.acquire().await.doing("connecting")?;
    // Each approved case with its approval's date, youngest first.
    let mut candidates = Vec::new();
    for case in approved {
        let id = uuid::Uuid::parse_str(&case.id).map_err(|e| DemoError::Json {
            doing: "reading a case id",
            message: e.to_string(),
        })?;
        if let Some(batch) = store::supply::batch_of(&mut conn, id).await? {
            candidates.push((batch.approved_on, case));
        }
    }
    drop(conn);
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.key.cmp(&b.1.key)));
    let day = |back: i64| today - TimeDelta::days(back);
    let into_year = i64::from(today.ordinal0());
    let mut recorded = 0;
    for (nth, (wants, parts)) in demo_supplies(into_year).into_iter().enumerate() {
        let first_decided = parts.iter().map(|p| p.decided).max().unwrap_or(0);
        let fits = |(approved_on, case): &(chrono::NaiveDate, ApprovedCase)| {
            *approved_on <= day(first_decided)
                && match wants {
                    Wants::SeveralParcels => case.parcels.len() > 1 && !case.in_zone,
                    Wants::Any => !case.in_zone,
                    Wants::InZone => case.in_zone,
                }
        };
        let Some(at) = candidates.iter().position(fits) else {
            tracing::warn!(nth, ?wants, "no approved case fits a demo supply");
            continue;
        };
        let (_, case) = candidates.remove(at);
        for (seq, supply) in (1..).zip(parts) {
            record_supply(driver, &case, nth, seq, &supply, today).await?;
            recorded += 1;
        }
    }
    Ok(recorded)
}

/// Records one [`DemoSupply`] of `case` and what followed it.
async fn record_supply(
    driver: &Driver,
    case: &ApprovedCase,
    nth: usize,
    seq: u32,
    supply: &DemoSupply,
    today: chrono::NaiveDate,
) -> Result<(), DemoError> {
    let day = |back: i64| today - TimeDelta::days(back);
    let end = supply.parcels.end.min(case.parcels.len());
    let polygons: Vec<Value> = case.parcels[supply.parcels.start..end]
        .iter()
        .map(|f| match f["geometry"]["type"].as_str() {
            Some("MultiPolygon") => f["geometry"]["coordinates"].clone(),
            _ => Value::Array(vec![f["geometry"]["coordinates"].clone()]),
        })
        .flat_map(|c| c.as_array().cloned().unwrap_or_default())
        .collect();
    let year = day(supply.decided).format("%Y");
    let mut body = json!({
        "method": if supply.industrial.is_some() { "transfer_auction" } else { "transfer_listing" },
        "document_number": format!("安自然资出让〔{year}〕{}{seq}号", nth + 1),
        "decided_on": day(supply.decided),
        "price_wan_yuan": 600.0 * f64::from(seq),
        "industrial": supply.industrial.is_some(),
        "agreed_handover_on": day(supply.agreed_handover),
        "agreed_start_on": day(supply.agreed_start),
        "agreed_completion_on": day(supply.agreed_start - 720),
        "geometry": { "type": "MultiPolygon", "coordinates": polygons },
    });
    if supply.industrial == Some(Standard::Yes) {
        body["agreed_investment_wan_yuan"] = json!(12_000.0);
        body["agreed_indicators"] = demo_indicators(false);
    }
    let recorded_part = driver
        .call(
            201,
            "POST",
            &format!("/api/v1/cases/{}/supply-parts", case.id),
            "reviewer",
            Some(&body),
            None,
        )
        .await?;
    let part = recorded_part.json["id"].as_str().unwrap_or_default().to_owned();
    let mut follow_ups = Vec::new();
    if let Some(handed_over) = supply.handed_over {
        follow_ups.push(("handover", json!({ "handed_over_on": day(handed_over) })));
        if supply.certificate {
            let number = format!("陕（{year}）安康市不动产权第9{}{seq:02}号", nth + 1);
            follow_ups.push((
                "certificate",
                json!({ "number": number, "issued_on": day(handed_over) }),
            ));
        }
        if let Some(started) = supply.started {
            follow_ups.push(("start", json!({ "started_on": day(started) })));
            if let Some(completed) = supply.completed {
                let mut completion = json!({ "completed_on": day(completed) });
                if supply.industrial == Some(Standard::Yes) {
                    completion["achieved_indicators"] = demo_indicators(true);
                }
                follow_ups.push(("completion", completion));
            }
        }
    }
    let mut etag = recorded_part.etag;
    for (tail, body) in follow_ups {
        let path = format!("/api/v1/supply-parts/{part}/{tail}");
        etag = driver
            .call(200, "POST", &path, "reviewer", Some(&body), Some(&etag))
            .await?
            .etag;
    }
    Ok(())
}

/// A case the demo drove to an approval, as [`record_supplies`] needs it.
struct ApprovedCase {
    /// The file's key, for a stable order.
    key: String,
    /// The case's id.
    id: String,
    /// Its parcels as uploaded (GeoJSON features).
    parcels: Vec<Value>,
    /// Whether they lie inside a development zone.
    in_zone: bool,
}

/// Drives every worker's share of the cases side by side; how many stopped short of their plan,
/// and the cases planned to reach supply or later that did, in the file's order (so the same
/// seed supplies the same cases).
async fn drive_all(
    drivers: &[Driver],
    work: Vec<Share<'_>>,
    year: i32,
    load_time: DateTime<Utc>,
) -> Result<(usize, Vec<ApprovedCase>), DemoError> {
    let results =
        futures_util::future::try_join_all(drivers.iter().zip(work).map(|(driver, cases)| async move {
            let mut stopped = 0;
            let mut approved = Vec::new();
            for (case, project_id, county, parcels) in cases {
                let kept = matches!(case.plan, Plan::Supply | Plan::Registration | Plan::Completed)
                    .then(|| (case.key.clone(), parcels.clone(), case.in_development_zone));
                let (id, as_planned) =
                    drive_case(driver, case, &project_id, &county, year, parcels, load_time).await?;
                stopped += usize::from(!as_planned);
                if let (true, Some((key, parcels, in_zone))) = (as_planned, kept) {
                    approved.push(ApprovedCase {
                        key,
                        id,
                        parcels,
                        in_zone,
                    });
                }
            }
            Ok::<_, DemoError>((stopped, approved))
        }))
        .await?;
    let mut stopped = 0;
    let mut approved = Vec::new();
    for (n, cases) in results {
        stopped += n;
        approved.extend(cases);
    }
    approved.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((stopped, approved))
}

fn read_json<T: serde::de::DeserializeOwned>(dir: &Path, name: &'static str) -> Result<T, DemoError> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(|e| DemoError::io("reading", &path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| DemoError::Json {
        doing: name,
        message: e.to_string(),
    })
}

/// Claims the `demo` settings row for this load, or says what holds it.
async fn claim(pool: &PgPool, seed: u64, now: DateTime<Utc>) -> Result<(), DemoError> {
    let record = Loaded {
        state: LoadState::Loading,
        seed,
        started_at: now,
        counts: None,
    };
    let value = serde_json::to_value(&record).map_err(|e| DemoError::Json {
        doing: "writing the demo record",
        message: e.to_string(),
    })?;
    let mut conn = pool.acquire().await.doing("recording the demo load")?;
    if store::admin::insert_setting(&mut conn, LOADED_KEY, &value).await? {
        return Ok(());
    }
    match loaded(pool).await? {
        Some(held) => Err(DemoError::AlreadyLoaded(Box::new(held))),
        None => Err(DemoError::Json {
            doing: "recording the demo load",
            message: "the demo record vanished while being claimed".to_owned(),
        }),
    }
}

/// Counts what the database holds after a load.
///
/// # Errors
/// Database failures.
pub async fn counts(pool: &PgPool, now: DateTime<Utc>) -> Result<Counts, DemoError> {
    let mut conn = pool.acquire().await.doing("counting the demo")?;
    let by_code = |rows: Vec<store::demo::CountBy>| rows.into_iter().map(|r| (r.code, r.count)).collect();
    let layers = by_code(store::demo::features_by_kind(&mut conn).await?);
    let stages = by_code(store::demo::cases_by_stage(&mut conn).await?);
    let totals = store::demo::totals(&mut conn, now).await?;
    Ok(Counts {
        layers,
        projects: totals.projects,
        cases: totals.cases,
        parcels: totals.parcels,
        stages,
        green: totals.green,
        overdue: totals.overdue,
        ledger_overdue: totals.ledger_overdue,
        checks: totals.checks,
        events: totals.events,
    })
}

/// Issues the loader its own tokens, one per demo user, that expire within a day (and are
/// revoked when the load ends), so the tokens file is never needed to load.
async fn loader_tokens(pool: &PgPool) -> Result<BTreeMap<String, String>, DemoError> {
    let users = tokens::ensure_users(pool).await?;
    let mut conn = pool.acquire().await.doing("connecting")?;
    let mut out = BTreeMap::new();
    for user in users {
        let token = admin::issue_token(&mut conn, &user.name, LOADER_LABEL, Some(1)).await?;
        out.insert(user.key, token);
    }
    Ok(out)
}

/// Imports every layer file for the whole city (610900), through the layer import.
async fn import_layers(pool: &PgPool, dir: &Path) -> Result<(), DemoError> {
    let city = CountyCode::parse("610900").map_err(|e| DemoError::Json {
        doing: "naming the city",
        message: e.to_string(),
    })?;
    // Two at a time: the farmland and cultivated-land files, much the largest, come first and
    // go side by side, one core each (each import is one transaction of its own).
    futures_util::stream::iter(LAYER_FILES)
        .map(|kind| async move {
            let layer = LayerKind::parse(kind).map_err(|e| DemoError::Import {
                kind,
                message: e.to_string(),
            })?;
            let path = dir.join("layers").join(format!("{kind}.geojson"));
            layer_store::import_geojson_file(pool, layer, city, &path, &ImportOptions::default())
                .await
                .map_err(|e| DemoError::Import {
                    kind,
                    message: e.to_string(),
                })
        })
        .buffer_unordered(2)
        .try_collect::<Vec<_>>()
        .await?;
    // The planner needs fresh statistics to use the spatial indexes on the new layers.
    let mut conn = pool.acquire().await.doing("analysing the layers")?;
    store::demo::analyze_layers(&mut conn).await?;

    Ok(())
}

/// Gives each county its yearly construction quota for each of `years` and two offset
/// indicators; the offsets' numbers are of the year before the last of `years`.
async fn open_ledgers(driver: &Driver, years: std::ops::RangeInclusive<i32>) -> Result<(), DemoError> {
    let year = *years.end();
    for county in &COUNTIES {
        for year in years.clone() {
            driver
                .call(
                    200,
                    "PUT",
                    &format!("/api/v1/quotas/{year}/{}", county.code),
                    "admin",
                    Some(&json!({ "granted_mu": COUNTY_QUOTA_MU, "reason": format!("{year}年度新增建设用地计划指标") })),
                    None,
                )
                .await?;
        }
        for (n, (area, paddy)) in [(400_000.0, 150_000.0), (250_000.0, 60_000.0)]
            .into_iter()
            .enumerate()
        {
            driver
                .call(
                    201,
                    "POST",
                    "/api/v1/offsets",
                    "reviewer",
                    Some(&json!({
                        "county_code": county.code,
                        "source_project": format!("{}土地综合整治项目（第{}批）", county.name, n + 1),
                        "source_ref": format!("安自然资整备〔{}〕{}{}号", year - 1, &county.code[4..], n + 1),
                        "area_m2": area,
                        "paddy_m2": paddy,
                        "capacity_kg": area * 0.6,
                    })),
                    None,
                )
                .await?;
        }
    }

    Ok(())
}

/// Registers the projects as their counties' officers, each key project proposed for the
/// list, and has the leader designate the key projects (level, sector, list document,
/// responsible leader, reason), as the bureau's rules have it; their ids and counties by key.
///
/// A project with a case approved years ago is registered before it, one at a time with the
/// clock set back; the others side by side, 120 days before the load.
async fn make_projects(
    driver: &Driver,
    plan: &DemoPlan,
    load_time: DateTime<Utc>,
) -> Result<HashMap<String, (String, String)>, DemoError> {
    let oldest_case = |project: &PlannedProject| {
        plan.cases
            .iter()
            .filter(|c| c.project == project.key && c.historic())
            .map(|c| c.age_days)
            .max()
    };
    let mut made = HashMap::new();
    for (n, project) in plan.projects.iter().enumerate() {
        if let Some(age) = oldest_case(project) {
            driver.clock.set(load_time - TimeDelta::days(i64::from(age) + 10));
            let (key, made_as) = register_project(driver, n, project).await?;
            made.insert(key, made_as);
        }
    }
    driver.clock.set(load_time - TimeDelta::days(120));
    let recent = plan
        .projects
        .iter()
        .enumerate()
        .filter(|(_, p)| oldest_case(p).is_none());
    let registered: Vec<(String, (String, String))> = futures_util::stream::iter(recent)
        .map(|(n, project)| register_project(driver, n, project))
        .buffered(WORKERS)
        .try_collect()
        .await?;
    made.extend(registered);
    Ok(made)
}

/// Registers the `n`th project of the plan (and designates it when it is a key project); its
/// key, id and county.
pub(super) async fn register_project(
    driver: &Driver,
    n: usize,
    project: &PlannedProject,
) -> Result<(String, (String, String)), DemoError> {
    let mut body = json!({
        "name": project.name,
        "county_code": project.county_code,
        "category": project.category,
        "year": project.year,
        "planned_start": project.planned_start,
    });
    if project.on_key_list {
        body["proposal"] = json!({
            "level": project.level,
            "sector": project.sector,
            "new_start": project.new_start,
        });
    }
    let reply = driver
        .call(
            201,
            "POST",
            "/api/v1/projects",
            &format!("officer:{}", project.county_code),
            Some(&body),
            None,
        )
        .await?;
    let id = reply.json["id"].as_str().unwrap_or_default().to_owned();
    if project.on_key_list {
        let document = if project.level == "provincial" {
            format!("陕发改重点〔{}〕{}号", project.year, n + 1)
        } else {
            format!("安政发〔{}〕{}号", project.year, n + 1)
        };
        let designation = json!({
            "on_key_list": true,
            "level": project.level,
            "sector": project.sector,
            "new_start": project.new_start,
            "list_document": document,
            "responsible_leader": project.responsible_leader,
            "reason": format!("列入{}年{}重点项目名单", project.year, if project.level == "provincial" { "省级" } else { "市级" }),
        });
        driver
            .call(
                200,
                "PUT",
                &format!("/api/v1/projects/{id}/designation"),
                "leader",
                Some(&designation),
                Some(&reply.etag),
            )
            .await?;
    }
    Ok((project.key.clone(), (id, project.county_code.clone())))
}

/// Loads the demo in `dir` (as `generate` wrote it) into the database behind `pool`.
///
/// # Errors
/// [`DemoError::AlreadyLoaded`] when the database has a demo (nothing changes); unreadable
/// files, an import that failed, a request the service refused, database failures. A load
/// that fails half-way leaves its record as `loading`, and [`super::setup`] then refuses.
pub async fn load(pool: &PgPool, config: Arc<Config>, dir: &Path) -> Result<LoadReport, DemoError> {
    let began = Instant::now();
    let load_time = Utc::now();
    let plan: DemoPlan = read_json(dir, "projects.json")?;
    let parcels: Value = read_json(dir, "parcels.geojson")?;
    for kind in LAYER_FILES {
        let path = dir.join("layers").join(format!("{kind}.geojson"));
        if !path.is_file() {
            return Err(DemoError::io(
                "reading",
                &path,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
    }
    let mut conn = pool.acquire().await.doing("connecting")?;
    admin::seed(&mut conn).await?;
    drop(conn);
    claim(pool, plan.seed, load_time).await?;

    import_layers(pool, dir).await?;

    let mut parcels_by_case: HashMap<String, Vec<Value>> = HashMap::new();
    for feature in parcels["features"].as_array().into_iter().flatten() {
        let key = feature["properties"]["case"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        parcels_by_case.entry(key).or_default().push(feature.clone());
    }

    let tokens = loader_tokens(pool).await?;
    // Each worker has its own router and clock, so cases driven side by side each keep their
    // own time; the database does the work, so a few at once use both cores.
    let drivers: Vec<Driver> = (0..WORKERS)
        .map(|_| {
            let clock = Clock::starting_at(load_time - TimeDelta::days(120));
            let state = AppState::new(pool.clone(), config.clone(), clock.clone());
            Driver {
                router: crate::app::app(state),
                clock,
                tokens: tokens.clone(),
                left_waiting: Mutex::default(),
            }
        })
        .collect();
    let driver = &drivers[0];
    let year = plan.sizes.year;
    // The ledgers open before the oldest approval, with a quota for each year since.
    let oldest = plan.cases.iter().map(|c| c.age_days).max().unwrap_or(0);
    let opened = load_time - TimeDelta::days(i64::from(oldest) + 30);
    driver.clock.set(opened);
    let last = year.max(bureau_date(load_time).year());
    open_ledgers(driver, bureau_date(opened).year()..=last).await?;

    let project_ids = make_projects(driver, &plan, load_time).await?;
    let mut work: Vec<Share<'_>> = vec![Vec::new(); WORKERS];
    for (n, case) in plan.cases.iter().enumerate() {
        let Some((project_id, county)) = project_ids.get(&case.project) else {
            return Err(DemoError::Json {
                doing: "projects.json",
                message: format!("case {} names no listed project {}", case.key, case.project),
            });
        };
        let parcels = parcels_by_case.remove(&case.key).unwrap_or_default();
        work[n % WORKERS].push((case, project_id.clone(), county.clone(), parcels));
    }
    let (stopped, approved) = drive_all(&drivers, work, year, load_time).await?;
    driver.clock.set(load_time);
    let supplied = record_supplies(driver, pool, approved, bureau_date(load_time)).await?;
    tracing::info!(parts = supplied, "demo land supply recorded");
    let left: BTreeSet<String> = drivers
        .iter()
        .flat_map(|d| {
            d.left_waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        })
        .collect();
    let planned = plan.projects.len();
    let waiting = waiting::leave_one_of_each(driver, pool, &left, planned, year, load_time).await?;
    driver.clock.set(load_time);

    let mut conn = pool.acquire().await.doing("revoking the loader's tokens")?;
    store::auth::revoke_labelled(&mut conn, LOADER_LABEL).await?;
    drop(conn);
    let counts = counts(pool, Utc::now()).await?;
    let record = Loaded {
        state: LoadState::Loaded,
        seed: plan.seed,
        started_at: load_time,
        counts: Some(counts.clone()),
    };
    let record = serde_json::to_value(&record).map_err(|e| DemoError::Json {
        doing: "writing the demo record",
        message: e.to_string(),
    })?;
    let mut conn = pool.acquire().await.doing("recording the loaded demo")?;
    store::admin::update_setting(&mut conn, LOADED_KEY, &record).await?;
    Ok(LoadReport {
        counts,
        stopped_short: stopped + waiting,
        seconds: began.elapsed().as_secs_f64(),
    })
}
