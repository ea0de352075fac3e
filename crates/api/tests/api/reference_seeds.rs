//! The reference data `landuse seed` loads beside counties, calendar and time limits: the land
//! classes, the layer kinds with the result an overlap gives, and the verdict rules.
#![allow(clippy::unwrap_used)]

use landuse_api::admin;
use landuse_domain::{
    check::{self, CaseContext, Dlbm, Hit, LayerFigures, LayerKind, VerdictRules},
    units::SquareMetres,
};
use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn seeding_twice_loads_the_land_classes_once_with_exactly_three_cultivated(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let first = admin::seed(&mut conn).await.unwrap();
    let second = admin::seed(&mut conn).await.unwrap();
    assert_eq!((first.land_classes, first.layer_kinds), (32, 14));
    assert!(
        first.verdict_rules && !second.verdict_rules,
        "rules are kept once set"
    );
    assert_eq!(second.land_classes, first.land_classes);
    let cultivated: Vec<(String, String)> =
        sqlx::query_as("select code, name_zh from land_classes where cultivated order by code")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(
        cultivated,
        [
            ("0101".to_owned(), "水田".to_owned()),
            ("0102".to_owned(), "水浇地".to_owned()),
            ("0103".to_owned(), "旱地".to_owned())
        ]
    );
    let total: i64 = sqlx::query_scalar("select count(*) from land_classes")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(total, 32);
    let orchard: (String, String) =
        sqlx::query_as("select name_zh, category from land_classes where code = '0201'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(orchard, ("果园".to_owned(), "种植园用地".to_owned()));
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_seeded_layer_kind_states_the_result_the_domain_gives_an_overlap(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    admin::seed(&mut conn).await.unwrap();
    let rows: Vec<(String, String, Vec<String>)> =
        sqlx::query_as("select code, overlap_result, common_layer_names from layer_kinds order by code")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(rows.len(), LayerKind::ALL.len());
    let area = SquareMetres::new(1000.0).unwrap();
    for (code, stated, _) in &rows {
        let kind = LayerKind::parse(code).unwrap();
        let figures = LayerFigures {
            kind,
            checked: true,
            hits: vec![Hit {
                feature_id: "1".to_owned(),
                parcel_area: area,
                overlap: SquareMetres::new(500.0).unwrap(),
                dismissed: false,
                dlbm: Some(Dlbm::Dry),
            }],
        };
        let verdict =
            check::layer_verdict(&figures, area, &CaseContext::default(), &VerdictRules::default()).unwrap();
        assert_eq!(verdict.result.code(), stated, "layer kind {code}");
    }
    let farmland = rows.iter().find(|r| r.0 == "permanent_farmland").unwrap();
    assert_eq!(farmland.2, ["YJJBNTBHTB", "YJJBNTTB"]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_verdict_rules_are_read_from_the_seeded_setting_and_an_admin_change_is_seen(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(
        admin::load_verdict_rules(&mut conn).await.unwrap(),
        VerdictRules::default(),
        "before seeding: the defaults"
    );
    admin::seed(&mut conn).await.unwrap();
    assert_eq!(
        admin::load_verdict_rules(&mut conn).await.unwrap(),
        VerdictRules::default()
    );
    sqlx::query(
        "update settings set value = jsonb_set(value, '{geohazard_buffer_m}', '350') where key = 'verdict_rules'",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    admin::seed(&mut conn).await.unwrap();
    let rules = admin::load_verdict_rules(&mut conn).await.unwrap();
    assert!(
        (rules.geohazard_buffer_m() - 350.0).abs() < f64::EPSILON,
        "a second seed keeps the admin's rules"
    );
    sqlx::query("update settings set value = '{\"geohazard_buffer_m\": -1}' where key = 'verdict_rules'")
        .execute(&mut *conn)
        .await
        .unwrap();
    let refused = admin::load_verdict_rules(&mut conn).await.unwrap_err();
    assert!(refused.to_string().contains("buffer"), "{refused}");
}
