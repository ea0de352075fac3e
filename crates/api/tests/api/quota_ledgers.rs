//! The construction-quota and farmland-offset ledgers against a real PostGIS: no overdraw under
//! concurrency, key projects first, locks that cover or say what falls short, releases that
//! return exactly what was held, and the stage rules that wait for both.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::common;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use landuse_api::quota::{
    cli, guarantees,
    offsets::{self, NewIndicatorOf},
    quotas::{self, Holder, NextStep},
    LedgerError, Release,
};
use landuse_domain::ledger::{rules::LedgerAction, Amount, Quantities, Quantity};
use landuse_domain::{
    county::CountyCode,
    role::{Actor, Role},
    stage::{CaseState, Stage},
    transition::{self, Action, CaseFacts, CheckFacts, CheckSummary},
};
use serde_json::json;
use sqlx::{postgres::PgPoolOptions, PgConnection, PgPool};
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
}

fn mu(value: f64) -> Amount {
    Amount::parse(value).unwrap()
}

/// The return of what a case held when it closed, by a reviewer.
fn on_close(by: Option<Uuid>, reason: Option<&str>) -> Release<'_> {
    Release {
        action: LedgerAction::ReturnOnClose,
        by,
        role: Role::Reviewer,
        reason,
        at: now(),
    }
}

fn county(code: &str) -> Holder {
    Holder::County(CountyCode::parse(code).unwrap())
}

struct Fixture {
    reviewer: (Uuid, Role),
    officer: (Uuid, Role),
    admin: (Uuid, Role),
}

async fn fixture(conn: &mut PgConnection) -> Fixture {
    landuse_api::admin::seed(conn).await.unwrap();
    let reviewer = landuse_api::admin::add_user(conn, "reviewer", "reviewer", &[])
        .await
        .unwrap();
    let officer = landuse_api::admin::add_user(conn, "officer", "officer", &["610902".into()])
        .await
        .unwrap();
    let admin = landuse_api::admin::add_user(conn, "admin", "admin", &[])
        .await
        .unwrap();
    Fixture {
        reviewer: (reviewer, Role::Reviewer),
        officer: (officer, Role::Officer),
        admin: (admin, Role::Admin),
    }
}

/// A project and one case of it in `stage`.
async fn case_in(conn: &mut PgConnection, county: &str, key: bool, stage: &str) -> Uuid {
    let project = Uuid::now_v7();
    sqlx::query(
        "insert into projects (id, name, county_code, level, category, on_key_list, year)
         values ($1, $2, $3, 'municipal', 'infrastructure', $4, 2026)",
    )
    .bind(project)
    .bind(format!("project {project}"))
    .bind(county)
    .bind(key)
    .execute(&mut *conn)
    .await
    .unwrap();
    let case = Uuid::now_v7();
    sqlx::query(
        "insert into cases (id, project_id, county_code, title, stage) values ($1, $2, $3, 'case', $4)",
    )
    .bind(case)
    .bind(project)
    .bind(county)
    .bind(stage)
    .execute(&mut *conn)
    .await
    .unwrap();
    case
}

async fn set_stage(conn: &mut PgConnection, case: Uuid, stage: &str) {
    sqlx::query("update cases set stage = $2 where id = $1")
        .bind(case)
        .bind(stage)
        .execute(&mut *conn)
        .await
        .unwrap();
}

async fn balance(conn: &mut PgConnection, holder: Holder) -> Amount {
    quotas::account(conn, holder, 2026)
        .await
        .unwrap()
        .unwrap()
        .balance_mu
}

/// The balance equals the sum of the account's movements: the ledger explains every mu.
async fn assert_ledger_explains_balance(conn: &mut PgConnection, holder: Holder) {
    let (sum, bal): (i64, i64) = sqlx::query_as(
        "select coalesce((sum(m.delta_mu) * 100)::bigint, 0), (a.balance_mu * 100)::bigint
           from quota_accounts a left join quota_movements m on m.holder = a.holder and m.year = a.year
          where a.holder = $1 and a.year = 2026 group by a.balance_mu",
    )
    .bind(holder.key())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(sum, bal, "the movements add up to the balance of {holder}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn twenty_concurrent_allocations_never_overdraw_and_exactly_three_win(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    let hanbin = county("610902");
    quotas::set_yearly(&mut conn, hanbin, 2026, mu(10.0), None, None, now())
        .await
        .unwrap();
    let mut cases = Vec::new();
    for _ in 0..20 {
        let case = case_in(&mut conn, "610902", false, "conversion").await;
        quotas::request(&mut conn, case, 2026, mu(3.0), f.officer, now())
            .await
            .unwrap();
        cases.push(case);
    }
    drop(conn);

    // One connection per task, all released at the same instant.
    let racing = PgPoolOptions::new()
        .max_connections(21)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(cases.len()));
    let tasks: Vec<_> = cases
        .iter()
        .map(|&case| {
            let racing = racing.clone();
            let barrier = barrier.clone();
            let reviewer = f.reviewer;
            tokio::spawn(async move {
                let mut conn = racing.acquire().await.unwrap();
                barrier.wait().await;
                quotas::allocate(&mut conn, case, reviewer, now()).await
            })
        })
        .collect();
    let mut won = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(held) => {
                assert_eq!(held.mu, mu(3.0));
                won += 1;
            }
            Err(LedgerError::Insufficient {
                needed, available, ..
            }) => {
                assert_eq!(needed, mu(3.0));
                assert!(available < mu(3.0), "a loser is told what is left: {available}");
                refused += 1;
            }
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
    assert_eq!((won, refused), (3, 17));
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(balance(&mut conn, hanbin).await, mu(1.0));
    let allocations: i64 = sqlx::query_scalar("select count(*) from quota_movements where kind = 'allocate'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(allocations, 3);
    assert_ledger_explains_balance(&mut conn, hanbin).await;
    let waiting = quotas::waiting(&mut conn, Some(2026), None).await.unwrap();
    assert_eq!(waiting.len(), 17, "the losers stay on the waiting list");
    assert!(waiting.iter().all(|w| w.next_step == NextStep::TransferFromPool));
    assert!(waiting.iter().all(|w| w.shortfall_mu == mu(2.0)));
}

#[sqlx::test(migrations = "../../migrations")]
async fn two_allocations_racing_for_the_last_ten_mu_give_one_win_and_one_clear_refusal(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    let hanbin = county("610902");
    quotas::set_yearly(&mut conn, hanbin, 2026, mu(10.0), None, None, now())
        .await
        .unwrap();
    let a = case_in(&mut conn, "610902", false, "conversion").await;
    let b = case_in(&mut conn, "610902", false, "conversion").await;
    for case in [a, b] {
        quotas::request(&mut conn, case, 2026, mu(10.0), f.officer, now())
            .await
            .unwrap();
    }
    drop(conn);
    let (mut c1, mut c2) = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
    let (r1, r2) = tokio::join!(
        quotas::allocate(&mut c1, a, f.reviewer, now()),
        quotas::allocate(&mut c2, b, f.reviewer, now())
    );
    let results = [r1, r2];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    let loser = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(loser.code(), "quota-insufficient");
    assert_eq!(
        loser.to_string(),
        "610902 has 0.00 mu of 2026 quota left; 10.00 mu are needed"
    );
    assert_eq!(balance(&mut c1, hanbin).await, Amount::ZERO);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_waiting_key_project_is_allocated_before_any_other_project_of_its_county(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    let hanbin = county("610902");
    quotas::set_yearly(&mut conn, hanbin, 2026, mu(50.0), None, None, now())
        .await
        .unwrap();
    quotas::set_yearly(&mut conn, Holder::Pool, 2026, mu(100.0), None, None, now())
        .await
        .unwrap();
    let ordinary = case_in(&mut conn, "610902", false, "conversion").await;
    let key = case_in(&mut conn, "610902", true, "pre_review").await;
    let elsewhere = case_in(&mut conn, "610921", false, "conversion").await;
    quotas::set_yearly(&mut conn, county("610921"), 2026, mu(5.0), None, None, now())
        .await
        .unwrap();
    quotas::request(&mut conn, ordinary, 2026, mu(20.0), f.officer, now())
        .await
        .unwrap();
    quotas::request(&mut conn, key, 2026, mu(80.0), f.reviewer, now())
        .await
        .unwrap();
    quotas::request(&mut conn, elsewhere, 2026, mu(5.0), f.reviewer, now())
        .await
        .unwrap();

    let waiting = quotas::waiting(&mut conn, Some(2026), None).await.unwrap();
    let order: Vec<(Uuid, NextStep)> = waiting.iter().map(|w| (w.case_id, w.next_step)).collect();
    assert_eq!(
        order,
        [
            (key, NextStep::TransferFromPool),
            (ordinary, NextStep::KeyProjectsFirst),
            (elsewhere, NextStep::Allocate)
        ],
        "key projects first, each with what a reviewer can do"
    );

    let refused = quotas::allocate(&mut conn, ordinary, f.reviewer, now())
        .await
        .unwrap_err();
    let LedgerError::KeyProjectWaiting { waiting, .. } = &refused else {
        panic!("expected key-project-waiting, got {refused}")
    };
    assert_eq!(waiting, &[key]);
    assert!(
        quotas::allocate(&mut conn, elsewhere, f.reviewer, now())
            .await
            .is_ok(),
        "another county's key projects do not hold this one back"
    );
    // The key project needs more than the county has: no partial allocation.
    assert!(matches!(
        quotas::allocate(&mut conn, key, f.reviewer, now()).await,
        Err(LedgerError::Insufficient { .. })
    ));
    assert_eq!(balance(&mut conn, hanbin).await, mu(50.0));
    quotas::transfer(
        &mut conn,
        2026,
        Holder::Pool,
        hanbin,
        mu(30.0),
        f.reviewer,
        "key project",
        now(),
    )
    .await
    .unwrap();
    let held = quotas::allocate(&mut conn, key, f.reviewer, now()).await.unwrap();
    assert_eq!(held.mu, mu(80.0), "allocated in full");
    // Now the ordinary project may go, and the county is empty.
    assert!(matches!(
        quotas::allocate(&mut conn, ordinary, f.reviewer, now()).await,
        Err(LedgerError::Insufficient { .. })
    ));
    quotas::transfer(
        &mut conn,
        2026,
        Holder::Pool,
        hanbin,
        mu(20.0),
        f.reviewer,
        "ordinary",
        now(),
    )
    .await
    .unwrap();
    quotas::allocate(&mut conn, ordinary, f.reviewer, now())
        .await
        .unwrap();
    assert!(quotas::waiting(&mut conn, Some(2026), None)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(balance(&mut conn, Holder::Pool).await, mu(50.0));
    assert_ledger_explains_balance(&mut conn, hanbin).await;
    assert_ledger_explains_balance(&mut conn, Holder::Pool).await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_cancelled_key_project_request_no_longer_holds_others_back(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    quotas::set_yearly(&mut conn, county("610902"), 2026, mu(50.0), None, None, now())
        .await
        .unwrap();
    let key = case_in(&mut conn, "610902", true, "pre_review").await;
    let ordinary = case_in(&mut conn, "610902", false, "conversion").await;
    quotas::request(&mut conn, key, 2026, mu(500.0), f.reviewer, now())
        .await
        .unwrap();
    quotas::request(&mut conn, ordinary, 2026, mu(5.0), f.officer, now())
        .await
        .unwrap();
    assert!(quotas::allocate(&mut conn, ordinary, f.reviewer, now())
        .await
        .is_err());
    quotas::cancel_request(&mut conn, key, f.reviewer, "project re-scoped", now())
        .await
        .unwrap();
    quotas::allocate(&mut conn, ordinary, f.reviewer, now())
        .await
        .unwrap();
    assert!(matches!(
        quotas::allocate(&mut conn, key, f.reviewer, now()).await,
        Err(LedgerError::NoRequest)
    ));
}

#[sqlx::test(migrations = "../../migrations")]
async fn release_on_rejection_returns_exactly_the_allocation_and_twice_is_harmless(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    let hanbin = county("610902");
    quotas::set_yearly(&mut conn, hanbin, 2026, mu(100.0), None, None, now())
        .await
        .unwrap();
    let case = case_in(&mut conn, "610902", false, "conversion").await;
    quotas::request(&mut conn, case, 2026, mu(12.34), f.officer, now())
        .await
        .unwrap();
    quotas::allocate(&mut conn, case, f.reviewer, now())
        .await
        .unwrap();
    assert_eq!(balance(&mut conn, hanbin).await, mu(87.66));
    assert!(matches!(
        quotas::allocate(&mut conn, case, f.reviewer, now()).await,
        Err(LedgerError::AlreadyAllocated { .. })
    ));

    set_stage(&mut conn, case, "supply").await;
    assert!(
        matches!(
            quotas::release(&mut conn, case, &on_close(None, None)).await,
            Err(LedgerError::WrongStage { .. })
        ),
        "quota used by an approved conversion stays with the case"
    );
    set_stage(&mut conn, case, "rejected").await;
    let released = quotas::release(&mut conn, case, &on_close(Some(f.reviewer.0), Some("rejected")))
        .await
        .unwrap()
        .unwrap();
    assert!((released.delta_mu - 12.34).abs() < 1e-9);
    assert_eq!(balance(&mut conn, hanbin).await, mu(100.0));
    assert!(quotas::release(&mut conn, case, &on_close(None, None))
        .await
        .unwrap()
        .is_none());
    assert!(!quotas::is_allocated(&mut conn, case).await.unwrap());
    assert!(
        quotas::waiting(&mut conn, None, None).await.unwrap().is_empty(),
        "a rejected case does not wait"
    );
    assert_ledger_explains_balance(&mut conn, hanbin).await;
}

#[sqlx::test(migrations = "../../migrations")]
async fn transfers_go_only_between_a_county_and_the_pool_and_never_overdraw(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    quotas::set_yearly(&mut conn, Holder::Pool, 2026, mu(10.0), None, None, now())
        .await
        .unwrap();
    let t = quotas::transfer(
        &mut conn,
        2026,
        Holder::Pool,
        county("610921"),
        mu(4.0),
        f.reviewer,
        "x",
        now(),
    )
    .await
    .unwrap();
    assert_eq!(t.out.transfer_id, t.into.transfer_id);
    assert_eq!(
        balance(&mut conn, county("610921")).await,
        mu(4.0),
        "the account is opened"
    );
    assert!(matches!(
        quotas::transfer(
            &mut conn,
            2026,
            county("610921"),
            county("610902"),
            mu(1.0),
            f.reviewer,
            "x",
            now()
        )
        .await,
        Err(LedgerError::TransferNotViaPool)
    ));
    assert!(matches!(
        quotas::transfer(
            &mut conn,
            2026,
            county("610921"),
            Holder::Pool,
            mu(4.01),
            f.reviewer,
            "x",
            now()
        )
        .await,
        Err(LedgerError::Insufficient { .. })
    ));
    assert!(matches!(
        quotas::transfer(
            &mut conn,
            2026,
            Holder::Pool,
            county("610921"),
            mu(1.0),
            f.officer,
            "x",
            now()
        )
        .await,
        Err(LedgerError::RoleMayNot { .. })
    ));
    quotas::transfer(
        &mut conn,
        2026,
        county("610921"),
        Holder::Pool,
        mu(4.0),
        f.reviewer,
        "back",
        now(),
    )
    .await
    .unwrap();
    assert_eq!(balance(&mut conn, Holder::Pool).await, mu(10.0));
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_yearly_amount_cannot_drop_below_what_is_in_use_and_the_ledger_is_append_only(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    let hanbin = county("610902");
    quotas::set_yearly(&mut conn, hanbin, 2026, mu(30.0), Some(f.admin.0), None, now())
        .await
        .unwrap();
    let case = case_in(&mut conn, "610902", false, "conversion").await;
    quotas::request(&mut conn, case, 2026, mu(25.0), f.officer, now())
        .await
        .unwrap();
    quotas::allocate(&mut conn, case, f.reviewer, now())
        .await
        .unwrap();
    let refused = quotas::set_yearly(&mut conn, hanbin, 2026, mu(20.0), None, None, now())
        .await
        .unwrap_err();
    assert!(matches!(refused, LedgerError::GrantBelowInUse { in_use, .. } if in_use == mu(25.0)));
    let account = quotas::set_yearly(&mut conn, hanbin, 2026, mu(26.0), None, None, now())
        .await
        .unwrap();
    assert_eq!(
        (account.granted_mu, account.balance_mu, account.allocated_mu),
        (mu(26.0), mu(1.0), mu(25.0))
    );
    let kinds: Vec<String> = quotas::movements(&mut conn, hanbin, 2026)
        .await
        .unwrap()
        .iter()
        .map(|m| format!("{:?} {}", m.kind, m.delta_mu))
        .collect();
    assert_eq!(kinds, ["Grant 30", "Allocate -25", "Grant -4"]);
    for sql in [
        "update quota_movements set delta_mu = 0",
        "delete from quota_movements",
    ] {
        let err = sqlx::query(sql).execute(&mut *conn).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let err = sqlx::query("update quota_accounts set balance_mu = -1")
        .execute(&mut *conn)
        .await
        .unwrap_err();
    assert!(err
        .to_string()
        .contains(landuse_api::store::ledger::quota::BALANCE_NOT_NEGATIVE));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_csv_import_stores_everything_or_nothing(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    let bad = cli::import(
        &mut conn,
        2026,
        "county_code,mu\n610902,100\n110101,5\n610902,7\n",
        now(),
    )
    .await
    .unwrap_err();
    let message = bad.to_string();
    assert!(
        message.contains("line 3: \"110101\" is not a county of the region"),
        "{message}"
    );
    assert!(
        message.contains("line 4: 610902 is already on line 2"),
        "{message}"
    );
    assert!(quotas::accounts(&mut conn, Some(2026), None)
        .await
        .unwrap()
        .is_empty());

    let accounts = cli::import(&mut conn, 2026, "610902,100\n610928,40.5\npool,300\n", now())
        .await
        .unwrap();
    let holders: Vec<String> = accounts.iter().map(|a| a.holder.to_string()).collect();
    assert_eq!(
        holders,
        ["610902", "610981", "pool"],
        "the old 旬阳 code resolves to 610981"
    );
    assert_eq!(balance(&mut conn, county("610981")).await, mu(40.5));

    // A second import that would take back allocated quota is refused as a whole.
    let case = case_in(&mut conn, "610981", false, "conversion").await;
    quotas::request(&mut conn, case, 2026, mu(40.0), f.reviewer, now())
        .await
        .unwrap();
    quotas::allocate(&mut conn, case, f.reviewer, now())
        .await
        .unwrap();
    let refused = cli::import(&mut conn, 2026, "610902,200\n610981,10\n", now())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, cli::ImportError::Refused { line: 2, .. }),
        "{refused}"
    );
    assert_eq!(
        balance(&mut conn, county("610902")).await,
        mu(100.0),
        "line 1 was rolled back too"
    );
}

/// Registers an indicator of 610902.
async fn indicator(conn: &mut PgConnection, f: &Fixture, area: f64, paddy: f64, capacity: f64) -> Uuid {
    let new = NewIndicatorOf {
        county: CountyCode::parse("610902").unwrap(),
        source_project: "汉滨区高标准农田建设项目",
        source_ref: "安自然资发〔2025〕1号",
        amounts: Quantities {
            area_m2: mu(area),
            paddy_m2: mu(paddy),
            capacity_kg: mu(capacity),
        },
    };
    offsets::register(conn, &new, f.reviewer, now()).await.unwrap().id
}

fn needs(area: f64, paddy: f64, capacity: f64) -> Quantities {
    Quantities {
        area_m2: mu(area),
        paddy_m2: mu(paddy),
        capacity_kg: mu(capacity),
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_offset_lock_that_exactly_covers_the_case_takes_oldest_indicators_first(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    let old = indicator(&mut conn, &f, 1000.0, 200.0, 600.0).await;
    let new = indicator(&mut conn, &f, 1000.0, 800.0, 600.0).await;
    let case = case_in(&mut conn, "610902", false, "conversion").await;
    let check = common::confirmed_check(&mut conn, case, 0.0, 0.0).await;
    let locked = offsets::lock(
        &mut conn,
        case,
        check,
        needs(2000.0, 1000.0, 1200.0),
        f.reviewer,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(locked.locked, needs(2000.0, 1000.0, 1200.0));
    assert_eq!(locked.lines.len(), 2);
    assert_eq!(locked.lines[0].indicator_id, old);
    for id in [old, new] {
        let left = offsets::indicator(&mut conn, id)
            .await
            .unwrap()
            .unwrap()
            .available;
        assert_eq!(left, Quantities::ZERO, "an exact cover leaves nothing");
    }
    assert!(offsets::is_locked(&mut conn, case).await.unwrap());
    // Locking the same need again changes nothing; a smaller one gives the excess back from
    // the newest indicator first.
    let again = offsets::lock(
        &mut conn,
        case,
        check,
        needs(2000.0, 1000.0, 1200.0),
        f.reviewer,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(again.movements.len(), locked.movements.len());
    let smaller = offsets::lock(
        &mut conn,
        case,
        check,
        needs(1500.0, 1000.0, 1200.0),
        f.reviewer,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(smaller.locked, needs(1500.0, 1000.0, 1200.0));
    let new_left = offsets::indicator(&mut conn, new)
        .await
        .unwrap()
        .unwrap()
        .available;
    assert_eq!(
        new_left,
        needs(500.0, 0.0, 0.0),
        "the excess went back to the newest indicator"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_lock_short_on_area_paddy_or_capacity_says_which_and_by_how_much_and_takes_nothing(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    let a = indicator(&mut conn, &f, 1000.0, 300.0, 500.0).await;
    let b = indicator(&mut conn, &f, 500.0, 0.0, 500.0).await;
    let case = case_in(&mut conn, "610902", false, "conversion").await;
    let check = common::confirmed_check(&mut conn, case, 0.0, 0.0).await;
    for (wanted, quantity, short_by, available) in [
        (needs(1600.0, 100.0, 100.0), Quantity::Area, 100.0, 1500.0),
        (needs(1000.0, 350.5, 100.0), Quantity::Paddy, 50.5, 300.0),
        (needs(1000.0, 100.0, 1250.0), Quantity::Capacity, 250.0, 1000.0),
    ] {
        let err = offsets::lock(&mut conn, case, check, wanted, f.reviewer, now())
            .await
            .unwrap_err();
        let LedgerError::Shortfall { shortfalls, .. } = &err else {
            panic!("expected a shortfall, got {err}")
        };
        assert_eq!(shortfalls.len(), 1, "{err}");
        assert_eq!(shortfalls[0].quantity, quantity);
        assert_eq!(shortfalls[0].short_by, mu(short_by));
        assert_eq!(shortfalls[0].available, mu(available));
        assert_eq!(err.code(), "offset-shortfall");
    }
    let err = offsets::lock(
        &mut conn,
        case,
        check,
        needs(2000.0, 400.0, 1000.0),
        f.reviewer,
        now(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the offset indicators of 610902 do not cover the case: cultivated area short by 500.00 m² \
         (needs 2000.00, 1500.00 available); paddy area short by 100.00 m² (needs 400.00, 300.00 available)"
    );
    for id in [a, b] {
        let i = offsets::indicator(&mut conn, id).await.unwrap().unwrap();
        assert_eq!(i.available, i.registered, "a refused lock takes nothing");
    }
    assert!(!offsets::is_locked(&mut conn, case).await.unwrap());
}

#[sqlx::test(migrations = "../../migrations")]
async fn release_on_rejection_returns_exactly_what_was_locked(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    let ids = [
        indicator(&mut conn, &f, 333.33, 111.11, 222.22).await,
        indicator(&mut conn, &f, 1000.0, 500.0, 999.99).await,
    ];
    let before: Vec<Quantities> = {
        let mut v = Vec::new();
        for id in ids {
            v.push(
                offsets::indicator(&mut conn, id)
                    .await
                    .unwrap()
                    .unwrap()
                    .available,
            );
        }
        v
    };
    let case = case_in(&mut conn, "610902", false, "conversion").await;
    let check = common::confirmed_check(&mut conn, case, 0.0, 0.0).await;
    let locked = offsets::lock(
        &mut conn,
        case,
        check,
        needs(500.01, 200.02, 300.03),
        f.reviewer,
        now(),
    )
    .await
    .unwrap();
    // Someone else's lock in between must not be disturbed by this case's release.
    let other = case_in(&mut conn, "610902", false, "conversion").await;
    let check = common::confirmed_check(&mut conn, other, 0.0, 0.0).await;
    offsets::lock(
        &mut conn,
        other,
        check,
        needs(10.0, 10.0, 10.0),
        f.reviewer,
        now(),
    )
    .await
    .unwrap();

    set_stage(&mut conn, case, "rejected").await;
    let reviewer = landuse_api::auth::Caller {
        user_id: f.reviewer.0,
        name: "reviewer".into(),
        role: Role::Reviewer,
        counties: vec![],
    };
    guarantees::release_for_closed_case(&mut conn, case, Stage::Conversion, &reviewer, now())
        .await
        .unwrap();
    let released: Vec<Quantities> = offsets::case_offset(&mut conn, case)
        .await
        .unwrap()
        .movements
        .iter()
        .filter(|m| m.kind == offsets::OffsetMovementKind::Release)
        .map(|m| m.amounts)
        .collect();
    let total = released.iter().fold(Quantities::ZERO, |s, q| s.plus(q));
    assert_eq!(
        total, locked.locked,
        "the release returns exactly what was locked"
    );
    assert_eq!(total, needs(500.01, 200.02, 300.03));
    let mut after = Vec::new();
    for id in ids {
        after.push(
            offsets::indicator(&mut conn, id)
                .await
                .unwrap()
                .unwrap()
                .available,
        );
    }
    let other_lock = offsets::case_offset(&mut conn, other).await.unwrap().locked;
    assert_eq!(after[0], before[0]);
    assert_eq!(
        after[1].plus(&other_lock),
        before[1],
        "only the other case's lock is still out"
    );
    assert!(!offsets::is_locked(&mut conn, case).await.unwrap());
    assert_eq!(
        offsets::release(&mut conn, case, &on_close(None, None))
            .await
            .unwrap(),
        None,
        "releasing twice returns nothing more"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn consumed_indicators_stay_consumed_and_transfers_split_an_indicator(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    let source = indicator(&mut conn, &f, 1000.0, 400.0, 800.0).await;
    let case = case_in(&mut conn, "610902", false, "conversion").await;
    let check = common::confirmed_check(&mut conn, case, 0.0, 0.0).await;
    offsets::lock(
        &mut conn,
        case,
        check,
        needs(100.0, 40.0, 80.0),
        f.reviewer,
        now(),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            offsets::consume(&mut conn, case, f.reviewer, now()).await,
            Err(LedgerError::WrongStage { .. })
        ),
        "only the approval (or a reviewer after it) consumes"
    );
    set_stage(&mut conn, case, "supply").await;
    let consumed = offsets::consume(&mut conn, case, f.reviewer, now())
        .await
        .unwrap();
    assert_eq!(
        (consumed.locked, consumed.consumed),
        (Quantities::ZERO, needs(100.0, 40.0, 80.0))
    );
    assert!(
        offsets::is_locked(&mut conn, case).await.unwrap(),
        "consumed counts as in place"
    );
    set_stage(&mut conn, case, "rejected").await;
    assert_eq!(
        offsets::release(&mut conn, case, &on_close(None, None))
            .await
            .unwrap(),
        None
    );

    let to = CountyCode::parse("610921").unwrap();
    assert!(matches!(
        offsets::transfer(
            &mut conn,
            source,
            to,
            Some(needs(901.0, 0.0, 0.0)),
            f.reviewer,
            "x",
            now()
        )
        .await,
        Err(LedgerError::TransferExceedsAvailable { .. })
    ));
    assert!(matches!(
        offsets::transfer(&mut conn, source, to, None, f.officer, "x", now()).await,
        Err(LedgerError::RoleMayNot { .. })
    ));
    let moved = offsets::transfer(
        &mut conn,
        source,
        to,
        Some(needs(500.0, 200.0, 300.0)),
        f.reviewer,
        "x",
        now(),
    )
    .await
    .unwrap();
    assert_eq!(moved.from.available, needs(400.0, 160.0, 420.0));
    assert_eq!(
        (moved.to.county_code, moved.to.transferred_from),
        (to, Some(source))
    );
    assert_eq!(moved.to.available, needs(500.0, 200.0, 300.0));
    assert_eq!(
        offsets::county_available(&mut conn, to).await.unwrap(),
        needs(500.0, 200.0, 300.0)
    );
}

/// The facts the workflow would load: the stored check summary and the ledgers' answers.
async fn facts(conn: &mut PgConnection, case: Uuid, documents: &serde_json::Value) -> CaseFacts {
    let summary: serde_json::Value = sqlx::query_scalar(
        "select summary from checks where case_id = $1 order by run_at desc, id desc limit 1",
    )
    .bind(case)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let summary: CheckSummary = serde_json::from_value(summary).unwrap();
    let positions = guarantees::positions(conn, case).await.unwrap();
    let mut facts: CaseFacts = serde_json::from_value(documents.clone()).unwrap();
    facts.check = CheckFacts::Confirmed(summary);
    facts.quota = positions.quota;
    facts.offset = positions.offset;
    facts
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_case_goes_from_pre_review_to_completed_only_once_its_quota_and_offset_are_in_place(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    quotas::set_yearly(&mut conn, county("610902"), 2026, mu(100.0), None, None, now())
        .await
        .unwrap();
    indicator(&mut conn, &f, 5000.0, 2000.0, 4000.0).await;
    let case = case_in(&mut conn, "610902", true, "pre_review").await;
    common::confirmed_check(&mut conn, case, 1200.0, 800.0).await;
    let reviewer = Actor::new(f.reviewer.0, Role::Reviewer);
    let mut documents = json!({ "pre_review_opinion": "用字第610902202600001号" });
    let mut state = CaseState::at(Stage::PreReview).unwrap();
    let step = |state: &CaseState, facts: &CaseFacts| {
        transition::decide(state, Action::Advance, &reviewer, facts, now(), None)
    };

    let to_conversion = step(&state, &facts(&mut conn, case, &documents).await).unwrap();
    state = to_conversion.state_after;
    set_stage(&mut conn, case, state.stage().code()).await;
    documents["conversion_approval"] = json!("陕政土批〔2026〕12号");

    // Approval recorded, but neither quota nor offset: refused on the quota first.
    let refused = step(&state, &facts(&mut conn, case, &documents).await).unwrap_err();
    assert_eq!(refused.code(), "quota-short");
    quotas::request(&mut conn, case, 2026, mu(15.0), f.officer, now())
        .await
        .unwrap();
    quotas::allocate(&mut conn, case, f.reviewer, now())
        .await
        .unwrap();
    let refused = step(&state, &facts(&mut conn, case, &documents).await).unwrap_err();
    assert_eq!(refused.code(), "offset-not-locked");

    // The lock's areas come from the check report: 2000 m² cultivated, 1200 m² of it paddy.
    let (check, wanted) = offsets::needs_from_check(&mut conn, case, mu(1500.0))
        .await
        .unwrap();
    assert_eq!(wanted, needs(2000.0, 1200.0, 1500.0));
    offsets::lock(&mut conn, case, check, wanted, f.reviewer, now())
        .await
        .unwrap();
    let to_supply = step(&state, &facts(&mut conn, case, &documents).await).unwrap();
    assert_eq!(to_supply.to, Stage::Supply);
    state = to_supply.state_after;
    set_stage(&mut conn, case, state.stage().code()).await;
    offsets::consume(&mut conn, case, f.reviewer, now())
        .await
        .unwrap();

    documents["supply_decision"] =
        json!({ "method": "allocation", "industrial": false, "standard_land_indicators_present": false });
    let to_registration = step(&state, &facts(&mut conn, case, &documents).await).unwrap();
    state = to_registration.state_after;
    documents["certificate_number"] = json!("陕(2026)安康市不动产权第0000001号");
    let done = step(&state, &facts(&mut conn, case, &documents).await).unwrap();
    assert_eq!(done.to, Stage::Completed);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_case_without_cultivated_land_needs_quota_but_no_offset(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let f = fixture(&mut conn).await;
    quotas::set_yearly(&mut conn, county("610902"), 2026, mu(20.0), None, None, now())
        .await
        .unwrap();
    let case = case_in(&mut conn, "610902", false, "conversion").await;
    common::confirmed_check(&mut conn, case, 0.0, 0.0).await;
    assert!(matches!(
        offsets::needs_from_check(&mut conn, case, mu(0.0)).await,
        Err(LedgerError::NothingToLock)
    ));
    quotas::request(&mut conn, case, 2026, mu(15.0), f.officer, now())
        .await
        .unwrap();
    quotas::allocate(&mut conn, case, f.reviewer, now())
        .await
        .unwrap();
    let documents = json!({ "pre_review_opinion": "x", "conversion_approval": "y" });
    let reviewer = Actor::new(f.reviewer.0, Role::Reviewer);
    let state = CaseState::at(Stage::Conversion).unwrap();
    let event = transition::decide(
        &state,
        Action::Advance,
        &reviewer,
        &facts(&mut conn, case, &documents).await,
        now(),
        None,
    )
    .unwrap();
    assert_eq!(event.to, Stage::Supply);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_dismissed_cultivated_hit_is_left_out_of_what_must_be_locked(pool: PgPool) {
    use landuse_domain::{
        check::{CheckInput, Dlbm, Hit, LayerFigures, LayerKind, VerdictRules},
        units::SquareMetres,
    };
    let mut conn = pool.acquire().await.unwrap();
    fixture(&mut conn).await;
    let case = case_in(&mut conn, "610902", false, "conversion").await;
    let m2 = |v: f64| SquareMetres::new(v).unwrap();
    let hit = |id: &str, overlap: f64, dlbm| Hit {
        feature_id: id.into(),
        parcel_area: m2(10_000.0),
        overlap: m2(overlap),
        dismissed: false,
        dlbm: Some(dlbm),
    };
    let input = CheckInput {
        case_area: m2(10_000.0),
        layers: vec![LayerFigures {
            kind: LayerKind::CultivatedLand,
            checked: true,
            hits: vec![
                hit("1", 1200.0, Dlbm::Paddy),
                hit("2", 800.0, Dlbm::Dry),
                hit("3", 500.0, Dlbm::Paddy),
            ],
        }],
        context: landuse_domain::check::CaseContext::default(),
    };
    let check = Uuid::now_v7();
    let report = json!({ "input": input, "rules": VerdictRules::default(), "layers": [] });
    sqlx::query("insert into checks (id, case_id, run_at, result, report, confirmed_at) values ($1, $2, $3, 'needs_offset', $4, $3)")
        .bind(check)
        .bind(case)
        .bind(now())
        .bind(report)
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        offsets::needs_from_check(&mut conn, case, mu(10.0))
            .await
            .unwrap()
            .1,
        needs(2500.0, 1700.0, 10.0)
    );
    sqlx::query(
        "insert into check_hits (id, check_id, layer_kind, hit_index, overlap_m2, dismissed_at, dismiss_reason)
         values ($1, $2, 'cultivated_land', 2, 500, $3, 'survey shows a road')",
    )
    .bind(Uuid::now_v7())
    .bind(check)
    .bind(now())
    .execute(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        offsets::needs_from_check(&mut conn, case, mu(10.0))
            .await
            .unwrap()
            .1,
        needs(2000.0, 1200.0, 10.0),
        "the dismissed 500 m² of paddy no longer needs an offset"
    );
    sqlx::query("update checks set stale = true where id = $1")
        .bind(check)
        .execute(&mut *conn)
        .await
        .unwrap();
    assert!(matches!(
        offsets::needs_from_check(&mut conn, case, mu(10.0)).await,
        Err(LedgerError::CheckNotConfirmed("stale"))
    ));
}
