//! Land supply after approval (issue 19): supplied parts of an approved case refused outside the
//! approval or over an earlier part with their areas, the handover, certificate, start and
//! completion in order, the role, county scope, If-Match and Idempotency-Key of each write.
//!
//! The fixture: an approval of 100 mu (a lon/lat rectangle whose ellipsoidal area is
//! scaled to 66,666.67 m²), part A its western 30%, part B the strip from 25% to 50% (25 mu,
//! 5 mu of it over A), part C 10 mu east of the approval. Areas of lon/lat strips over the same
//! latitudes are proportional to their widths on the ellipsoid, so the figures are exact.

use geo_types::{polygon, MultiPolygon};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::common::{case_in, TestApp};

const SOUTH: f64 = 32.70;
const NORTH: f64 = 32.702;
const WEST: f64 = 109.0;

fn rect(west: f64, east: f64) -> MultiPolygon {
    MultiPolygon::from(polygon![
        (x: west, y: SOUTH), (x: east, y: SOUTH), (x: east, y: NORTH), (x: west, y: NORTH)
    ])
}

/// The width in degrees of longitude of the 100-mu approval.
pub fn approval_width() -> f64 {
    let probe = 0.001;
    let area = landuse_spatial::area::ellipsoidal_area(&rect(WEST, WEST + probe));
    probe * (100.0 * 2000.0 / 3.0) / area
}

/// The strip from `from` to `to`, as fractions of the approval's width from its west edge.
pub fn strip(from: f64, to: f64) -> MultiPolygon {
    let w = approval_width();
    rect(WEST + from * w, WEST + to * w)
}

/// A geometry as GeoJSON.
pub fn geojson(mp: &MultiPolygon) -> Value {
    serde_json::to_value(landuse_spatial::geojson_out::multi_polygon(mp)).unwrap()
}

/// Opens a case in `county` with `parcels` and makes its conversion approved on `approved_on`
/// (at noon, the bureau's time), as the workflow leaves an approved case: in the supply stage,
/// with the approval's number and the event of the transition from conversion to supply. Done
/// in SQL as the database's owner, like a record imported from an older system.
pub async fn approved_case(app: &TestApp, county: &str, approved_on: &str, parcels: &[MultiPolygon]) -> Uuid {
    let officer = if county == "610902" { "officer" } else { "officer2" };
    let case = case_in(app, officer, county).await;
    for (seq, parcel) in (1..).zip(parcels) {
        sqlx::query(
            "insert into parcels (id, case_id, seq, geom, area_m2, source)
             values (gen_random_uuid(), $1, $2, st_multi(st_setsrid(st_geomfromgeojson($3), 4490)), $4, 'geojson')",
        )
        .bind(case)
        .bind(seq)
        .bind(geojson(parcel).to_string())
        .bind(landuse_spatial::area::ellipsoidal_area(parcel))
        .execute(&app.db)
        .await
        .unwrap();
    }
    sqlx::query(
        "update cases set stage = 'supply', facts = jsonb_build_object('conversion_approval', '陕政土批〔' || $2 || '〕7号')
          where id = $1",
    )
    .bind(case)
    .bind(&approved_on[..4])
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into case_events (case_id, at, actor_role, kind, from_stage, to_stage)
         values ($1, ($2::date + time '12:00') at time zone 'Asia/Shanghai', 'reviewer', 'approve', 'conversion', 'supply')",
    )
    .bind(case)
    .bind(approved_on)
    .execute(&app.db)
    .await
    .unwrap();
    case
}

/// A supply part's body with `geometry`, decided 2025-03-01.
pub fn part_body(geometry: &MultiPolygon) -> Value {
    json!({
        "method": "transfer_listing",
        "document_number": "安出让〔2025〕12号",
        "decided_on": "2025-03-01",
        "price_wan_yuan": 1200.0,
        "industrial": true,
        "agreed_handover_on": "2025-04-01",
        "agreed_start_on": "2025-06-01",
        "agreed_completion_on": "2026-12-31",
        "agreed_investment_wan_yuan": 9000.0,
        "agreed_indicators": {
            "investment_intensity": { "value": 300.0, "unit": "万元/亩" },
            "floor_area_ratio": { "value": 1.2, "unit": "1" },
            "tax_per_mu": { "value": 20.0, "unit": "万元/亩·年" },
            "energy_per_output": { "value": 0.045, "unit": "tce/万元" },
            "land_use_standard_met": true
        },
        "geometry": geojson(geometry)
    })
}

async fn parts_stored(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from supply_parts")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn record(app: &TestApp, case: Uuid, body: Value) -> crate::common::Answer {
    app.send(
        "POST",
        &format!("/api/v1/cases/{case}/supply-parts"),
        "reviewer",
        Some(body),
        &[],
    )
    .await
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_part_over_an_earlier_part_or_outside_the_approval_is_refused_with_its_area(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = approved_case(&app, "610902", "2025-01-10", &[strip(0.0, 1.0)]).await;

    let a = record(&app, case, part_body(&strip(0.0, 0.3))).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json["area_mu"], 30.0);
    assert_eq!(a.json["seq"], 1);
    assert_eq!(
        a.json["agreed_indicators"]["energy_per_output"], 45.0,
        "0.045 tce/万元 is 45 kgce/万元"
    );
    assert!(a.etag().starts_with('"'));

    let b = record(&app, case, part_body(&strip(0.25, 0.5))).await;
    assert_eq!(b.status, 409, "{}", b.text);
    assert_eq!(b.headers["content-type"], "application/problem+json");
    let detail = b.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("3333.33 m²") && detail.contains("(5.00 mu)"),
        "{detail}"
    );
    assert!(detail.contains("part 1"), "{detail}");

    let c = record(&app, case, part_body(&strip(1.0, 1.1))).await;
    assert_eq!(c.status, 422, "{}", c.text);
    let detail = c.json["detail"].as_str().unwrap();
    assert!(
        detail.contains("6666.67 m²") && detail.contains("(10.00 mu)"),
        "{detail}"
    );
    assert_eq!(c.json["field"], "geometry", "{}", c.text);
    assert_eq!(
        parts_stored(&pool).await,
        1,
        "nothing stored for the refused parts"
    );

    // Beside the first part, touching it along an edge: accepted.
    let beside = record(&app, case, part_body(&strip(0.3, 0.55))).await;
    assert_eq!(beside.status, 201, "{}", beside.text);
    assert_eq!(beside.json["area_mu"], 25.0);
    assert_eq!(beside.json["seq"], 2);
    let list = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/supply-parts"),
            "officer",
            None,
            &[],
        )
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json.as_array().unwrap().len(), 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_coordinate_file_is_accepted_as_the_supplied_geometry(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = approved_case(&app, "610902", "2025-01-10", &[strip(0.0, 1.0)]).await;
    let part = strip(0.1, 0.4);
    let zone = landuse_spatial::crs::GkZone::for_longitude(WEST).unwrap();
    let file = landuse_spatial::coordfile::CoordFile::from_lonlat(
        zone,
        &[(landuse_spatial::coordfile::ParcelAttributes::default(), part)],
    )
    .unwrap();
    let mut body = part_body(&strip(0.0, 0.1));
    body.as_object_mut().unwrap().remove("geometry");
    body["coordinate_file"] = json!(file.to_standard_text());
    let answer = record(&app, case, body).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.json["source"], "coordinate_file");
    let mu = answer.json["area_mu"].as_f64().unwrap();
    assert!((mu - 30.0).abs() <= 0.02, "{mu}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn only_a_reviewer_records_supply_and_only_for_an_approved_case_it_may_see(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = approved_case(&app, "610902", "2025-01-10", &[strip(0.0, 1.0)]).await;
    let body = part_body(&strip(0.0, 0.3));
    for who in ["officer", "planner", "leader", "gis"] {
        let answer = app
            .send(
                "POST",
                &format!("/api/v1/cases/{case}/supply-parts"),
                who,
                Some(body.clone()),
                &[],
            )
            .await;
        assert_eq!(answer.status, 403, "{who}: {}", answer.text);
    }
    let draft = case_in(&app, "officer", "610902").await;
    let answer = record(&app, draft, body.clone()).await;
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(
        answer.json["type"].as_str().unwrap().rsplit('/').next(),
        Some("case-not-approved")
    );
    assert_eq!(parts_stored(&pool).await, 0);

    let part = record(&app, case, body).await;
    assert_eq!(part.status, 201, "{}", part.text);
    let id = part.json["id"].as_str().unwrap();
    let other_county = app
        .send(
            "GET",
            &format!("/api/v1/supply-parts/{id}"),
            "officer2",
            None,
            &[],
        )
        .await;
    assert_eq!(other_county.status, 404, "{}", other_county.text);
    let own = app
        .send("GET", &format!("/api/v1/supply-parts/{id}"), "officer", None, &[])
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.etag(), part.etag());
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_retried_request_records_one_part(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = approved_case(&app, "610902", "2025-01-10", &[strip(0.0, 1.0)]).await;
    let path = format!("/api/v1/cases/{case}/supply-parts");
    let key = [("idempotency-key", "supply-a")];
    let first = app
        .send("POST", &path, "reviewer", Some(part_body(&strip(0.0, 0.3))), &key)
        .await;
    let again = app
        .send("POST", &path, "reviewer", Some(part_body(&strip(0.0, 0.3))), &key)
        .await;
    assert_eq!((first.status, again.status), (201, 201), "{}", again.text);
    assert_eq!(first.json["id"], again.json["id"]);
    assert_eq!(parts_stored(&pool).await, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn bad_records_are_refused_naming_the_field_and_store_nothing(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = approved_case(&app, "610902", "2025-01-10", &[strip(0.0, 1.0)]).await;
    let cases = [
        ("agreed_handover_on", json!("2025-02-28")),
        ("agreed_start_on", json!("2025-03-31")),
        ("agreed_completion_on", json!("2025-05-31")),
        ("decided_on", json!("2099-01-01")),
        ("document_number", json!("  ")),
    ];
    for (field, value) in cases {
        let mut body = part_body(&strip(0.0, 0.3));
        body[field] = value;
        if field == "decided_on" {
            body["agreed_handover_on"] = json!("2099-02-01");
            body["agreed_start_on"] = json!("2099-03-01");
            body["agreed_completion_on"] = json!("2099-04-01");
        }
        let answer = record(&app, case, body).await;
        assert_eq!(answer.status, 422, "{field}: {}", answer.text);
        assert_eq!(answer.json["field"], field, "{}", answer.text);
    }
    let mut wrong_unit = part_body(&strip(0.0, 0.3));
    wrong_unit["agreed_indicators"]["investment_intensity"]["unit"] = json!("元/平方米");
    let answer = record(&app, case, wrong_unit).await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    // The document lists each indicator's units, so a wrong one is refused as the body is read,
    // naming the unit and the one accepted.
    assert_eq!(
        answer.json["field"],
        "agreed_indicators.investment_intensity.unit"
    );
    assert!(answer.text.contains("万元/亩"), "{}", answer.text);
    let mut negative = part_body(&strip(0.0, 0.3));
    negative["agreed_indicators"]["tax_per_mu"]["value"] = json!(-1.0);
    let answer = record(&app, case, negative).await;
    assert_eq!(
        answer.json["field"], "agreed_indicators.tax_per_mu",
        "{}",
        answer.text
    );
    let mut not_industrial = part_body(&strip(0.0, 0.3));
    not_industrial["industrial"] = json!(false);
    let answer = record(&app, case, not_industrial).await;
    assert_eq!(answer.json["field"], "agreed_indicators", "{}", answer.text);
    // Land is supplied only once approved: a decision dated the day before the approval is
    // refused, one dated the day of it is not.
    let mut before_approval = part_body(&strip(0.0, 0.3));
    before_approval["decided_on"] = json!("2025-01-09");
    before_approval["agreed_handover_on"] = json!("2025-01-20");
    let answer = record(&app, case, before_approval.clone()).await;
    assert_eq!(
        (answer.status, answer.json["field"].as_str()),
        (422, Some("decided_on")),
        "{}",
        answer.text
    );
    assert!(
        answer.text.contains("before approved_on (2025-01-10)"),
        "{}",
        answer.text
    );
    assert_eq!(parts_stored(&pool).await, 0);
    before_approval["decided_on"] = json!("2025-01-10");
    let answer = record(&app, case, before_approval).await;
    assert_eq!(
        answer.status, 201,
        "the day of the approval is accepted: {}",
        answer.text
    );
    assert_eq!(parts_stored(&pool).await, 1);
}

/// The stored development columns of a part, to compare before and after a refusal.
async fn development(pool: &PgPool, id: &str) -> Value {
    sqlx::query_scalar("select to_jsonb(p) - 'geom' - 'idle_status' from supply_parts p where id = $1::uuid")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn handover_certificate_start_and_completion_are_recorded_in_order_under_if_match(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = approved_case(&app, "610902", "2025-01-10", &[strip(0.0, 1.0)]).await;
    let part = record(&app, case, part_body(&strip(0.0, 0.3))).await;
    let id = part.json["id"].as_str().unwrap().to_owned();
    let mut etag = part.etag();
    let send = |path: &str, body: Value, etag: String| {
        let path = format!("/api/v1/supply-parts/{id}/{path}");
        let app = &app;
        async move {
            app.send(
                "POST",
                &path,
                "reviewer",
                Some(body),
                &[("if-match", etag.as_str())],
            )
            .await
        }
    };

    // A certificate or a start before any handover: 422 naming the field, nothing stored.
    let before = development(&pool, &id).await;
    let refused = send(
        "certificate",
        json!({ "number": "0001", "issued_on": "2025-04-01" }),
        etag.clone(),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.json["field"], "certificate");
    let refused = send("start", json!({ "started_on": "2025-05-01" }), etag.clone()).await;
    assert_eq!(refused.json["field"], "started_on", "{}", refused.text);
    let refused = send(
        "handover",
        json!({ "handed_over_on": "2025-02-01" }),
        etag.clone(),
    )
    .await;
    assert_eq!(
        refused.json["field"], "handed_over_on",
        "before the supply: {}",
        refused.text
    );
    assert_eq!(development(&pool, &id).await, before);

    // Without If-Match 428, with an old one 412.
    let app_ref = &app;
    let no_match = app_ref
        .send(
            "POST",
            &format!("/api/v1/supply-parts/{id}/handover"),
            "reviewer",
            Some(json!({ "handed_over_on": "2025-04-01" })),
            &[],
        )
        .await;
    assert_eq!(no_match.status, 428, "{}", no_match.text);
    let stale = send(
        "handover",
        json!({ "handed_over_on": "2025-04-01" }),
        "\"v0\"".to_owned(),
    )
    .await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    // A blank certificate number is what the schema refuses (`pattern`): 422 naming it, before
    // the precondition is looked at.
    let blank = send(
        "certificate",
        json!({ "number": "  ", "issued_on": "2025-04-01" }),
        "\"v0\"".to_owned(),
    )
    .await;
    assert_eq!(
        (blank.status, blank.json["field"].as_str()),
        (422, Some("certificate.number")),
        "{}",
        blank.text
    );
    let officer = app_ref
        .send(
            "POST",
            &format!("/api/v1/supply-parts/{id}/handover"),
            "officer",
            Some(json!({ "handed_over_on": "2025-04-01" })),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(officer.status, 403, "{}", officer.text);
    assert_eq!(development(&pool, &id).await, before);

    let handover = send(
        "handover",
        json!({ "handed_over_on": "2025-04-01" }),
        etag.clone(),
    )
    .await;
    assert_eq!(handover.status, 200, "{}", handover.text);
    assert_eq!(handover.json["handed_over_on"], "2025-04-01");
    assert_ne!(handover.etag(), etag);
    etag = handover.etag();

    let certificate = send(
        "certificate",
        json!({ "number": "陕(2025)安康市不动产权第0001号", "issued_on": "2025-04-01" }),
        etag.clone(),
    )
    .await;
    assert_eq!(certificate.status, 200, "{}", certificate.text);
    assert_eq!(certificate.json["certificate"]["issued_on"], "2025-04-01");
    etag = certificate.etag();

    let early = send("start", json!({ "started_on": "2025-03-31" }), etag.clone()).await;
    assert_eq!(early.status, 422, "{}", early.text);
    assert_eq!(early.json["field"], "started_on");
    let overdeveloped = send(
        "start",
        json!({ "started_on": "2025-05-20", "developed_mu": 30.01 }),
        etag.clone(),
    )
    .await;
    assert_eq!(
        overdeveloped.json["field"], "developed_mu",
        "{}",
        overdeveloped.text
    );
    let start = send(
        "start",
        json!({ "started_on": "2025-05-20", "developed_mu": 12.5, "invested_wan_yuan": 3000.0 }),
        etag.clone(),
    )
    .await;
    assert_eq!(start.status, 200, "{}", start.text);
    assert_eq!(start.json["developed_mu"], 12.5);
    etag = start.etag();

    let mut achieved = part_body(&strip(0.0, 0.3))["agreed_indicators"].clone();
    achieved["energy_per_output"] = json!({ "value": 50.0, "unit": "kgce/万元" });
    let completion = send(
        "completion",
        json!({ "completed_on": "2026-06-30", "achieved_indicators": achieved }),
        etag.clone(),
    )
    .await;
    assert_eq!(completion.status, 200, "{}", completion.text);
    assert_eq!(completion.json["achieved_indicators"]["energy_per_output"], 50.0);
    assert_eq!(completion.json["completed_on"], "2026-06-30");

    let history = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/history"),
            "reviewer",
            None,
            &[],
        )
        .await;
    let kinds: Vec<&str> = history
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in [
        "supply_part_recorded",
        "supply_handed_over",
        "supply_certificate_issued",
        "supply_started",
        "supply_completed",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

/// Stores a part directly, as a record imported from an older system (nothing refuses an
/// overlap or land outside the approval there): industrial, 万元 9000 agreed, priced 1200 万元,
/// decided 30 days before `agreed_start`, handed over as agreed the day before it; `then` is
/// SQL run on it afterwards (`update supply_parts set … where id = $1`).
pub async fn import_part(
    pool: &PgPool,
    case: Uuid,
    geometry: &MultiPolygon,
    agreed_start: &str,
    then: Option<&str>,
) -> Uuid {
    let id = Uuid::now_v7();
    let area = landuse_spatial::area::ellipsoidal_area(geometry);
    sqlx::query(
        "insert into supply_parts (id, case_id, seq, method, document_number, decided_on, price_wan_yuan, geom,
                                   area_m2, area_mu, source, industrial, agreed_handover_on, agreed_start_on,
                                   agreed_completion_on, agreed_investment_wan_yuan, handed_over_on,
                                   recorded_at, updated_at)
         values ($1, $2, (select coalesce(max(seq), 0) + 1 from supply_parts where case_id = $2), 'transfer_listing',
                 '旧系统导入', $4::date - 30, 1200, st_multi(st_setsrid(st_geomfromgeojson($3), 4490)), $5,
                 round(($5 / (2000.0 / 3))::numeric, 2), 'import', true, $4::date - 1, $4::date, $4::date + 700,
                 9000, $4::date - 1, now(), now())",
    )
    .bind(id)
    .bind(case)
    .bind(geojson(geometry).to_string())
    .bind(agreed_start)
    .bind(area)
    .execute(pool)
    .await
    .unwrap();
    if let Some(sql) = then {
        sqlx::query(sql).bind(id).execute(pool).await.unwrap();
    }
    id
}

async fn report(app: &TestApp, path: &str) -> Value {
    let answer = app.send("GET", path, "reviewer", None, &[]).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    answer.json
}

/// The cells of one sheet of an .xlsx answer, read by calamine.
pub async fn xlsx_sheet(app: &TestApp, path: &str, sheet: &str) -> Vec<Vec<calamine::Data>> {
    use calamine::Reader;
    let bytes = app.get_bytes(path, "reviewer").await;
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = workbook.worksheet_range(sheet).unwrap();
    range.rows().map(<[calamine::Data]>::to_vec).collect()
}

fn number(cell: &calamine::Data) -> f64 {
    match cell {
        calamine::Data::Float(f) => *f,
        calamine::Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

fn text(cell: &calamine::Data) -> String {
    match cell {
        calamine::Data::String(s) => s.clone(),
        calamine::Data::Empty => String::new(),
        other => other.to_string(),
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn imported_parts_that_overlap_or_reach_outside_count_once_and_only_inside_exactly_fifty_percent(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    let case = approved_case(&app, "610902", "2025-01-10", &[strip(0.0, 1.0)]).await;
    import_part(&pool, case, &strip(0.0, 0.3), "2025-06-01", None).await;
    import_part(&pool, case, &strip(0.25, 0.5), "2025-06-01", None).await;
    import_part(&pool, case, &strip(1.0, 1.1), "2025-06-01", None).await;

    let path = "/api/v1/reports/land-supply?as_of=2026-06-01";
    let json = report(&app, path).await;
    let batch = &json["batches"][0];
    assert_eq!(batch["approved_mu"], 100.0, "{json}");
    assert_eq!(
        batch["supplied_mu"], 50.0,
        "30 + 25 − 5, the 10 outside not at all: {json}"
    );
    assert_eq!(batch["unsupplied_mu"], 50.0);
    assert_eq!(batch["supply_percent"], 50.0, "not 55 nor 65");
    assert_eq!(batch["age"], "one_to_two_years");
    assert_eq!(batch["document_number"], "陕政土批〔2025〕7号");
    assert_eq!(json["total"]["all_batches"]["percent"], 50.0);
    assert_eq!(json["total"]["last_five_years"]["percent"], 50.0);

    // Before the parts were decided, nothing is supplied; before the approval, no batch.
    let early = report(&app, "/api/v1/reports/land-supply?as_of=2025-03-01").await;
    assert_eq!(early["batches"][0]["supplied_mu"], 0.0, "{early}");
    let before = report(&app, "/api/v1/reports/land-supply?as_of=2025-01-09").await;
    assert_eq!(before["batches"].as_array().unwrap().len(), 0);

    // The workbook, read by calamine, says what the JSON says.
    let counties = xlsx_sheet(&app, &format!("{path}&format=xlsx"), "counties").await;
    let header: Vec<String> = counties[0].iter().map(text).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let city = counties.last().unwrap();
    assert_eq!(text(&city[col("county_name")]), "全市");
    assert_eq!(
        number(&city[col("supply_percent")]),
        json["total"]["all_batches"]["percent"].as_f64().unwrap()
    );
    assert_eq!(number(&city[col("approved_mu")]), 100.0);
    assert_eq!(number(&city[col("unsupplied_one_to_two_years_mu")]), 50.0);
    let batches = xlsx_sheet(&app, &format!("{path}&format=xlsx"), "batches").await;
    assert_eq!(batches.len(), 2);
    assert_eq!(number(&batches[1][9]), 50.0);

    let csv = app
        .send("GET", path, "reviewer", None, &[("accept", "text/csv")])
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.text.lines().last().unwrap().contains(",全市,100,50,50,50,"),
        "{}",
        csv.text
    );

    // The API refuses the second and third of those parts when recorded anew, with their areas.
    let fresh = approved_case(&app, "610902", "2025-01-10", &[strip(0.0, 1.0)]).await;
    assert_eq!(record(&app, fresh, part_body(&strip(0.0, 0.3))).await.status, 201);
    let overlap = record(&app, fresh, part_body(&strip(0.25, 0.5))).await;
    assert_eq!(overlap.status, 409);
    assert!(overlap.json["detail"].as_str().unwrap().contains("(5.00 mu)"));
    let outside = record(&app, fresh, part_body(&strip(1.0, 1.1))).await;
    assert_eq!(outside.status, 422);
    assert!(outside.json["detail"].as_str().unwrap().contains("(10.00 mu)"));
}

fn status_of(report: &Value, supply: Uuid) -> String {
    report["lands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["supply"] == supply.to_string())
        .map(|l| l["status"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[sqlx::test(migrations = "../../migrations")]
async fn idle_land_turns_on_its_civil_code_day_and_a_government_delay_is_excluded(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = approved_case(&app, "610902", "2023-06-01", &[strip(0.0, 1.0)]).await;
    let leap = import_part(&pool, case, &strip(0.0, 0.3), "2024-02-29", None).await;
    let late = import_part(
        &pool,
        case,
        &strip(0.3, 0.5),
        "2024-02-29",
        Some("update supply_parts set handed_over_on = date '2024-04-30' where id = $1"),
    )
    .await;
    let idle_on = |as_of: &str| format!("/api/v1/reports/idle-land?as_of={as_of}");

    let day_before = report(&app, &idle_on("2025-02-28")).await;
    assert_eq!(status_of(&day_before, leap), "due_soon", "{day_before}");
    let day_of = report(&app, &idle_on("2025-03-01")).await;
    assert_eq!(status_of(&day_of, leap), "idle", "{day_of}");
    let line = day_of["lands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["supply"] == leap.to_string())
        .unwrap();
    assert_eq!(line["idle_from"], "2025-03-01");
    assert_eq!(line["fee_wan_yuan"], 240.0, "20% of 1200 万元");
    assert_eq!(status_of(&day_of, late), "government_caused");
    assert_eq!(
        day_of["total"]["idle_mu"], 30.0,
        "the government-caused delay is excluded: {day_of}"
    );
    assert_eq!(
        status_of(&report(&app, &idle_on("2026-02-28")).await, leap),
        "idle"
    );
    assert_eq!(
        status_of(&report(&app, &idle_on("2026-03-01")).await, leap),
        "reclaimable"
    );
    assert_eq!(
        status_of(&report(&app, &idle_on("2024-12-31")).await, leap),
        "on_schedule"
    );

    // Partial start: 30 mu, 9000 万元 agreed, halted since 2024-06-15. Exactly a third developed
    // and a quarter invested is not less; a hundredth under either is.
    let partial = |developed: &str, invested: &str| {
        format!(
            "update supply_parts set started_on = date '2024-04-01', halted_since = date '2024-06-15',
                    developed_mu = {developed}, invested_wan_yuan = {invested} where id = $1"
        )
    };
    let third = import_part(
        &pool,
        case,
        &strip(0.5, 0.8),
        "2024-03-10",
        Some(&partial("10.00", "2250.00")),
    )
    .await;
    let under = import_part(&pool, case, &strip(0.8, 0.9), "2024-03-10", None).await;
    sqlx::query(&partial("3.33", "2250.00"))
        .bind(under)
        .execute(&pool)
        .await
        .unwrap();
    let short = import_part(&pool, case, &strip(0.9, 1.0), "2024-03-10", None).await;
    sqlx::query(&partial("5.00", "2249.99"))
        .bind(short)
        .execute(&pool)
        .await
        .unwrap();
    let after_a_year = report(&app, &idle_on("2025-06-16")).await;
    assert_eq!(status_of(&after_a_year, third), "started", "{after_a_year}");
    assert_eq!(
        status_of(&after_a_year, under),
        "partial_idle",
        "3.33 of 10 mu is under a third"
    );
    assert_eq!(
        status_of(&after_a_year, short),
        "partial_idle",
        "2249.99 of 9000 万元 is under 25%"
    );
    let day_before_year = report(&app, &idle_on("2025-06-15")).await;
    assert_eq!(status_of(&day_before_year, under), "started");

    // The workbook's city line has the JSON's idle area.
    let sheet = xlsx_sheet(
        &app,
        &format!("{}&format=xlsx", idle_on("2025-03-01")),
        "counties",
    )
    .await;
    let header: Vec<String> = sheet[0].iter().map(text).collect();
    let col = header.iter().position(|h| h == "idle_mu").unwrap();
    assert_eq!(
        number(&sheet.last().unwrap()[col]),
        day_of["total"]["idle_mu"].as_f64().unwrap()
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_standard_land_share_is_held_to_each_zones_goal_and_acceptance_compares_indicators(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    crate::common::import_layer(
        &pool,
        "development_zone",
        vec![(geojson(&strip(0.0, 0.5)), json!({ "name": "安康高新区" }))],
    )
    .await;
    let case = approved_case(&app, "610902", "2025-01-10", &[strip(0.0, 1.0)]).await;
    // Inside the zone: 30 mu standard land, 20 mu not. Elsewhere: 20 mu standard, 30 mu not.
    let standard = "update supply_parts set agreed_investment_intensity = 300, agreed_floor_area_ratio = 1.2,
                           agreed_tax_per_mu = 20, agreed_energy_per_output = 45,
                           agreed_land_use_standard_met = true where id = $1";
    let a = import_part(&pool, case, &strip(0.0, 0.3), "2025-06-01", Some(standard)).await;
    import_part(&pool, case, &strip(0.3, 0.5), "2025-06-01", None).await;
    import_part(&pool, case, &strip(0.5, 0.7), "2025-06-01", Some(standard)).await;
    import_part(&pool, case, &strip(0.7, 1.0), "2025-06-01", None).await;
    sqlx::query(
        "update supply_parts set started_on = date '2025-06-01', completed_on = date '2026-05-01',
                achieved_investment_intensity = 280, achieved_floor_area_ratio = 1.2, achieved_tax_per_mu = 20,
                achieved_energy_per_output = 45, achieved_land_use_standard_met = true where id = $1",
    )
    .bind(a)
    .execute(&pool)
    .await
    .unwrap();

    let path = "/api/v1/reports/standard-land?year=2025&as_of=2026-06-01";
    let json = report(&app, path).await;
    let total = &json["report"]["total"];
    assert_eq!(total["development_zone"]["industrial_mu"], 50.0, "{json}");
    assert_eq!(total["development_zone"]["percent"], 60.0);
    assert_eq!(
        total["development_zone"]["goal_met"], false,
        "100% is the goal inside a zone"
    );
    assert_eq!(total["elsewhere"]["percent"], 40.0);
    assert_eq!(total["elsewhere"]["goal_met"], true, "at least 40% elsewhere");
    let acceptance = json["acceptance"].as_array().unwrap();
    assert_eq!(acceptance.len(), 1);
    assert_eq!(acceptance[0]["review"]["all_met"], false);
    assert_eq!(acceptance[0]["review"]["indicators"][0]["shortfall"], 20.0);

    let shares = xlsx_sheet(&app, &format!("{path}&format=xlsx"), "shares").await;
    let city_zone = shares
        .iter()
        .find(|r| text(&r[2]) == "全市" && text(&r[3]) == "development_zone")
        .unwrap();
    assert_eq!(number(&city_zone[6]), 60.0);
    assert_eq!(city_zone[8], calamine::Data::Bool(false));
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_handover_certificate_lag_lists_key_projects_not_issued_the_same_day(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let case = approved_case(&app, "610902", "2025-01-10", &[strip(0.0, 1.0)]).await;
    sqlx::query(
        "update projects set level = 'provincial', on_key_list = true
          where id = (select project_id from cases where id = $1)",
    )
    .bind(case)
    .execute(&pool)
    .await
    .unwrap();
    let certificate = |on: &str| {
        format!(
            "update supply_parts set handed_over_on = date '2025-05-31', certificate_number = '0001',
                    certificate_issued_on = date '{on}' where id = $1"
        )
    };
    let same_day = import_part(
        &pool,
        case,
        &strip(0.0, 0.3),
        "2025-06-01",
        Some(&certificate("2025-05-31")),
    )
    .await;
    let week = import_part(
        &pool,
        case,
        &strip(0.3, 0.6),
        "2025-06-01",
        Some(&certificate("2025-06-07")),
    )
    .await;

    let path = "/api/v1/reports/handover-certificate?as_of=2025-12-31";
    let json = report(&app, path).await;
    assert_eq!(json["handovers"].as_array().unwrap().len(), 2, "{json}");
    let listed = json["not_same_day"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["supply"], week.to_string());
    assert_eq!(listed[0]["lag_days"], 7);
    assert_eq!(json["total"]["same_day_percent"], 50.0);
    let rows = xlsx_sheet(&app, &format!("{path}&format=xlsx"), "handovers").await;
    let row = rows.iter().find(|r| text(&r[0]) == same_day.to_string()).unwrap();
    assert_eq!(number(&row[8]), 0.0);
    assert_eq!(row[10], calamine::Data::Bool(false));

    // A county officer sees only their counties; another county's figures are refused.
    let other = app
        .send(
            "GET",
            "/api/v1/reports/handover-certificate?county=610902",
            "officer2",
            None,
            &[],
        )
        .await;
    assert_eq!(other.status, 403, "{}", other.text);
    let own = app
        .send(
            "GET",
            "/api/v1/reports/handover-certificate?as_of=2025-12-31",
            "officer2",
            None,
            &[],
        )
        .await;
    assert_eq!(own.status, 200);
    assert_eq!(own.json["handovers"].as_array().unwrap().len(), 0);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_sweeper_alerts_once_as_land_turns_idle_soon_idle_and_reclaimable(pool: PgPool) {
    use landuse_api::timers::{sweep::sweep_once, TimerSettings};
    let app = TestApp::new(pool.clone()).await;
    let service = crate::common::app_pool(&pool);
    let settings = TimerSettings::from_args(&crate::common::timer_args(&[])).unwrap();
    let case = approved_case(&app, "610902", "2023-06-01", &[strip(0.0, 1.0)]).await;
    let leap = import_part(&pool, case, &strip(0.0, 0.3), "2024-02-29", None).await;
    let late = import_part(
        &pool,
        case,
        &strip(0.3, 0.5),
        "2024-02-29",
        Some("update supply_parts set handed_over_on = date '2024-04-30' where id = $1"),
    )
    .await;
    let at = |day: &str| {
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(4, 0, 0)
            .unwrap()
            .and_utc()
    };
    let land_alerts = || async {
        sqlx::query_as::<_, (String, Uuid)>(
            "select kind, supply_part_id from alerts where supply_part_id is not null order by id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };

    assert!(sweep_once(&service, at("2025-01-29"), &settings)
        .await
        .unwrap()
        .alerts
        .is_empty());
    let soon = sweep_once(&service, at("2025-01-30"), &settings).await.unwrap();
    assert_eq!(soon.alerts.len(), 1, "{soon:?}");
    assert_eq!(land_alerts().await, [("land_idle_soon".to_owned(), leap)]);
    let again = sweep_once(&service, at("2025-02-10"), &settings).await.unwrap();
    assert!(again.alerts.is_empty(), "once only: {again:?}");
    sweep_once(&service, at("2025-03-01"), &settings).await.unwrap();
    sweep_once(&service, at("2025-03-02"), &settings).await.unwrap();
    sweep_once(&service, at("2026-03-01"), &settings).await.unwrap();
    let kinds: Vec<String> = land_alerts().await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["land_idle_soon", "land_idle", "land_reclaimable"]);
    assert!(
        land_alerts().await.iter().all(|(_, part)| *part != late),
        "a government-caused delay raises nothing"
    );
    let status: String = sqlx::query_scalar("select idle_status from supply_parts where id = $1")
        .bind(late)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "government_caused");

    // The feed reads them back with their details.
    let feed = app
        .send("GET", "/api/v1/alerts?kind=land_idle", "reviewer", None, &[])
        .await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    let items = feed.json["items"]
        .as_array()
        .or_else(|| feed.json.as_array())
        .cloned()
        .unwrap_or_default();
    let idle = items
        .iter()
        .find(|a| a["kind"] == "land_idle")
        .expect("the idle alert in the feed");
    assert_eq!(idle["supply_part_id"], leap.to_string());
    assert_eq!(idle["details"]["idle_from"], "2025-03-01");
    assert_eq!(idle["details"]["fee_wan_yuan"], 240.0);
}
