//! The demo region: the generator is deterministic, a small demo loads on a fresh database with
//! cases in every stage (some green, some overdue, some in correction) whose history, ledger
//! and quota records agree, and `setup` run twice keeps the demo and the tokens file valid.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use landuse_api::demo::{
    self,
    generate::{generate, DemoPlan},
    load::{load, LoadState},
    tokens, DemoError, Setup, Sizes,
};
use sqlx::PgPool;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "landuse-demo-test-{}-{name}-{}",
        std::process::id(),
        uuid::Uuid::now_v7()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Every file under `dir`, relative path and bytes, sorted by path.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_same_seed_writes_the_same_bytes_and_another_seed_writes_others() {
    let (a, b, c) = (temp_dir("a"), temp_dir("b"), temp_dir("c"));
    let sizes = Sizes::small();
    generate(7, &sizes, &a).unwrap();
    generate(7, &sizes, &b).unwrap();
    generate(8, &sizes, &c).unwrap();
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert_eq!(fa.len(), 16, "14 layers, parcels and projects");
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fc));
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name}: the same seed writes byte-identical files");
    }
    let differing = fa.iter().zip(&fc).filter(|(x, y)| x.1 != y.1).count();
    assert!(
        differing >= 10,
        "another seed writes other files ({differing} of 15 differ)"
    );
    for dir in [a, b, c] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn the_default_region_has_tens_of_thousands_of_patches_with_holes_inside_the_bounds() {
    let dir = temp_dir("default");
    let report = generate(demo::DEFAULT_SEED, &Sizes::default(), &dir).unwrap();
    assert!(report.projects >= 200 && report.cases >= 200, "{report}");
    let layer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("layers/cultivated_land.geojson")).unwrap()).unwrap();
    let features = layer["features"].as_array().unwrap();
    assert_eq!(features.len(), 20_000);
    let with_holes = features
        .iter()
        .filter(|f| f["geometry"]["coordinates"].as_array().unwrap().len() > 1)
        .count();
    assert!(with_holes > 1000, "{with_holes} patches with holes");
    let classes: std::collections::BTreeSet<String> = features
        .iter()
        .map(|f| f["properties"]["DLBM"].as_str().unwrap().to_owned())
        .collect();
    for (name, bytes) in files(&dir) {
        if !std::path::Path::new(&name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("geojson"))
        {
            continue;
        }
        let collection: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for f in collection["features"].as_array().unwrap() {
            let mut points = Vec::new();
            collect_points(&f["geometry"]["coordinates"], &mut points);
            for (lon, lat) in points {
                assert!(
                    (108.0..=110.2).contains(&lon) && (31.7..=33.8).contains(&lat),
                    "{name}: ({lon}, {lat}) lies outside the region"
                );
            }
        }
    }
    assert!(
        ["0101", "0102", "0103"].iter().all(|c| classes.contains(*c)),
        "{classes:?}"
    );
    let plan: DemoPlan = serde_json::from_slice(&std::fs::read(dir.join("projects.json")).unwrap()).unwrap();
    let counties: std::collections::BTreeSet<_> =
        plan.projects.iter().map(|p| p.county_code.clone()).collect();
    assert_eq!(counties.len(), 10, "projects in every county");
    let _ = std::fs::remove_dir_all(dir);
}

/// Every position in a GeoJSON coordinates array, however deeply nested.
fn collect_points(value: &serde_json::Value, out: &mut Vec<(f64, f64)>) {
    let Some(items) = value.as_array() else { return };
    if let (Some(lon), Some(lat)) = (
        items.first().and_then(serde_json::Value::as_f64),
        items.get(1).and_then(serde_json::Value::as_f64),
    ) {
        out.push((lon, lat));
    } else {
        for item in items {
            collect_points(item, out);
        }
    }
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_small_demo_loads_cases_in_every_stage_through_the_workflow(pool: PgPool) {
    let dir = temp_dir("load");
    generate(3, &Sizes::small(), &dir).unwrap();
    let plan: DemoPlan = serde_json::from_slice(&std::fs::read(dir.join("projects.json")).unwrap()).unwrap();
    let config = Arc::new(common::test_config("postgres://unused/none"));
    let report = load(&pool, config.clone(), &dir).await.unwrap();
    let counts = &report.counts;

    // The generated projects and cases, and one project with one case for each approval kind
    // no generated case was left waiting for.
    let showcases = counts.projects - 30;
    assert!((0..=5).contains(&showcases), "{counts}");
    assert_eq!(counts.cases, i64::try_from(plan.cases.len()).unwrap() + showcases);
    for stage in [
        "draft",
        "accepted",
        "pre_review",
        "conversion",
        "supply",
        "registration",
        "completed",
        "correction",
        "rejected",
        "withdrawn",
    ] {
        assert!(
            counts.stages.get(stage).copied().unwrap_or(0) > 0,
            "a case in {stage}: {:?}",
            counts.stages
        );
    }
    assert!(counts.green > 0 && counts.green < counts.cases, "{counts}");
    assert!(counts.overdue > 0, "some cases are past their deadline: {counts}");
    assert!(
        counts.ledger_overdue > 0,
        "some ledger items are past three weeks: {counts}"
    );
    let granted = scalar(&pool, "select count(*) from cases where green_grant is not null").await;
    assert!(granted > 0, "a leader granted the green channel to some case");
    // The key-project list is the bureau's: every project on it was registered by its county's
    // officer and designated by the leader, with a list document and a reason.
    let planned_key = i64::try_from(plan.projects.iter().filter(|p| p.on_key_list).count()).unwrap();
    assert!(planned_key > 0);
    let designated = scalar(
        &pool,
        "select count(*) from projects p
          where p.on_key_list and p.list_document is not null
            and exists (select 1 from project_events e join users u on u.id = e.actor_id
                         where e.project_id = p.id and e.kind = 'designated' and u.role = 'leader'
                           and e.reason is not null)
            and exists (select 1 from project_events e join users u on u.id = e.actor_id
                         where e.project_id = p.id and e.kind = 'registered' and u.role = 'officer')",
    )
    .await;
    // The planned key projects, and the one the demo makes to wait for a State Council approval.
    let on_list = scalar(&pool, "select count(*) from projects where on_key_list").await;
    assert!(
        on_list == planned_key || on_list == planned_key + 1,
        "{on_list} on the list"
    );
    assert_eq!(designated, on_list, "each key project designated by the leader");
    assert_eq!(counts.layers.len(), 14, "every layer kind has a current version");
    // Village plots and roads under some parcels: those cases hold less quota than their area.
    let on_construction_land = scalar(
        &pool,
        "select count(*) from (select case_id, -sum(delta_mu) as mu from quota_movements
                                 where kind = 'allocate' group by case_id) a
           join (select case_id, sum(area_m2) as m2 from parcels group by case_id) p using (case_id)
          where a.mu < p.m2 * 15 / 10000 - 0.01",
    )
    .await;
    assert!(
        on_construction_land > 0,
        "some cases need less quota than their area"
    );

    // Each case has parcels, and every case that left draft has the events that moved it.
    let without_parcels = scalar(
        &pool,
        "select count(*) from cases c where not exists (select 1 from parcels p where p.case_id = c.id)",
    )
    .await;
    assert_eq!(without_parcels, 0);
    let unexplained = scalar(
        &pool,
        "select count(*) from cases c where c.stage <> 'draft'
            and not exists (select 1 from case_events e where e.case_id = c.id and e.to_stage = c.stage)",
    )
    .await;
    assert_eq!(unexplained, 0, "every stage a case is in was reached by an event");
    let backdated = scalar(
        &pool,
        "select count(*) from cases where created_at < now() - interval '30 days'",
    )
    .await;
    assert!(backdated > 0, "cases left to sit were opened weeks ago");
    // Past pre-review means a confirmed check; in supply or later means quota allocated.
    let unconfirmed = scalar(
        &pool,
        "select count(*) from cases c where c.stage in ('conversion', 'supply', 'registration', 'completed')
            and not exists (select 1 from checks k where k.case_id = c.id and k.confirmed_at is not null)",
    )
    .await;
    assert_eq!(unconfirmed, 0);
    let without_quota = scalar(
        &pool,
        "select count(*) from cases c where c.stage in ('supply', 'registration', 'completed')
            and not exists (select 1 from quota_movements m where m.case_id = c.id)",
    )
    .await;
    assert_eq!(without_quota, 0, "cases past conversion hold construction quota");
    // Linear works outside the towns take cultivated land and lock offsets for it.
    let linear = scalar(
        &pool,
        "select count(*) from cases where declarations ->> 'outside_boundary_use' = 'linear_infrastructure'",
    )
    .await;
    assert!(linear > 0, "some cases are linear works outside the towns");
    // Cases past pre-review whose check called for approvals have them recorded.
    let kinds: Vec<String> = sqlx::query_scalar("select distinct kind from case_approvals order by kind")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        !kinds.is_empty(),
        "the demo records the approvals its checks call for"
    );
    assert!(report.stopped_short > 0, "{report}");
    // Mineral overlay queries: one left unanswered past its due day, one answered and still
    // valid; every case past conversion whose check hit a deposit was answered favourably.
    let today = "(now() at time zone 'Asia/Shanghai')::date";
    let overdue = scalar(
        &pool,
        &format!(
            "select count(*) from case_overlay_queries q
              where q.due_on < {today}
                and not exists (select 1 from case_overlay_answers a where a.query_id = q.id)"
        ),
    )
    .await;
    assert!(overdue > 0, "an overlay query runs late: {report}");
    let valid = scalar(
        &pool,
        &format!(
            "select count(*) from case_overlay_answers
              where conclusion = 'no_overlay' and (answered_on + interval '6 months')::date >= {today}"
        ),
    )
    .await;
    assert!(valid > 0, "an overlay answer is valid today: {report}");
    let unanswered_past = scalar(
        &pool,
        "select count(*) from cases c where c.stage in ('supply', 'registration', 'completed')
            and exists (select 1 from case_overlay_queries q where q.case_id = c.id)
            and not exists (select 1 from case_overlay_queries q join case_overlay_answers a on a.query_id = q.id
                             where q.case_id = c.id and a.conclusion <> 'refused')",
    )
    .await;
    assert_eq!(
        unanswered_past, 0,
        "no case reached supply without an overlay answer"
    );
    let unlocked = scalar(
        &pool,
        "select count(*) from cases c where c.stage in ('supply', 'registration', 'completed')
            and exists (select 1 from checks k where k.case_id = c.id and k.confirmed_at is not null
                          and (k.summary ->> 'cultivated_land_found')::bool)
            and not exists (select 1 from offset_movements m where m.case_id = c.id and m.kind = 'lock')",
    )
    .await;
    assert_eq!(
        unlocked, 0,
        "every case past conversion that takes cultivated land locked offsets"
    );
    let locked = scalar(
        &pool,
        "select count(distinct case_id) from offset_movements where kind = 'lock'",
    )
    .await;
    assert!(locked > 0, "offsets were locked: {report}");
    let overlapping = scalar(
        &pool,
        "select count(*) from layer_features a
           join layer_versions v on v.id = a.version_id and v.kind = 'cultivated_land'
           join layer_features b on b.version_id = a.version_id and b.id > a.id and st_intersects(a.geom, b.geom)",
    )
    .await;
    assert_eq!(overlapping, 0, "survey patches do not overlap");
    // A key road applied for in segments, each its own case, at different stages; the parcels
    // of one project's live cases never overlap, and no project mixes a case of the whole with
    // its phases.
    let segmented_stages = scalar(
        &pool,
        "select coalesce(max(n), 0) from (select count(distinct c.stage) as n from cases c
           join projects p on p.id = c.project_id
          where p.on_key_list and p.sector = 'transport' and c.phase_kind = 'segment'
          group by c.project_id having count(*) >= 2) s",
    )
    .await;
    assert!(segmented_stages >= 2, "a road's segments are at different stages");
    let phase_overlaps = scalar(
        &pool,
        "select count(*) from parcels a join cases ca on ca.id = a.case_id
           join cases cb on cb.project_id = ca.project_id and cb.id > ca.id
           join parcels b on b.case_id = cb.id
          where ca.stage not in ('rejected', 'withdrawn') and cb.stage not in ('rejected', 'withdrawn')
            and st_area(st_intersection(a.geom, b.geom)::geography) >= 1",
    )
    .await;
    assert_eq!(phase_overlaps, 0, "the phases of a project do not overlap");
    let unphased_beside_others = scalar(
        &pool,
        "select count(*) from cases a join cases b on b.project_id = a.project_id and b.id <> a.id
          where a.phase_kind is null",
    )
    .await;
    assert_eq!(unphased_beside_others, 0);
    let loader_tokens = scalar(
        &pool,
        "select count(*) from tokens where label = 'demo loader' and revoked_at is null",
    )
    .await;
    assert_eq!(loader_tokens, 0, "the loader's own tokens are revoked");

    let events = scalar(&pool, "select count(*) from case_events").await;
    let again = load(&pool, config, &dir).await.unwrap_err();
    assert!(matches!(again, DemoError::AlreadyLoaded(_)), "{again}");
    assert_eq!(scalar(&pool, "select count(*) from case_events").await, events);
    assert_eq!(
        scalar(&pool, "select count(*) from projects").await,
        counts.projects
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test(migrations = "../../migrations")]
async fn setup_twice_keeps_the_demo_and_the_tokens_file_valid(pool: PgPool) {
    let dir = temp_dir("setup");
    let tokens_path = dir.join("demo-tokens.json");
    let config = Arc::new(common::test_config("postgres://unused/none"));
    let first = demo::setup(&pool, config.clone(), 5, &Sizes::small(), &dir.join("demo"))
        .await
        .unwrap();
    let Setup::Loaded(report) = first else {
        panic!("the first setup loads")
    };
    let issued = tokens::ensure(&pool, &tokens_path).await.unwrap();
    assert_eq!((issued.kept, issued.issued), (0, 15));
    assert!(issued.tokens.contains_key("officer:610981") && issued.tokens.contains_key("gis"));

    let second = demo::setup(&pool, config.clone(), 5, &Sizes::small(), &dir.join("demo"))
        .await
        .unwrap();
    let Setup::Kept(kept) = second else {
        panic!("the second setup keeps the demo")
    };
    assert_eq!(kept.state, LoadState::Loaded);
    assert_eq!(kept.counts.as_ref(), Some(&report.counts));
    assert_eq!(
        scalar(&pool, "select count(*) from cases").await,
        report.counts.cases
    );
    let again = tokens::ensure(&pool, &tokens_path).await.unwrap();
    assert_eq!((again.kept, again.issued), (15, 0));
    assert_eq!(again.tokens, issued.tokens, "the file's tokens are kept");

    // A revoked token is replaced; the others stay.
    sqlx::query(
        "update tokens set revoked_at = now()
          where user_id = (select id from users where name = 'demo-planner') and label = 'demo'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let third = tokens::ensure(&pool, &tokens_path).await.unwrap();
    assert_eq!((third.kept, third.issued), (14, 1));
    assert_ne!(third.tokens["planner"], issued.tokens["planner"]);
    let written: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&tokens_path).unwrap()).unwrap();
    assert_eq!(written, third.tokens);

    // Every token in the file signs in as its role, and a county officer sees only its county.
    let router = landuse_api::app::app(common::state_with(&pool, "postgres://unused/none"));
    for (key, token) in &written {
        let path = if key == "gis" {
            "/ogc/collections"
        } else {
            "/api/v1/counties"
        };
        let request = axum::http::Request::builder()
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(router.clone(), request).await.unwrap();
        assert_eq!(response.status(), 200, "{key}");
    }
    // 旬阳's older code 610928 filters the queue and the ledger as 610981 does.
    let ids = |path: String| {
        let router = router.clone();
        let token = written["reviewer"].clone();
        async move {
            let request = axum::http::Request::builder()
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
            assert_eq!(response.status(), 200);
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let items = value.get("items").cloned().unwrap_or(value);
            let mut ids: Vec<String> = items
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let new_code = ids("/api/v1/cases?county=610981&limit=200".to_owned()).await;
    assert!(!new_code.is_empty(), "旬阳 has cases");
    assert_eq!(
        ids("/api/v1/cases?county=610928&limit=200".to_owned()).await,
        new_code
    );
    assert_eq!(
        ids("/api/v1/ledger?county=610928".to_owned()).await,
        ids("/api/v1/ledger?county=610981".to_owned()).await
    );
    let officer = &written["officer:610921"];
    let request = axum::http::Request::builder()
        .uri("/api/v1/cases?limit=200")
        .header("authorization", format!("Bearer {officer}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let items = listed["items"].as_array().unwrap();
    assert!(items.iter().all(|c| c["county_code"] == "610921"));
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_load_that_stopped_half_way_is_refused_by_setup(pool: PgPool) {
    sqlx::query(
        "insert into settings (key, value)
         values ('demo', '{\"state\": \"loading\", \"seed\": 8, \"started_at\": \"2026-11-27T00:00:00Z\"}')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let dir = temp_dir("unfinished");
    let config = Arc::new(common::test_config("postgres://unused/none"));
    let refused = demo::setup(&pool, config, 8, &Sizes::small(), &dir)
        .await
        .unwrap_err();
    assert!(matches!(refused, DemoError::Unfinished(_)), "{refused}");
    assert!(refused.to_string().contains("has not finished"), "{refused}");
    assert!(!dir.exists(), "nothing was generated");
    assert_eq!(scalar(&pool, "select count(*) from projects").await, 0);
}

/// GETs `path` as the holder of `token` and returns the JSON body.
async fn get_json(router: &axum::Router, token: &str, path: &str) -> serde_json::Value {
    let request = axum::http::Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(router.clone(), request).await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_case_list_shows_each_case_as_its_own_page_does(pool: PgPool) {
    // The list builds its views for a whole page at once; a single case builds its own. Over
    // the demo region (pauses, open ledger items, stale and confirmed checks in every stage)
    // the two must agree field for field.
    let dir = temp_dir("views");
    let config = Arc::new(common::test_config("postgres://unused/none"));
    demo::setup(&pool, config, 5, &Sizes::small(), &dir.join("demo"))
        .await
        .unwrap();
    let issued = tokens::ensure(&pool, &dir.join("tokens.json")).await.unwrap();
    let reviewer = &issued.tokens["reviewer"];
    let router = landuse_api::app::app(common::state_with(&pool, "postgres://unused/none"));

    let mut listed = Vec::new();
    let mut path = "/api/v1/cases?limit=7".to_owned();
    loop {
        let page = get_json(&router, reviewer, &path).await;
        listed.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/cases?limit=7&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(
        i64::try_from(listed.len()).unwrap(),
        scalar(&pool, "select count(*) from cases").await
    );
    let with = |field: &str| listed.iter().filter(|c| !c[field].is_null()).count();
    assert!(with("ledger") > 0 && with("latest_check") > 0 && with("deadline") > 0);
    assert!(
        listed.iter().any(|c| c["deadline"]["paused"] == true),
        "some case's clock is stopped by a correction"
    );
    for case in &listed {
        let id = case["id"].as_str().unwrap();
        let own = get_json(&router, reviewer, &format!("/api/v1/cases/{id}")).await;
        assert_eq!(&own, case, "case {id}");
    }
    // Some case waits for each kind of approval a check calls for.
    let awaited: std::collections::BTreeSet<&str> = listed
        .iter()
        .flat_map(|c| c["approvals"]["missing"].as_array().unwrap())
        .map(|missing| missing["kind"].as_str().unwrap())
        .collect();
    let kinds: std::collections::BTreeSet<&str> = landuse_domain::approval::ApprovalKind::ALL
        .iter()
        .map(|k| k.code())
        .collect();
    assert_eq!(awaited, kinds, "cases wait for every kind of approval");
    let _ = std::fs::remove_dir_all(dir);
}

/// The statuses of an idle-land report's lands, counted.
fn statuses(report: &serde_json::Value) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for line in report["lands"].as_array().unwrap() {
        *out.entry(line["status"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    out
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_demo_supplies_land_so_every_land_supply_report_and_collection_has_rows(pool: PgPool) {
    let dir = temp_dir("supply");
    // Enough projects for a dozen approvals, as the supplies and every age bucket need.
    let sizes = Sizes {
        projects: 120,
        ..Sizes::small()
    };
    generate(3, &sizes, &dir).unwrap();
    let config = Arc::new(common::test_config("postgres://unused/none"));
    load(&pool, config, &dir).await.unwrap();
    let app = common::TestApp::new(pool.clone()).await;
    let get = |path: &'static str| {
        let app = &app;
        async move {
            let answer = app.send("GET", path, "reviewer", None, &[]).await;
            assert_eq!(answer.status, 200, "{path}: {}", answer.text);
            answer.json
        }
    };

    // Eight approvals supplied through the supply endpoints (one in two parts), with what
    // followed, every part dated on or after its approval.
    let parts = scalar(&pool, "select count(*) from supply_parts").await;
    let approvals: Vec<(String, String, i64)> = sqlx::query_as(
        "select b.approved_on::text, c.stage, (select count(*) from parcels a where a.case_id = b.case_id)
           from approval_batches b join cases c on c.id = b.case_id order by b.approved_on",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        parts, 9,
        "every planned supply found an approved case old enough; approvals (date, stage, parcels): {approvals:?}"
    );
    let before_approval = scalar(
        &pool,
        "select count(*) from supply_parts p join approval_batches b using (case_id)
          where p.decided_on < b.approved_on",
    )
    .await;
    assert_eq!(before_approval, 0, "no land supplied before its approval");
    let years = scalar(
        &pool,
        "select count(distinct extract(year from decided_on)) from supply_parts",
    )
    .await;
    assert!(years >= 4, "supplies spread over the years: {years}");
    let certificates = scalar(
        &pool,
        "select count(*) from supply_parts where certificate_issued_on is not null",
    )
    .await;
    assert!(certificates >= 3, "{certificates} certificates");
    assert_eq!(
        scalar(&pool, "select count(*) from supply_parts where source = 'import'").await,
        0,
        "every part came through the API"
    );

    // 批而未供: the approval whose land lies idle has its first parcel supplied and the rest not.
    let supply = get("/api/v1/reports/land-supply").await;
    let idle = get("/api/v1/reports/idle-land").await;
    let idle_part = idle["lands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["status"] == "idle")
        .unwrap_or_else(|| panic!("no idle land: {idle}"))["supply"]
        .as_str()
        .unwrap()
        .to_owned();
    let partly: Vec<(String, f64)> = sqlx::query_as(
        "select p.case_id::text, round((a.area_m2 * 15 / 10000)::numeric, 2)::float8
           from supply_parts p join parcels a on a.case_id = p.case_id and a.seq = 1
          where p.id = $1::uuid",
    )
    .bind(&idle_part)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(partly.len(), 1, "{partly:?}");
    let (case, first_parcel_mu) = &partly[0];
    let line = supply["batches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["batch"] == *case)
        .unwrap_or_else(|| panic!("{case} is not a batch: {supply}"));
    assert!(
        (line["supplied_mu"].as_f64().unwrap() - first_parcel_mu).abs() <= 0.011,
        "supplied is its first parcel, {first_parcel_mu} mu: {line}"
    );
    assert!(line["unsupplied_mu"].as_f64().unwrap() > 0.0, "{line}");
    let percent = line["supply_percent"].as_f64().unwrap();
    assert!(percent > 0.0 && percent < 100.0, "partly supplied: {line}");
    assert!(supply["total"]["all_batches"]["supplied_mu"].as_f64().unwrap() > 0.0);
    // Approved land waits in every age bucket, over five years included.
    for age in supply["total"]["by_age"].as_array().unwrap() {
        assert!(
            age["batches"].as_u64().unwrap() > 0 && age["unsupplied_mu"].as_f64().unwrap() > 0.0,
            "approved land unsupplied in every age bucket: {age}"
        );
    }
    assert_eq!(supply["total"]["by_age"].as_array().unwrap().len(), 4);

    // Standard land: this year's industrial land inside a development zone all standard (goal
    // met), and elsewhere one part standard and one not; a part built years ago compared with
    // what it achieved.
    let standard = get("/api/v1/reports/standard-land").await;
    let total = &standard["report"]["total"];
    assert_eq!(total["development_zone"]["goal_met"], true, "{standard}");
    assert!(
        total["development_zone"]["industrial_mu"].as_f64().unwrap() > 0.0,
        "{standard}"
    );
    let elsewhere = &total["elsewhere"];
    let (industrial, standard_mu) = (
        elsewhere["industrial_mu"].as_f64().unwrap(),
        elsewhere["standard_mu"].as_f64().unwrap(),
    );
    assert!(standard_mu > 0.0 && standard_mu < industrial, "{standard}");
    assert_eq!(total["not_standard"].as_array().unwrap().len(), 1, "{standard}");
    let acceptance = standard["acceptance"].as_array().unwrap();
    assert_eq!(acceptance.len(), 1, "{standard}");
    assert!(acceptance[0].to_string().contains("tax_per_mu"), "{standard}");
    let zones = app
        .send("GET", "/ogc/collections/development_zone/items", "gis", None, &[])
        .await;
    assert_eq!(zones.status, 200, "{}", zones.text);
    assert_eq!(zones.json["numberMatched"], 2, "{}", zones.text);

    // Idle land of each kind, the government-caused delay marked and not counted.
    let counted = statuses(&idle);
    for status in ["idle", "reclaimable", "government_caused", "due_soon"] {
        assert_eq!(counted.get(status), Some(&1), "one {status}: {counted:?}");
    }
    let fee = idle["lands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["status"] == "idle")
        .unwrap()["fee_wan_yuan"]
        .clone();
    assert_eq!(fee, 120.0, "20% of the 600 万元 price");
    let handovers = get("/api/v1/reports/handover-certificate").await;
    assert!(handovers.to_string().contains("handed_over_on"), "{handovers}");

    // The map shows the same land.
    let unsupplied = app
        .send(
            "GET",
            "/ogc/collections/approved_unsupplied/items",
            "gis",
            None,
            &[],
        )
        .await;
    assert!(
        unsupplied.json["numberMatched"].as_i64().unwrap() > 0,
        "{}",
        unsupplied.text
    );
    let idle_map = app
        .send("GET", "/ogc/collections/idle_land/items", "gis", None, &[])
        .await;
    assert_eq!(idle_map.json["numberMatched"], 4, "{}", idle_map.text);
    let _ = std::fs::remove_dir_all(dir);
}
