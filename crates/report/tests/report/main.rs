//! The report crate on its own: a synthetic report compiles to a PDF with Debian's Noto CJK
//! fonts, the same report gives the same bytes, and another check's report differs.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use geo_types::{polygon, Geometry, MultiPolygon};
use landuse_report::{
    map::{MapInput, Shape},
    model::{Area, CaseInfo, CheckInfo, HitRow, LegendEntry, ReportTime, RuleRow, VersionRow},
    Renderer, Report, DEFAULT_FONT_DIR,
};

fn area(m2: &str) -> Area {
    Area {
        m2: m2.to_owned(),
        mu: "1.50".to_owned(),
        ha: "0.1000".to_owned(),
    }
}

fn sample(check_id: &str) -> Report {
    let parcel = polygon![(x: 500_000.0, y: 3_600_000.0), (x: 500_200.0, y: 3_600_000.0), (x: 500_200.0, y: 3_600_100.0), (x: 500_000.0, y: 3_600_100.0)];
    let part = polygon![(x: 500_000.0, y: 3_600_000.0), (x: 500_050.0, y: 3_600_000.0), (x: 500_050.0, y: 3_600_100.0), (x: 500_000.0, y: 3_600_100.0)];
    Report {
        check_id: check_id.to_owned(),
        created: ReportTime {
            year: 2026,
            month: 3,
            day: 2,
            hour: 6,
            minute: 5,
            second: 0,
        },
        case: CaseInfo {
            id: "0190b8a4-0000-7000-8000-000000000000".to_owned(),
            number: "0190B8A4".to_owned(),
            title: "一期用地".to_owned(),
            project: "汉滨区标准化厂房".to_owned(),
            county: "610902 汉滨区".to_owned(),
            stage: "用地预审与选址".to_owned(),
            green: "否".to_owned(),
            parcels: "1 个：地块1".to_owned(),
        },
        check: CheckInfo {
            result: "禁止占用".to_owned(),
            result_code: "prohibited".to_owned(),
            run_at: "2026-03-02 14:05".to_owned(),
            run_by: "planner".to_owned(),
            confirmed_at: "未确认".to_owned(),
            confirmed_by: "—".to_owned(),
            note: "本核查尚未确认。".to_owned(),
        },
        case_area: area("20000.00"),
        rules: vec![RuleRow {
            kind: "permanent_farmland".to_owned(),
            name: "永久基本农田".to_owned(),
            colour: "#e69f00".to_owned(),
            versions: "v1（610900）".to_owned(),
            result: "禁止占用".to_owned(),
            result_code: "prohibited".to_owned(),
            area: area("5000.00"),
            share: "25.00%".to_owned(),
            hits: vec![HitRow {
                feature: "YJJBNT-1 · DLBM 0101".to_owned(),
                area: area("5000.00"),
                share: "25.00%".to_owned(),
                class: "计入".to_owned(),
                dismissal: String::new(),
            }],
        }],
        approvals: Vec::new(),
        records: Vec::new(),
        missing: Vec::new(),
        versions: vec![VersionRow {
            layer: "永久基本农田".to_owned(),
            jurisdiction: "610900".to_owned(),
            version: "v1".to_owned(),
            source: "permanent_farmland.geojson".to_owned(),
            imported_at: "2026-01-05 09:00".to_owned(),
        }],
        legend: vec![LegendEntry {
            label: "申请地块".to_owned(),
            colour: "#000000".to_owned(),
            style: "outline".to_owned(),
        }],
        map: MapInput {
            crs: "CGCS2000 3 度带高斯-克吕格投影，第 36 带".to_owned(),
            parcels: vec![MultiPolygon(vec![parcel])],
            overlaps: vec![Shape {
                kind: "permanent_farmland".to_owned(),
                dismissed: false,
                geometry: Geometry::Polygon(part),
            }],
            features: Vec::new(),
        },
    }
}

#[test]
fn a_report_compiles_to_the_same_pdf_bytes_twice_and_another_check_differs() {
    let renderer = Renderer::load(Path::new(DEFAULT_FONT_DIR)).unwrap();
    let first = renderer
        .render(&sample("0190b8a4-1111-7000-8000-000000000001"))
        .unwrap();
    assert!(first.starts_with(b"%PDF-"));
    assert!(
        first.windows(b"pdfaid".len()).any(|w| w == b"pdfaid"),
        "PDF/A identification in the metadata"
    );
    let second = renderer
        .render(&sample("0190b8a4-1111-7000-8000-000000000001"))
        .unwrap();
    assert!(first == second, "the same report gives the same bytes");
    let other = renderer
        .render(&sample("0190b8a4-2222-7000-8000-000000000002"))
        .unwrap();
    assert!(first != other);
}

#[test]
fn text_no_font_can_show_is_printed_as_a_replacement_not_a_failed_report() {
    let renderer = Renderer::load(Path::new(DEFAULT_FONT_DIR)).unwrap();
    let mut report = sample("0190b8a4-3333-7000-8000-000000000003");
    // C0 and C1 control codes, a tab, and a code point no font has (unassigned in Unicode 16).
    report.case.title = "汉滨\u{1}\u{84}\t新区\u{34b78}厂房".to_owned();
    let pdf = renderer.render(&report).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let dir = std::env::temp_dir().join(format!("landuse-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("replaced.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let text = std::process::Command::new("pdftotext")
        .args([file.as_os_str(), std::ffi::OsStr::new("-")])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8(text.stdout).unwrap();
    let line = text.lines().find(|l| l.contains("新区")).unwrap();
    // The fonts have no U+FFFD either, so each character they cannot show is a `?`; the tab is
    // a space.
    assert_eq!(line.trim(), "汉滨?? 新区?厂房", "{text}");
}

#[test]
fn a_missing_font_folder_is_named_in_the_error() {
    let error = Renderer::load(Path::new("/nonexistent-fonts")).unwrap_err();
    assert!(error.to_string().contains("NotoSansCJK-Regular.ttc"), "{error}");
}

#[test]
fn a_report_without_parcels_is_refused() {
    let renderer = Renderer::load(Path::new(DEFAULT_FONT_DIR)).unwrap();
    let mut report = sample("x");
    report.map.parcels.clear();
    assert!(matches!(
        renderer.render(&report),
        Err(landuse_report::ReportError::NoParcels)
    ));
}
