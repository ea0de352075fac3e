//! The planner's desk: the review queue and case page (HTML), their assets, and the check report
//! PDF read back with poppler (pdftotext, pdffonts, pdftoppm), over the fixture layers whose
//! figures `fixtures/layers/README.md` states.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use chrono::TimeZone;
use common::{import_every_layer_far_away, url_of, TestApp, TestServer};
use landuse_domain::{check::LayerKind, county::CountyCode};
use landuse_spatial::{
    crs::{GkZone, Srid, Transformer},
    store::{self, ImportOptions},
};
use serde_json::Value;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/layers")
        .join(name)
}

/// The fixture layers that make the parcel's farmland, red-line, cultivated-land, boundary and
/// geohazard hits; the mineral layers stay far away (from `import_every_layer_far_away`), so the
/// strip 109.0005–109.001°E of the parcel, south of the geohazard buffer, touches nothing.
const LAYERS: [(&str, &str); 5] = [
    ("ecological_redline", "ecological_redline_east_half.geojson"),
    ("permanent_farmland", "permanent_farmland_multipart.geojson"),
    ("cultivated_land", "cultivated_land_mixed.geojson"),
    ("urban_boundary", "urban_boundary_with_hole.geojson"),
    ("geohazard", "geohazard_points.geojson"),
];

/// A case of 汉滨区 with the fixture parcel, submitted, and a check run by the planner. Returns
/// (case, check, the case's ETag).
async fn checked_case(app: &TestApp, pool: &PgPool) -> (String, String, String) {
    import_every_layer_far_away(pool).await;
    for (kind, file) in LAYERS {
        store::import_geojson_file(
            pool,
            LayerKind::parse(kind).unwrap(),
            CountyCode::parse("610900").unwrap(),
            &fixture(file),
            &ImportOptions::default(),
        )
        .await
        .unwrap();
    }
    let project = app.project(false).await;
    let (case, etag) = app.case(&project).await;
    let put = app
        .send_raw(
            "PUT",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            "application/geo+json",
            std::fs::read(fixture("parcel_strip.geojson")).unwrap(),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let submitted = app.act(&case, "officer", "submit", &put.etag(), None).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    let check = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks"),
            "planner",
            None,
            &[],
        )
        .await;
    assert_eq!(check.status, 201, "{}", check.text);
    assert_eq!(check.json["result"], "prohibited");
    let check_id = check.json["id"].as_str().unwrap().to_owned();
    (case, check_id, check.etag())
}

/// The id of the check's hit on `kind` (the first).
fn hit_of(check: &Value, kind: &str) -> String {
    check["report"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == kind)
        .unwrap()["hits"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Dismisses the cultivated-land hit with a reason, as the planner; returns the new ETag.
async fn dismiss_cultivated(app: &TestApp, case: &str, check: &str, etag: &str) -> String {
    let read = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case}/checks/{check}"),
            "planner",
            None,
            &[],
        )
        .await;
    let hit = hit_of(&read.json, "cultivated_land");
    let dismissed = app
        .send(
            "POST",
            &format!("/api/v1/cases/{case}/checks/{check}/hits/{hit}/dismiss"),
            "planner",
            Some(serde_json::json!({ "reason": "测绘成果证明为田坎碎片" })),
            &[("if-match", etag)],
        )
        .await;
    assert_eq!(dismissed.status, 200, "{}", dismissed.text);
    dismissed.etag()
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_queue_lists_the_case_waiting_for_confirmation_for_the_planner_and_not_for_another_county(
    pool: PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    let (case, _, _) = checked_case(&app, &pool).await;
    let page = app.send("GET", "/review", "planner", None, &[]).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(
        page.text.contains(&format!("/review/cases/{case}")),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("待确认"),
        "the latest check is not confirmed yet"
    );
    let other = app.send("GET", "/review", "officer2", None, &[]).await;
    assert_eq!(other.status, 200);
    assert!(
        !other.text.contains(&case),
        "汉阴县's officer does not see 汉滨区's case"
    );
    let own = app.send("GET", "/review", "officer", None, &[]).await;
    assert!(own.text.contains(&case));
}

/// Opens a case of `project` with one small parcel, leaving it a draft; returns (id, ETag).
async fn case_with_parcel(app: &TestApp, project: &str, lon: f64) -> (String, String) {
    let (case, etag) = app.case(project).await;
    let body = serde_json::json!({ "type": "FeatureCollection", "features": [
        { "type": "Feature", "properties": {}, "geometry": common::square(lon, 32.7, 0.001) }
    ]});
    let put = app
        .send_raw(
            "PUT",
            &format!("/api/v1/cases/{case}/parcels"),
            "officer",
            "application/geo+json",
            serde_json::to_vec(&body).unwrap(),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    (case, put.etag())
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_queue_puts_the_green_channel_first_then_the_nearest_deadline(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let local = |d: u32| {
        landuse_domain::calendar::BUREAU_OFFSET
            .with_ymd_and_hms(2026, 7, d, 10, 0, 0)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    // "late" is opened first (the smaller id) but submitted two days after "early", so an order
    // by id or by creation would differ from the order by deadline.
    app.clock.set(local(6));
    let plain = app.project(false).await;
    let (late, late_etag) = case_with_parcel(&app, &plain, 109.10).await;
    // A project has one case unless it is phased (green channel only): "early" is another's.
    let other = app.project(false).await;
    let (early, early_etag) = case_with_parcel(&app, &other, 109.12).await;
    let submitted = app.act(&early, "officer", "submit", &early_etag, None).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    app.clock.set(local(8));
    let submitted = app.act(&late, "officer", "submit", &late_etag, None).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    // The key project's case comes last of all, with the latest deadline, and still leads.
    app.clock.set(local(10));
    let key = app.project(true).await;
    let (green, green_etag) = case_with_parcel(&app, &key, 109.14).await;
    let submitted = app.act(&green, "officer", "submit", &green_etag, None).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);

    let deadline = |id: &str| {
        let pool = pool.clone();
        let id = id.to_owned();
        async move {
            sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>(
                "select deadline_at from cases where id = $1::uuid",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert!(deadline(&early).await < deadline(&late).await);
    assert!(deadline(&late).await < deadline(&green).await);

    let page = app.send("GET", "/review", "planner", None, &[]).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let at = |id: &str| {
        page.text
            .find(&format!("/review/cases/{id}\""))
            .unwrap_or_else(|| panic!("{id} is not in the queue: {}", page.text))
    };
    assert!(
        at(&green) < at(&early) && at(&early) < at(&late),
        "expected green, early, late; got green at {}, early at {}, late at {}",
        at(&green),
        at(&early),
        at(&late)
    );
    // Only the green case's row carries the green mark, and it is the first row.
    let rows: Vec<&str> = page.text.split("<tr").skip(2).collect();
    assert_eq!(rows.len(), 3, "{}", page.text);
    assert!(rows[0].contains("绿色通道") && rows[0].contains(&green));
    assert!(!rows[1].contains("绿色通道") && !rows[2].contains("绿色通道"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_case_page_shows_each_rule_its_layer_version_verdict_areas_and_the_dismissal(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (case, check, etag) = checked_case(&app, &pool).await;
    dismiss_cultivated(&app, &case, &check, &etag).await;
    let page = app
        .send("GET", &format!("/review/cases/{case}"), "planner", None, &[])
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let text = &page.text;
    for name in [
        "永久基本农田",
        "生态保护红线",
        "城镇开发边界",
        "耕地",
        "地质灾害隐患点",
        "秦岭核心保护区",
        "重要矿产资源",
    ] {
        assert!(text.contains(name), "the rule {name} is on the page");
    }
    // Every fixture layer is version 1 of the city (610900).
    assert!(text.contains("v1（610900）"));
    assert!(text.contains("禁止占用"), "the farmland and red-line verdict");
    assert!(text.contains("地质灾害预警"));
    // Cultivated land no longer counts once its only... both of its hits are listed; one dismissed.
    assert!(text.contains("测绘成果证明为田坎碎片"), "the dismissal's reason");
    assert!(text.contains("已排除"));
    // Farmland: half the parcel, 10,398.8 m² (README), 15.60 mu.
    assert!(
        text.contains("10398.7") || text.contains("10398.8"),
        "farmland's area"
    );
    // The planner may confirm and dismiss the others; the case's ETag is on the page for If-Match.
    assert!(text.contains("id=\"confirm-check\""));
    assert!(text.contains("class=\"dismiss\""));
    let etag = app
        .send("GET", &format!("/api/v1/cases/{case}"), "planner", None, &[])
        .await
        .etag();
    assert!(
        text.contains(&etag.replace('"', "\\\"")),
        "the page carries {etag}"
    );
    // The map's data holds the parcel and each overlap in its rule's colour.
    assert!(text.contains("#e69f00"), "farmland's colour");
    // Security headers: never cached, no framing, scripts only from here.
    assert_eq!(page.headers["cache-control"], "no-store");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn officers_and_gis_read_the_page_without_actions_and_another_county_gets_404(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (case, _, _) = checked_case(&app, &pool).await;
    for who in ["officer", "gis", "reviewer"] {
        let page = app
            .send("GET", &format!("/review/cases/{case}"), who, None, &[])
            .await;
        assert_eq!(page.status, 200, "{who}: {}", page.text);
        assert!(page.text.contains("永久基本农田"), "{who}");
        assert!(!page.text.contains("id=\"run-check\""), "{who} has no actions");
        assert!(!page.text.contains("class=\"dismiss\""), "{who} has no actions");
        assert!(page.text.contains("只读"), "{who}");
    }
    let other = app
        .send("GET", &format!("/review/cases/{case}"), "officer2", None, &[])
        .await;
    assert_eq!(other.status, 404, "{}", other.text);
    assert!(other.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(!other.text.contains("永久基本农田"));
    let unknown = app
        .send("GET", "/review/cases/not-a-case", "planner", None, &[])
        .await;
    assert_eq!(unknown.status, 404);
    // A GIS token still reads nothing else of the API.
    let api = app
        .send("GET", &format!("/api/v1/cases/{case}"), "gis", None, &[])
        .await;
    assert_eq!(api.status, 403);
}

#[sqlx::test(migrations = "../../migrations")]
async fn without_a_token_the_page_is_the_sign_in_form_and_no_basic_prompt(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    for path in ["/review", "/review/cases/0190b8a4-0000-7000-8000-000000000000"] {
        let page = app.send("GET", path, "", None, &[]).await;
        assert_eq!(page.status, 401, "{path}");
        assert!(page.text.contains("id=\"signin-form\""), "{path}: {}", page.text);
        assert!(
            page.headers.get("www-authenticate").is_none(),
            "{path}: a Basic challenge would make the browser prompt and keep the token"
        );
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_assets_are_the_vendored_bytes_under_versioned_paths_cached_for_a_year(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (case, _, _) = checked_case(&app, &pool).await;
    let page = app
        .send("GET", &format!("/review/cases/{case}"), "planner", None, &[])
        .await;
    let version =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/ol/VERSION")).unwrap();
    let ol = format!("/review/assets/ol-{}/ol.js", version.trim());
    assert!(page.text.contains(&ol), "{}", page.text);
    let bytes = app.get_bytes(&ol, "").await;
    assert_eq!(
        bytes,
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/ol/ol.js")).unwrap()
    );
    let answer = app.send("GET", &ol, "", None, &[]).await;
    assert_eq!(
        answer.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let app_js = page
        .text
        .split('"')
        .find(|s| s.starts_with("/review/assets/app-") && s.ends_with("review.js"))
        .unwrap()
        .to_owned();
    assert_eq!(app.send("GET", &app_js, "", None, &[]).await.status, 200);
    assert_eq!(
        app.send("GET", "/review/assets/ol-0.0.0/ol.js", "", None, &[])
            .await
            .status,
        404,
        "an old version's path is gone"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn no_basemap_by_default_and_a_configured_one_is_on_the_page_and_allowed_by_its_policy(pool: PgPool) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let app = TestApp::new(pool.clone()).await;
    let (case, _, _) = checked_case(&app, &pool).await;
    let path = format!("/review/cases/{case}");
    let default = app.send("GET", &path, "planner", None, &[]).await;
    assert!(default.text.contains("\"basemap\":null"), "{}", default.text);
    let csp = default.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("img-src 'self' data: blob:;"),
        "nothing from elsewhere: {csp}"
    );

    // An intranet 天地图 node, as docs/review.md configures it.
    let url = "http://tdt.example.gov.cn:8090/vec_w/wmts?LAYER=vec&TILEMATRIXSET=w&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}";
    let mut config = common::test_config("postgres://unused/none");
    config.serve.review.basemap_url = Some(url.parse().unwrap());
    config.serve.review.basemap_attribution = "天地图 审图号：GS(2024)0568号".to_owned();
    let router = landuse_api::app::app(landuse_api::app::AppState::new(
        common::app_pool(&pool),
        std::sync::Arc::new(config),
        landuse_api::clock::Clock::system(),
    ));
    let request = axum::http::Request::builder()
        .uri(&path)
        .header("authorization", format!("Bearer {}", app.tokens["planner"]))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("img-src 'self' data: blob: http://tdt.example.gov.cn:8090;"),
        "the tiles' origin, and only it: {csp}"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let html = String::from_utf8(body.to_vec()).unwrap();
    let data = html
        .split("<script type=\"application/json\" id=\"case-data\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap_or_else(|| panic!("the page's data: {html}"));
    let data: Value = serde_json::from_str(data).unwrap();
    assert_eq!(data["basemap"]["url"], url);
    assert_eq!(data["basemap"]["grid"], "web_mercator");
    assert_eq!(data["basemap"]["attribution"], "天地图 审图号：GS(2024)0568号");
    // Never a URL the page could be tricked with, nor one without the tile's place.
    for bad in [
        "javascript:alert(1)/{z}/{x}/{y}",
        "http://tdt.example.gov.cn/vec_w/{z}/{x}.png",
        "http://tdt.example.gov.cn/\"><script>/{z}/{x}/{y}",
    ] {
        assert!(bad.parse::<landuse_api::config::BasemapUrl>().is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!(
        "landuse-review-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new(tool)
        .args(args)
        .arg(&file)
        .args(match tool {
            "pdftoppm" => vec![dir.join("page").display().to_string()],
            "pdftotext" => vec!["-".to_owned()],
            _ => vec![],
        })
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs (poppler-utils, scripts/install-deps.sh): {e}"));
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = if tool == "pdftoppm" {
        let page = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "ppm"))
            .unwrap();
        std::fs::read(page).unwrap()
    } else {
        out.stdout
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The colour of pixel (x, y) of a binary PPM (P6, 8 bits).
fn ppm_pixel(ppm: &[u8], x: usize, y: usize) -> [u8; 3] {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while ppm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !ppm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&ppm[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P6");
    let width: usize = fields[1].parse().unwrap();
    let offset = at + 1 + (y * width + x) * 3;
    [ppm[offset], ppm[offset + 1], ppm[offset + 2]]
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 8)
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_report_reads_back_with_the_case_rules_verdicts_areas_versions_and_dismissal(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (case, check, etag) = checked_case(&app, &pool).await;
    dismiss_cultivated(&app, &case, &check, &etag).await;
    let path = format!("/api/v1/cases/{case}/checks/{check}/report.pdf");
    let pdf = app.get_bytes(&path, "planner").await;
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    // Kept for a person to look at after the run.
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("review-report.pdf"),
        &pdf,
    )
    .unwrap();
    let text = String::from_utf8(poppler("pdftotext", &["-layout"], &pdf)).unwrap();
    let number = case[..8].to_uppercase();
    assert!(text.contains(&number), "the case number {number}:\n{text}");
    for name in [
        "永久基本农田",
        "生态保护红线",
        "城镇开发边界",
        "耕地",
        "秦岭核心保护区",
        "秦岭重点保护区",
        "秦岭一般保护区",
        "自然保护地核心区",
        "自然保护地一般控制区",
        "地质灾害隐患点",
        "重要矿产资源",
        "压覆矿产白名单",
    ] {
        assert!(text.contains(name), "the rule {name}:\n{text}");
    }
    for verdict in ["禁止占用", "地质灾害预警", "无压占"] {
        assert!(text.contains(verdict), "the verdict {verdict}");
    }
    // The parcel's area in the three units (README: 20,797.5 m², 31.20 mu, 2.0798 ha).
    assert!(text.contains("31.20") && text.contains("2.0798"), "{text}");
    assert!(
        text.contains("v1（610900）") || text.contains("v1 (610900)"),
        "the layer versions:\n{text}"
    );
    assert!(
        text.contains("permanent_farmland.geojson") || text.contains("permanent_farmland_multipart.geojson")
    );
    // A dismissal's reason wraps in its cell; read without the layout, joined up.
    let flowing: String = String::from_utf8(poppler("pdftotext", &[], &pdf))
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(
        flowing.contains("测绘成果证明为田坎碎片"),
        "the dismissal:\n{flowing}"
    );
    assert!(text.contains("planner"), "who ran it");

    // Every font embedded, subset, with a Unicode map (searchable, copyable Chinese).
    let fonts = String::from_utf8(poppler("pdffonts", &[], &pdf)).unwrap();
    let lines: Vec<&str> = fonts.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "{fonts}");
    for line in &lines {
        let columns: Vec<&str> = line.split_whitespace().collect();
        let n = columns.len();
        // … emb sub uni object ID
        assert_eq!(
            (columns[n - 5], columns[n - 3]),
            ("yes", "yes"),
            "embedded with a Unicode map: {line}"
        );
    }
    assert!(fonts.contains("NotoSansCJK"), "{fonts}");

    // The same check prints the same bytes.
    let again = app.get_bytes(&path, "planner").await;
    assert!(pdf == again, "two requests give identical bytes");

    // 汉阴县's officer: 404, as for the case itself.
    let other = app.send("GET", &path, "officer2", None, &[]).await;
    assert_eq!(other.status, 404);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_report_map_shows_the_farmland_colour_over_the_overlap_and_not_beside_it(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (case, check, _) = checked_case(&app, &pool).await;
    let pdf = app
        .get_bytes(
            &format!("/api/v1/cases/{case}/checks/{check}/report.pdf"),
            "planner",
        )
        .await;
    let dpi = 100.0;
    let ppm = poppler("pdftoppm", &["-f", "1", "-l", "1", "-r", "100"], &pdf);
    // The frame, as the report draws it: the parcel projected to its Gauss–Krüger zone.
    let zone = GkZone::for_longitude(109.001).unwrap();
    let to_plane = Transformer::new(Srid::CGCS2000, zone.srid(false)).unwrap();
    let parcel = geo_types::Polygon::new(
        geo_types::LineString::from(vec![
            (109.000, 32.700),
            (109.002, 32.700),
            (109.002, 32.701),
            (109.000, 32.701),
            (109.000, 32.700),
        ]),
        vec![],
    );
    let map = landuse_report::map::MapInput {
        parcels: vec![to_plane
            .multi_polygon(&geo_types::MultiPolygon(vec![parcel]))
            .unwrap()],
        ..Default::default()
    };
    let frame = landuse_report::map::Frame::of(&map).unwrap();
    let pixel_at = |lon: f64, lat: f64| {
        let p = to_plane.coord(geo_types::Coord { x: lon, y: lat }).unwrap();
        let (x, y) = frame.page_mm(p.x, p.y);
        ppm_pixel(&ppm, (x / 25.4 * dpi) as usize, (y / 25.4 * dpi) as usize)
    };
    let farmland = [0xe6, 0x9f, 0x00];
    // The middle of the farmland's west part (109.000–109.0005°E).
    let on = pixel_at(109.00025, 32.7005);
    assert!(
        close(on, farmland),
        "the overlap is drawn in farmland's colour: {on:?}"
    );
    // Inside the parcel, between the hits (109.0005–109.001°E, south of the geohazard buffer).
    let off = pixel_at(109.00075, 32.7002);
    assert!(!close(off, farmland), "beside the overlap: {off:?}");
    // Only the light tint of the urban boundary the parcel lies in.
    assert!(off.iter().all(|c| *c > 200), "no overlap is drawn there: {off:?}");
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn two_hundred_reports_in_a_row_keep_the_servers_memory_flat(
    pool_options: PgPoolOptions,
    options: PgConnectOptions,
) {
    let pool = pool_options.connect_with(options.clone()).await.unwrap();
    let app = TestApp::new(pool.clone()).await;
    let (case, check, _) = checked_case(&app, &pool).await;
    let server = TestServer::spawn(&url_of(&options), &[("LANDUSE_RATE_LIMIT", "0")]);
    let url = server.url(&format!("/api/v1/cases/{case}/checks/{check}/report.pdf"));
    let token = &app.tokens["planner"];
    let fetch = || async {
        let response = server.http.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap()
    };
    // Warm up: the fonts are read and the allocator settles.
    let first = fetch().await;
    for _ in 0..20 {
        assert_eq!(fetch().await, first);
    }
    let before = rss_kib(server.pid());
    let started = std::time::Instant::now();
    for _ in 0..200 {
        fetch().await;
    }
    let after = rss_kib(server.pid());
    eprintln!(
        "200 reports: {:.0} ms each, RSS {before} KiB before, {after} KiB after",
        started.elapsed().as_secs_f64() * 1000.0 / 200.0
    );
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} KiB to {after} KiB over 200 reports"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_report_and_the_page_list_the_approval_records_and_the_ones_still_missing(pool: PgPool) {
    use crate::approvals::{approval, case_in_pre_review, checked, hits_of, record, LAT, LON};
    let app = TestApp::new(pool.clone()).await;
    import_every_layer_far_away(&pool).await;
    // The Qinling key zone over the parcel calls for a review opinion, the geohazard point in
    // it for an assessment: the opinion is recorded, the assessment is not.
    common::import_layer(
        &pool,
        "qinling_key",
        vec![(
            common::square(LON + 0.0002, LAT + 0.0002, 0.0004),
            serde_json::json!({ "name": "秦岭重点" }),
        )],
    )
    .await;
    common::import_layer(
        &pool,
        "geohazard",
        vec![(
            serde_json::json!({ "type": "Point", "coordinates": [LON + 0.0005, LAT + 0.0005] }),
            serde_json::json!({ "name": "隐患点" }),
        )],
    )
    .await;
    let (case, _) = case_in_pre_review(&app, false, serde_json::json!({}), LON).await;
    let (check, etag) = checked(&app, &case).await;
    let check_id = check["id"].as_str().unwrap().to_owned();
    let hits = hits_of(&check, "qinling_key");
    assert_eq!(hits.len(), 1, "{check}");
    let recorded = record(&app, "reviewer", &case, &etag, approval("review_opinion", &hits)).await;
    assert_eq!(recorded.status, 201, "{}", recorded.text);

    let pdf = app
        .get_bytes(
            &format!("/api/v1/cases/{case}/checks/{check_id}/report.pdf"),
            "planner",
        )
        .await;
    // Cells wrap; read without the layout, joined up.
    let text: String = String::from_utf8(poppler("pdftotext", &[], &pdf))
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for words in [
        "审查结果要求的审批意见",
        "论证审查意见",
        "陕林审〔2026〕12号",
        "陕西省林业局",
        "2026-11-30",
        "有效",
        "尚缺的审批意见",
        "地质灾害危险性评估报告",
        "地质灾害隐患点",
    ] {
        assert!(text.contains(words), "the report says {words}:\n{text}");
    }

    let page = app
        .send("GET", &format!("/review/cases/{case}"), "planner", None, &[])
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("陕林审〔2026〕12号") && page.text.contains("地质灾害危险性评估报告"),
        "{}",
        page.text
    );
}
