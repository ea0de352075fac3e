//! Row-level security, the second wall between counties (migration 0010): every table that
//! holds a county's rows has a policy; the service's role (`landuse_app`) owns none of them and
//! cannot bypass it; a transaction sees and may write only the counties it names, nothing when
//! it names none, and everything with `*` (the city-wide roles and the timers).
//!
//! The handlers' own filters are the first wall; the rest of the suite runs every request as
//! `landuse_app`, so a handler that forgot to set its scope would find no rows and fail there.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::{collections::BTreeSet, sync::Arc};

use landuse_api::{
    db::{self, Scope},
    demo::{generate::generate, load::load, Sizes},
    timers::{sweep::sweep_once, TimerSettings},
};
use sqlx::PgPool;

/// The tables whose rows belong to one county, directly or through their case, project, check,
/// indicator, alert or overlay query.
const COUNTY_TABLES: [&str; 27] = [
    "advance_use_requests",
    "projects",
    "project_events",
    "start_rate_freezes",
    "cases",
    "case_pauses",
    "case_events",
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
    "offset_needs",
    "project_start_records",
    "alerts",
    "alert_deliveries",
    "alert_corrections",
    "dispatch_rows",
    "supply_parts",
];

/// Columns that tie a row to a county or to something a county owns.
const OWNING_COLUMNS: [&str; 9] = [
    "county_code",
    "case_id",
    "project_id",
    "check_id",
    "alert_id",
    "indicator_id",
    "holder",
    "supply_part_id",
    "query_id",
];

fn county_tables() -> BTreeSet<String> {
    COUNTY_TABLES.iter().map(|t| (*t).to_owned()).collect()
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_table_a_county_owns_has_a_policy_the_app_role_cannot_bypass(pool: PgPool) {
    // Any table with a column tying it to a county: a table added later without a policy
    // fails here.
    let owned: Vec<String> = sqlx::query_scalar(
        "select distinct c.relname::text from pg_attribute a
           join pg_class c on c.oid = a.attrelid
           join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
            and a.attname = any($1)
            -- which counties a user serves: read to authenticate, before there is a scope
            and c.relname <> 'user_counties'
          order by 1",
    )
    .bind(OWNING_COLUMNS.map(str::to_owned).to_vec())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(owned.into_iter().collect::<BTreeSet<_>>(), county_tables());

    for table in county_tables() {
        let (secured, forced, owner): (bool, bool, String) = sqlx::query_as(
            "select relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner)::text
               from pg_class where relname = $1 and relnamespace = 'public'::regnamespace",
        )
        .bind(&table)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(secured, "{table} has row-level security enabled");
        assert!(
            !forced,
            "{table}: the owner (migrations, operator's CLI) is not confined"
        );
        assert_ne!(
            owner,
            common::APP_ROLE,
            "{table} is not owned by the service's role"
        );
        let policies: i64 = sqlx::query_scalar("select count(*) from pg_policies where tablename = $1")
            .bind(&table)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(policies, 1, "{table} has its county policy");
    }
    // A view runs with its owner's rights unless it says otherwise, which would read past
    // every policy: each view must read with the caller's.
    let owner_rights: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c
          where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm')
            and not coalesce('security_invoker=true' = any(c.reloptions), false)
            -- PostGIS's own catalogue views (geometry_columns…) hold no county's rows
            and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
          order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        owner_rights.is_empty(),
        "views that would read past row-level security: {owner_rights:?}"
    );
    let (bypass, superuser): (bool, bool) =
        sqlx::query_as("select rolbypassrls, rolsuper from pg_roles where rolname = $1")
            .bind(common::APP_ROLE)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        !bypass && !superuser,
        "landuse_app may not bypass row-level security"
    );
    let settings: Vec<String> = sqlx::query_scalar(
        "select unnest(s.setconfig) from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
          where r.rolname = $1 and s.setdatabase = 0",
    )
    .bind(common::APP_ROLE)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        settings.iter().any(|s| s.starts_with("statement_timeout=")),
        "a login as landuse_app has a statement timeout: {settings:?}"
    );
}

/// Rows of `table` the app role sees under `scope` (`None`: a transaction that set nothing).
async fn visible(app: &PgPool, table: &str, scope: Option<&Scope>) -> i64 {
    let mut tx = match scope {
        Some(scope) => db::begin_scoped(app, scope).await.unwrap(),
        None => app.begin().await.unwrap(),
    };
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

async fn owner_count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

fn counties(codes: &[&str]) -> Scope {
    Scope::Counties(codes.iter().map(|c| (*c).to_owned()).collect())
}

/// Loads the small demo region (every stage, quotas, offsets, checks) and sweeps it as the
/// service's role with a webhook configured, so alerts, deliveries and a dispatch snapshot
/// exist too.
async fn demo_region(pool: &PgPool, app: &PgPool) {
    let dir = std::env::temp_dir().join(format!(
        "landuse-rls-test-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7()
    ));
    generate(5, &Sizes::small(), &dir).unwrap();
    let config = Arc::new(common::test_config("postgres://unused/none"));
    load(pool, config, &dir).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let settings =
        TimerSettings::from_args(&common::timer_args(&["http://127.0.0.1:9/alerts".to_owned()])).unwrap();
    // The demo records no project starts: one per county, written as the owner.
    sqlx::query(
        "insert into project_start_records (project_id, started_on, recorded_at)
         select distinct on (county_code) id, date '2026-03-02', now() from projects order by county_code, id",
    )
    .execute(pool)
    .await
    .unwrap();
    // The demo supplies land in a few counties only: one part more in each other county with an
    // approved case, its first parcel, written as the owner. Only cases the demo left unsupplied
    // are taken, so the part overlaps none of the demo's and its number is the case's first.
    let demo_parts = owner_count(pool, "select count(*) from supply_parts").await;
    assert!(demo_parts > 0, "the demo records supply parts");
    sqlx::query(
        "insert into supply_parts (id, case_id, seq, method, document_number, decided_on, geom, area_m2,
                                   area_mu, source, industrial, agreed_handover_on, agreed_start_on,
                                   agreed_completion_on, recorded_at, updated_at)
         select distinct on (c.county_code) gen_random_uuid(), c.id, 1, 'allocation', '划拨决定书',
                date '2026-01-05', p.geom, p.area_m2, greatest(round((p.area_m2 / (2000.0 / 3))::numeric, 2), 0.01),
                'import', false, date '2026-02-01', date '2026-03-01', date '2027-03-01', now(), now()
           from cases c join parcels p on p.case_id = c.id
          where c.stage in ('supply', 'registration', 'completed')
            and not exists (select 1 from supply_parts s join cases o on o.id = s.case_id
                             where o.county_code = c.county_code)
          order by c.county_code, c.id, p.seq",
    )
    .execute(pool)
    .await
    .unwrap();
    // Advance use: one pending request per county, over its first project's first case's first
    // parcel, written as the owner (the demo's projects may ask for none).
    sqlx::query(
        "insert into advance_use_requests (id, project_id, geom, area_m2, source, parcel_count,
                                           controls_schedule, reason, requested_by, requested_role,
                                           requested_at)
         select distinct on (c.county_code) gen_random_uuid(), c.project_id, st_multi(p.geom), p.area_m2,
                'geojson', 1, true, '控制性工程先行施工', u.id, 'officer', now()
           from cases c join parcels p on p.case_id = c.id
                cross join lateral (select id from users order by id limit 1) u
          order by c.county_code, c.project_id, c.id, p.seq",
    )
    .execute(pool)
    .await
    .unwrap();
    // The sweeper runs as the service's role, city-wide: it must see every county.
    let report = sweep_once(app, chrono::Utc::now(), &settings).await.unwrap();
    assert!(!report.skipped, "{report:?}");
    // A calendar year moves deadlines only when they reach into it; the demo's may not: one
    // correction per county's first alert, written as the owner.
    sqlx::query(
        "insert into alert_corrections (alert_id, corrected_at, due_at, withdrawn, reason)
         select distinct on (county_code) id, now(), due_at, false, 'calendar year 2027 loaded'
           from alerts order by county_code, id",
    )
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_transaction_sees_and_writes_only_the_counties_it_names(pool: PgPool) {
    let app = common::app_pool(&pool);
    demo_region(&pool, &app).await;

    let all_counties: Vec<String> = sqlx::query_scalar("select code from counties order by code")
        .fetch_all(&pool)
        .await
        .unwrap();
    let busiest: Vec<String> =
        sqlx::query_scalar("select county_code from cases group by 1 order by count(*) desc, 1 limit 2")
            .fetch_all(&pool)
            .await
            .unwrap();
    let (a, b) = (busiest[0].as_str(), busiest[1].as_str());

    for table in county_tables() {
        let total = owner_count(&pool, &format!("select count(*) from {table}")).await;
        assert!(total > 0, "the demo region and the sweep left rows in {table}");
        // The city's own pool account (and its ledger) belongs to no county.
        let city = match table.as_str() {
            "quota_accounts" | "quota_movements" => {
                owner_count(
                    &pool,
                    &format!("select count(*) from {table} where holder = 'pool'"),
                )
                .await
            }
            _ => 0,
        };

        assert_eq!(visible(&app, &table, None).await, 0, "{table}: no scope, no rows");
        assert_eq!(
            visible(&app, &table, Some(&counties(&[]))).await,
            0,
            "{table}: no counties"
        );
        assert_eq!(
            visible(&app, &table, Some(&Scope::All)).await,
            total,
            "{table}: city-wide"
        );

        // Each county sees a part; the parts add up to every row but the city's.
        let mut parts = Vec::new();
        for county in &all_counties {
            parts.push((
                visible(&app, &table, Some(&counties(&[county]))).await,
                county.as_str(),
            ));
        }
        let sum: i64 = parts.iter().map(|(n, _)| n).sum();
        assert_eq!(
            sum + city,
            total,
            "{table}: every county row is seen by exactly its county"
        );
        parts.sort_unstable_by(|x, y| y.cmp(x));
        let [(first, x), (second, y), ..] = parts[..] else {
            unreachable!("the region has ten counties")
        };
        if second > 0 {
            assert!(first < total, "{table}: {x} does not see {y}'s rows");
        }
        assert_eq!(
            visible(&app, &table, Some(&counties(&[x, y]))).await,
            first + second,
            "{table}: two counties see both their parts"
        );
    }

    // A view reads its tables with the caller's rights, so it is scoped as they are: the
    // latest checks a county sees are exactly the latest checks of its own cases.
    let latest_of_a = owner_count(
        &pool,
        &format!(
            "select count(*) from latest_checks l join cases c on c.id = l.case_id where c.county_code = '{a}'"
        ),
    )
    .await;
    assert!(latest_of_a > 0, "the demo region checked some of {a}'s cases");
    assert_eq!(
        visible(&app, "latest_checks", Some(&counties(&[a]))).await,
        latest_of_a
    );
    assert_eq!(visible(&app, "latest_checks", None).await, 0);

    // Every row a county sees is its own.
    let mut tx = db::begin_scoped(&app, &counties(&[a])).await.unwrap();
    let foreign: i64 = sqlx::query_scalar(
        "select (select count(*) from cases where county_code <> $1)
              + (select count(*) from parcels p join cases c on c.id = p.case_id where c.county_code <> $1)
              + (select count(*) from check_hits h join checks k on k.id = h.check_id
                   join cases c on c.id = k.case_id where c.county_code <> $1)",
    )
    .bind(a)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(foreign, 0);

    // Writes: another county's rows cannot be reached, and no row can be written into it.
    let before = owner_count(
        &pool,
        "select hashtext(string_agg(c::text, '|' order by c.id))::bigint from cases c",
    )
    .await;
    let touched = sqlx::query("update cases set title = 'hijacked' where county_code = $1")
        .bind(b)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(touched, 0, "an update cannot reach another county's cases");
    let deleted =
        sqlx::query("delete from parcels where case_id in (select id from cases where county_code = $1)")
            .bind(b)
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
    assert_eq!(deleted, 0, "nor delete its parcels");
    tx.commit().await.unwrap();

    let insert_project = sqlx::query(
        "insert into projects (id, name, county_code, level, category, year)
         values ($1, '越权项目', $2, 'county', 'industry', 2026)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(b);
    assert_refused(&app, a, insert_project).await;

    let other_case: uuid::Uuid = sqlx::query_scalar("select id from cases where county_code = $1 limit 1")
        .bind(b)
        .fetch_one(&pool)
        .await
        .unwrap();
    let insert_event = sqlx::query(
        "insert into case_events (case_id, at, actor_role, kind) values ($1, now(), 'officer', 'note')",
    )
    .bind(other_case);
    assert_refused(&app, a, insert_event).await;

    // A row of its own county may not be moved into another one either.
    let move_project = sqlx::query(
        "update projects set county_code = $2 where id = (select id from projects where county_code = $1 limit 1)",
    )
    .bind(a)
    .bind(b);
    assert_refused(&app, a, move_project).await;

    let after = owner_count(
        &pool,
        "select hashtext(string_agg(c::text, '|' order by c.id))::bigint from cases c",
    )
    .await;
    assert_eq!(before, after, "nothing changed");
}

/// Runs `write` as the app role in a transaction scoped to `county` and expects row-level
/// security to refuse it (the transaction then rolls back).
async fn assert_refused(
    app: &PgPool,
    county: &str,
    write: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) {
    let mut tx = db::begin_scoped(app, &counties(&[county])).await.unwrap();
    let error = write.execute(&mut *tx).await.unwrap_err();
    let sqlx::Error::Database(db) = &error else {
        panic!("expected a database refusal, got {error}");
    };
    assert_eq!(db.code().as_deref(), Some("42501"), "{db}");
    assert!(db.message().contains("row-level security"), "{db}");
}
