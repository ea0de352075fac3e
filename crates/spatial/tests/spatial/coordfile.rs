//! The coordinate-file reader against every variation in fixtures/coordfiles (README there
//! gives each file's expected answer), the writer's round trip, and refusals with line numbers.
#![allow(clippy::unwrap_used, clippy::float_cmp)]

use std::path::PathBuf;

use landuse_spatial::coordfile::{self, CoordFileError, CoordFileWarning, CoordImport, TextEncoding};
use landuse_spatial::validate::GeometryError;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/coordfiles")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read(name: &str) -> CoordImport {
    coordfile::read(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

/// The standard text with every parcel replaced: a minimal file around point lines.
fn file_with(zone: u8, body: &str) -> Vec<u8> {
    format!(
        "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号={zone}\n[地块坐标]\n{body}"
    )
    .into_bytes()
}

#[test]
fn a_gbk_crlf_file_in_the_standard_form_reads_as_one_square() {
    let got = read("zone36_square_gbk_crlf.txt");
    assert_eq!(got.file.encoding, TextEncoding::Gbk);
    assert_eq!(got.file.zone.number(), 36);
    assert!(got.file.prefixed);
    assert_eq!(got.parcels.len(), 1);
    let p = &got.parcels[0];
    assert_eq!(p.lonlat.0.len(), 1);
    assert!(p.lonlat.0[0].interiors().is_empty());
    assert_close(p.planar_area_m2, 10_000.0, 1e-6);
    assert_eq!(p.stated_area_m2, Some(10_000.0));
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
    let attrs = &got.file.parcels[0].attributes;
    assert_eq!(attrs.name, "安康某项目地块");
    assert_eq!(attrs.number, "AK-001");
    assert_eq!(attrs.shape, "面");
    assert_eq!(attrs.sheet, "I49G011029");
    assert_eq!(attrs.land_use, "工业用地");
    assert_eq!(attrs.land_class, "0602");
    // The first corner is the check value.
    let first = p.lonlat.0[0].exterior().0[0];
    assert_close(first.x, 109.029, 1e-8);
    assert_close(first.y, 32.685, 1e-8);
    // Ellipsoidal and planar areas differ by the Gauss-Krüger scale (about 1 + y²/2R², y ≈ 96 km).
    let ratio = p.planar_area_m2 / p.ellipsoidal_area_m2;
    assert!((1.0..1.0003).contains(&ratio), "{ratio}");
}

#[test]
fn the_same_text_in_utf8_gives_the_same_parcels() {
    let gbk = read("zone36_square_gbk_crlf.txt");
    let utf8 = read("zone36_square_utf8_lf.txt");
    assert_eq!(utf8.file.encoding, TextEncoding::Utf8);
    assert_eq!(gbk.file.parcels, utf8.file.parcels);
    assert_eq!(gbk.parcels, utf8.parcels);
}

#[test]
fn a_ring_inside_the_outer_ring_is_a_hole() {
    let got = read("zone36_hole_utf8.txt");
    let p = &got.parcels[0];
    assert_eq!(p.lonlat.0.len(), 1);
    assert_eq!(p.lonlat.0[0].interiors().len(), 1);
    assert_close(p.planar_area_m2, 37_500.0, 1e-6);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn a_ring_outside_the_outer_ring_is_a_second_polygon_and_a_bom_is_skipped() {
    let got = read("zone37_multipart_utf8_bom.txt");
    assert_eq!(got.file.encoding, TextEncoding::Utf8Bom);
    assert_eq!(got.file.zone.number(), 37);
    let p = &got.parcels[0];
    assert_eq!(p.lonlat.0.len(), 2);
    assert_close(p.planar_area_m2, 20_000.0, 1e-6);
    // Zone 37 is centred on 111°E; these points lie about 75 km west of it.
    let c = p.lonlat.0[0].exterior().0[0];
    assert!(
        (110.1..110.3).contains(&c.x) && (32.3..32.5).contains(&c.y),
        "{c:?}"
    );
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn a_zone_37_gbk_file_reads_one_parcel_of_two_polygons_the_first_with_a_hole() {
    let got = read("zone37_multipart_hole_gbk_crlf.txt");
    assert_eq!(got.file.encoding, TextEncoding::Gbk);
    assert_eq!(got.file.zone.number(), 37);
    assert_eq!(got.parcels.len(), 1);
    let p = &got.parcels[0];
    assert_eq!(p.lonlat.0.len(), 2);
    assert_eq!(p.lonlat.0[0].interiors().len(), 1);
    assert!(p.lonlat.0[1].interiors().is_empty());
    assert_close(p.planar_area_m2, 47_500.0, 1e-6);
    assert_eq!(p.stated_area_m2, Some(47_500.0));
    assert_eq!(got.file.parcels[0].attributes.name, "带洞两块地块");
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn a_project_section_two_parcels_open_rings_and_extra_columns_are_read() {
    let got = read("zone36_project_two_parcels_gbk_crlf.txt");
    assert_eq!(got.file.encoding, TextEncoding::Gbk);
    let project = got.file.project.as_ref().unwrap();
    assert_eq!(
        project[0],
        ("项目名称".to_owned(), "安康至岚皋公路改建工程".to_owned())
    );
    assert_eq!(got.parcels.len(), 2);
    assert_close(got.parcels[0].planar_area_m2, 10_000.0, 1e-6);
    assert_close(got.parcels[1].planar_area_m2, 5_000.0, 1e-6);
    assert_eq!(got.file.parcels[0].attributes.extra, vec!["备注甲".to_owned()]);
    assert_eq!(got.file.parcels[1].attributes.number, "AK-004B");
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn a_stated_area_one_percent_off_gives_a_warning() {
    let got = read("zone36_area_mismatch_utf8.txt");
    assert_eq!(got.warnings.len(), 1);
    match &got.warnings[0] {
        CoordFileWarning::AreaMismatch {
            parcel,
            line,
            stated_m2,
            planar_m2,
            relative,
        } => {
            assert_eq!((*parcel, *line), (0, 13));
            assert_close(*stated_m2, 10_100.0, 1e-6);
            assert_close(*planar_m2, 10_000.0, 1e-6);
            assert_close(*relative, 0.01, 1e-9);
        }
        CoordFileWarning::AssumedCgcs2000 => panic!("unexpected warning"),
    }
    assert!(got.warnings[0]
        .to_string()
        .starts_with("line 13: parcel 0 states 10100.00 m²"));
}

/// A 100 m × 128 m rectangle in zone 36 (12,800 m², 1.28 ha) stating `area` hectares.
fn rectangle_stating(area: &str) -> Vec<u8> {
    file_with(
        36,
        &format!(
            "5,{area},AK-009,矩形地块,面,,,,@\n\
             J1,1,3618282.030,36596505.793\n\
             J2,1,3618282.030,36596633.793\n\
             J3,1,3618182.030,36596633.793\n\
             J4,1,3618182.030,36596505.793\n\
             J1,1,3618282.030,36596505.793\n"
        ),
    )
}

#[test]
fn a_stated_area_written_with_trailing_zeros_is_held_to_its_written_decimals() {
    // "1.0000" reads back as the f64 1, whose rendering has no decimals; the tolerance must
    // still be half of 0.0001 ha, so a 28% mismatch warns.
    let got = coordfile::read(&rectangle_stating("1.0000")).unwrap();
    assert_close(got.parcels[0].planar_area_m2, 12_800.0, 1e-6);
    assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    match &got.warnings[0] {
        CoordFileWarning::AreaMismatch { relative, .. } => assert_close(*relative, -0.21875, 1e-9),
        CoordFileWarning::AssumedCgcs2000 => panic!("unexpected warning"),
    }
    for within in ["1.2800", "1.2810", "1.28"] {
        let got = coordfile::read(&rectangle_stating(within)).unwrap();
        assert!(got.warnings.is_empty(), "{within}: {:?}", got.warnings);
    }
    // A figure written with one decimal may stand for anything within 0.05 ha of it.
    let got = coordfile::read(&rectangle_stating("1.3")).unwrap();
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn a_real_sample_stating_a_rounder_figure_with_four_decimals_warns() {
    // 44120000120 encloses 26,707.765 m² and states 2.6708 ha. Stating 2.7000 ha (1.1% off)
    // must warn although "2.7000" reads back as 2.7, a figure with one decimal.
    let text = String::from_utf8(fixture("real/44120000120_utf8_lf.txt")).unwrap();
    assert!(text.contains(",2.6708,"));
    let got = coordfile::read(text.replace(",2.6708,", ",2.7000,").as_bytes()).unwrap();
    assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    assert!(matches!(got.warnings[0], CoordFileWarning::AreaMismatch { .. }));
    let written = got.file.to_standard_text();
    assert!(
        written.contains(",2.7000,"),
        "the writer keeps the stated decimals: {written}"
    );
}

#[test]
fn eastings_without_the_zone_prefix_read_as_the_same_place() {
    let plain = read("zone36_unprefixed_utf8.txt");
    let prefixed = read("zone36_square_gbk_crlf.txt");
    assert!(!plain.file.prefixed);
    assert_eq!(plain.file.parcels[0].rings, prefixed.file.parcels[0].rings);
    assert_eq!(plain.parcels[0].lonlat, prefixed.parcels[0].lonlat);
}

#[test]
fn the_real_samples_read_in_both_encodings_and_match_their_stated_areas() {
    for (stem, planar, stated) in [
        ("44120000120", 26_707.765, 26_708.0),
        ("44120000669_44120001725_44120002171", 432.532, 433.0),
    ] {
        let utf8 = read(&format!("real/{stem}_utf8_lf.txt"));
        let gbk = read(&format!("real/{stem}_gbk_crlf.txt"));
        assert_eq!(gbk.file.encoding, TextEncoding::Gbk);
        assert_eq!(utf8.file.parcels, gbk.file.parcels);
        assert_eq!(utf8.file.zone.number(), 38);
        let p = &utf8.parcels[0];
        assert_close(p.planar_area_m2, planar, 0.001);
        assert_close(p.stated_area_m2.unwrap(), stated, 1e-6);
        assert_eq!(
            (p.planar_area_m2 / 10_000.0 * 10_000.0).round() / 10_000.0,
            stated / 10_000.0
        );
        assert!(utf8.warnings.is_empty(), "{stem}: {:?}", utf8.warnings);
        assert_eq!(utf8.file.parcels[0].attributes.number, "FID_0");
    }
}

#[test]
fn every_fixture_survives_read_write_read() {
    for name in [
        "zone36_square_gbk_crlf.txt",
        "zone36_square_utf8_lf.txt",
        "zone36_hole_utf8.txt",
        "zone37_multipart_utf8_bom.txt",
        "zone37_multipart_hole_gbk_crlf.txt",
        "zone36_project_two_parcels_gbk_crlf.txt",
        "zone36_area_mismatch_utf8.txt",
        "zone36_unprefixed_utf8.txt",
        "real/44120000120_utf8_lf.txt",
        "real/44120000669_44120001725_44120002171_gbk_crlf.txt",
    ] {
        let first = read(name);
        let bytes = first.file.write_gbk().unwrap();
        // The standard form: GBK and CRLF, no bare LF.
        assert!(std::str::from_utf8(&bytes).is_err() || bytes.is_ascii());
        assert!(!bytes.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
        let second = coordfile::read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(second.file.encoding, TextEncoding::Gbk, "{name}");
        assert_eq!(first.file.parcels, second.file.parcels, "{name}");
        assert_eq!(first.file.project, second.file.project, "{name}");
        assert_eq!(first.file.zone, second.file.zone, "{name}");
        assert_eq!(first.parcels, second.parcels, "{name}");
        // And the written form is stable.
        assert_eq!(second.file.write_gbk().unwrap(), bytes, "{name}");
    }
}

#[test]
fn parcels_from_lonlat_write_and_read_back_within_a_millimetre() {
    let original = read("zone36_hole_utf8.txt");
    let parcels = vec![(
        original.file.parcels[0].attributes.clone(),
        original.parcels[0].lonlat.clone(),
    )];
    let file = coordfile::CoordFile::from_lonlat(original.file.zone, &parcels).unwrap();
    let back = coordfile::read(&file.write_gbk().unwrap()).unwrap();
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    let (a, b) = (&original.file.parcels[0].rings, &back.file.parcels[0].rings);
    assert_eq!(a.len(), b.len());
    for (ra, rb) in a.iter().zip(b) {
        for (pa, pb) in ra.points.iter().zip(&rb.points) {
            assert_close(pa.x_north, pb.x_north, 0.001);
            assert_close(pa.y_east, pb.y_east, 0.001);
        }
    }
    assert_close(back.parcels[0].planar_area_m2, 37_500.0, 0.5);
}

#[test]
fn a_bow_tie_parcel_is_refused_at_its_line() {
    let body = "5,1.0,A,B,面,,,,@\nJ1,1,3618282.030,36596505.793\nJ2,1,3618182.030,36596605.793\nJ3,1,3618282.030,36596605.793\nJ4,1,3618182.030,36596505.793\nJ1,1,3618282.030,36596505.793\n";
    let err = coordfile::read(&file_with(36, body)).unwrap_err();
    match &err {
        CoordFileError::Geometry {
            line,
            parcel: 0,
            source,
        } => {
            assert_eq!(*line, 9);
            assert!(matches!(**source, GeometryError::SelfIntersection { .. }));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with("line 9: parcel 0:"), "{err}");
}

#[test]
fn bad_lines_are_named() {
    let cases: Vec<(&str, usize, &str)> = vec![
        ("x,1.0,A,B,面,,,,@\n", 8, "point count"),
        ("4,abc,A,B,面,,,,@\n", 8, "hectares"),
        ("4,1.0,A,B,面,,,,@\nJ1,1,3618282.030\n", 9, "expected name,ring,X,Y"),
        ("4,1.0,A,B,面,,,,@\nJ1,0,3618282.030,36596505.793\n", 9, "ring number"),
        ("4,1.0,A,B,面,,,,@\nJ1,1,abc,36596505.793\n", 9, "X (northing)"),
        ("J1,1,3618282.030,36596505.793\n", 8, "before the first parcel"),
        ("4,1.0,A,B,面,,,,@\nJ1,1,3618282.030,37596505.793\nJ2,1,3618182.030,37596605.793\nJ3,1,3618282.030,37596605.793\n", 9, "zone 37"),
        ("9,1.0,A,B,面,,,,@\nJ1,1,3618282.030,36596505.793\nJ2,1,3618182.030,36596605.793\nJ3,1,3618282.030,36596605.793\n", 8, "states 9 points"),
        ("7,1.0,A,B,面,,,,@\nJ1,1,0,36596505.793\nJ2,1,100,36596505.793\nJ3,2,0,36596605.793\nJ4,2,100,36596605.793\nJ5,2,100,36596705.793\nJ6,1,0,36596705.793\n", 14, "ring 1 continues"),
    ];
    for (body, line, needle) in cases {
        let err = coordfile::read(&file_with(36, body)).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(&format!("line {line}:")), "{body:?} gave {text}");
        assert!(text.contains(needle), "{body:?} gave {text}");
    }
}

#[test]
fn unsupported_headers_are_refused() {
    let xian80 = "[属性描述]\n坐标系=1980西安坐标系\n带号=36\n[地块坐标]\n4,1,A,B,面,,,,@\n";
    let err = coordfile::read(xian80.as_bytes()).unwrap_err();
    assert!(
        matches!(err, CoordFileError::UnsupportedCoordinateSystem { line: 2, .. }),
        "{err}"
    );
    let six = "[属性描述]\n几度分带=6\n带号=19\n[地块坐标]\n4,1,A,B,面,,,,@\n";
    assert!(matches!(
        coordfile::read(six.as_bytes()).unwrap_err(),
        CoordFileError::UnsupportedZoneWidth { line: 2, .. }
    ));
    let no_zone = "[属性描述]\n[地块坐标]\n4,1,A,B,面,,,,@\nJ1,1,3618282.030,596505.793\nJ2,1,3618182.030,596605.793\nJ3,1,3618282.030,596605.793\n";
    assert_eq!(
        coordfile::read(no_zone.as_bytes()).unwrap_err(),
        CoordFileError::NoZone
    );
    assert_eq!(
        coordfile::read(b"[\xE5\xB1\x9E]\n\xFF\xFF\xFF").unwrap_err(),
        CoordFileError::Encoding
    );
    assert_eq!(
        coordfile::read("[属性描述]\n带号=36\n".as_bytes()).unwrap_err(),
        CoordFileError::NoCoordinateSection
    );
}

#[test]
fn the_zone_is_read_from_the_prefix_when_the_header_has_none() {
    let text = "[属性描述]\n坐标系=2000国家大地坐标系\n[地块坐标]\n4,,A,B,面,,,,@\nJ1,1,3618282.030,36596505.793\nJ2,1,3618182.030,36596605.793\nJ3,1,3618282.030,36596605.793\nJ1,1,3618282.030,36596505.793\n";
    let got = coordfile::read(text.as_bytes()).unwrap();
    assert_eq!(got.file.zone.number(), 36);
    assert_eq!(got.parcels[0].stated_area_m2, None);
    assert_close(got.parcels[0].planar_area_m2, 5_000.0, 1e-6);
}

#[test]
fn a_central_meridian_in_the_zone_field_is_understood() {
    let text = String::from_utf8(fixture("zone36_square_utf8_lf.txt"))
        .unwrap()
        .replace("带号=36", "带号=108");
    assert_eq!(coordfile::read(text.as_bytes()).unwrap().file.zone.number(), 36);
}
