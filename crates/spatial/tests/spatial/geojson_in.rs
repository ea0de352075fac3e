//! GeoJSON in: RFC 7946 and legacy `crs` documents, refusals with their message and place, and
//! the streaming reader on a document generated on the fly.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::ops::ControlFlow;

use landuse_spatial::crs::Srid;
use landuse_spatial::geojson_in::{
    read_collection, read_document, read_parcels, Accept, FeatureStream, GeoJsonError, Item, LayerGeometry,
    ParcelsError, ReadOptions,
};

fn collect(doc: &str, accept: Accept) -> Result<Vec<Item>, GeoJsonError> {
    let mut items = Vec::new();
    read_collection(doc.as_bytes(), ReadOptions::layer(accept), |item| {
        items.push(item);
        ControlFlow::Continue(())
    })?;
    Ok(items)
}

fn only_feature(items: &[Item]) -> &LayerGeometry {
    match items {
        [Item::Feature(f)] => &f.geometry,
        other => panic!("{other:?}"),
    }
}

fn refusal(geometry: &str) -> (String, String) {
    let doc = format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","id":"F1","properties":{{}},"geometry":{geometry}}}]}}"#
    );
    match collect(&doc, Accept::Polygons).unwrap().as_slice() {
        [Item::Refused(r)] => {
            assert_eq!(r.index, 0);
            assert_eq!(r.source_id.as_deref(), Some("F1"));
            (r.code.clone(), r.reason.clone())
        }
        other => panic!("{geometry}: {other:?}"),
    }
}

#[test]
fn an_rfc_7946_collection_is_read_with_ids_and_properties() {
    let doc = r#"{"type":"FeatureCollection","name":"YJJBNTTB","features":[
      {"type":"Feature","id":1,"properties":{"BSM":"6109001","DLBM":"0101"},
       "geometry":{"type":"Polygon","coordinates":[[[109.0,32.6],[109.01,32.6],[109.01,32.61],[109.0,32.61],[109.0,32.6]]]}},
      {"type":"Feature","properties":null,
       "geometry":{"type":"MultiPolygon","coordinates":[[[[109.0,32.6],[109.01,32.6],[109.01,32.61],[109.0,32.6]]],[[[109.1,32.6],[109.11,32.6],[109.11,32.61],[109.1,32.6]]]]}}
    ]}"#;
    let items = collect(doc, Accept::Polygons).unwrap();
    assert_eq!(items.len(), 2);
    let Item::Feature(first) = &items[0] else {
        panic!("{items:?}")
    };
    assert_eq!(first.source_id.as_deref(), Some("1"));
    assert_eq!(first.properties["DLBM"], "0101");
    let Item::Feature(second) = &items[1] else {
        panic!("{items:?}")
    };
    assert!(second.properties.is_empty());
    assert!(matches!(&second.geometry, LayerGeometry::Polygons(mp) if mp.0.len() == 2));
}

#[test]
fn a_legacy_crs_member_for_zone_36_is_transformed_to_4490() {
    // The check value as a corner, in [easting, northing] as GDAL writes EPSG:4524.
    for (crs, e0) in [
        ("urn:ogc:def:crs:EPSG::4524", 36_596_505.793),
        ("EPSG:4524", 36_596_505.793),
        ("EPSG:4545", 596_505.793),
    ] {
        let doc = format!(
            r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"{crs}"}}}},"features":[
              {{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[[[{e0},3618282.030],[{e1},3618282.030],[{e1},3618382.030],[{e0},3618282.030]]]}}}}]}}"#,
            e1 = e0 + 100.0
        );
        let items = collect(&doc, Accept::Polygons).unwrap();
        let LayerGeometry::Polygons(mp) = only_feature(&items) else {
            panic!()
        };
        let c = mp.0[0].exterior().0[0];
        assert!(
            (c.x - 109.029).abs() < 1e-8 && (c.y - 32.685).abs() < 1e-8,
            "{crs}: {c:?}"
        );
    }
}

#[test]
fn zone_37_and_the_2008_crs_form_are_read() {
    for crs in [
        r#"{"type":"name","properties":{"name":"EPSG:4525"}}"#,
        r#"{"type":"EPSG","properties":{"code":4525}}"#,
    ] {
        let doc = format!(
            r#"{{"type":"FeatureCollection","crs":{crs},"features":[
              {{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[37425000.0,3586000.0]}}}}]}}"#
        );
        let items = collect(&doc, Accept::PolygonsOrPoints).unwrap();
        let LayerGeometry::Point(p) = only_feature(&items) else {
            panic!()
        };
        assert!(
            (110.1..110.3).contains(&p.x()) && (32.3..32.5).contains(&p.y()),
            "{p:?}"
        );
    }
    let doc = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:4546"}},"features":[
      {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[425000.0,3586000.0]}}]}"#;
    let LayerGeometry::Point(p) = only_feature(&collect(doc, Accept::PolygonsOrPoints).unwrap()).clone()
    else {
        panic!()
    };
    assert!((110.1..110.3).contains(&p.x()));
}

#[test]
fn an_unsupported_crs_is_refused_for_the_whole_document() {
    let doc = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:2383"}},"features":[]}"#;
    let err = collect(doc, Accept::Polygons).unwrap_err();
    assert!(matches!(err, GeoJsonError::Crs(_)), "{err}");
    assert!(err.to_string().contains("EPSG:2383 is not supported"), "{err}");
}

#[test]
fn a_crs_after_the_features_is_refused() {
    let doc = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[109.0,32.0]}}],
      "crs":{"type":"name","properties":{"name":"EPSG:4524"}}}"#;
    assert_eq!(
        collect(doc, Accept::PolygonsOrPoints).unwrap_err(),
        GeoJsonError::CrsAfterFeatures
    );
}

#[test]
fn each_validation_failure_gives_its_message_and_place() {
    let cases = [
        (
            r#"{"type":"Polygon","coordinates":[[[109.0,32.0],[109.1,32.0],[109.1,32.1],[109.0,32.1]]]}"#,
            "unclosed_ring",
            "feature 0, polygon 0, ring 0 (outer): the ring is not closed",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[[109.0,32.0],[109.1,32.0],[109.0,32.0]]]}"#,
            "too_few_points",
            "feature 0, polygon 0, ring 0 (outer): a ring needs at least 4 positions",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[[109.0,32.0],[209.1,32.0],[109.1,32.1],[109.0,32.0]]]}"#,
            "out_of_range",
            "feature 0, polygon 0, ring 0 (outer), vertex 1: (209.1, 32) is outside",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[[109.0,32.0],[109.1,32.1],[109.1,32.0],[109.0,32.1],[109.0,32.0]]]}"#,
            "self_intersection",
            "feature 0, polygon 0, ring 0 (outer), vertex 0: the ring intersects itself: the edge from vertex 0 meets the edge from vertex 2",
        ),
        (
            r#"{"type":"Polygon","coordinates":[]}"#,
            "empty",
            "feature 0, polygon 0: the geometry is empty",
        ),
        (
            r#"{"type":"MultiPolygon","coordinates":[]}"#,
            "empty",
            "feature 0: the geometry is empty",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[[109.0],[109.1,32.0],[109.1,32.1],[109.0,32.0]]]}"#,
            "short_position",
            "feature 0, polygon 0, ring 0 (outer), vertex 0: a position needs at least 2 numbers",
        ),
        (
            r#"{"type":"LineString","coordinates":[[109.0,32.0],[109.1,32.0]]}"#,
            "wrong_type",
            "feature 0: a LineString is not accepted here; expected a Polygon or MultiPolygon",
        ),
        (
            r#"{"type":"Point","coordinates":[109.0,32.0]}"#,
            "wrong_type",
            "feature 0: a Point is not accepted here",
        ),
        ("null", "no_geometry", "feature 0: the feature has no geometry"),
    ];
    for (geometry, code, message) in cases {
        let (got_code, got_reason) = refusal(geometry);
        assert_eq!(got_code, code, "{geometry}");
        assert!(got_reason.starts_with(message), "{geometry}: {got_reason}");
    }
}

#[test]
fn a_document_that_is_not_a_collection_is_refused() {
    let err = collect(r#"{"type":"Feature","features":[]}"#, Accept::Polygons).unwrap_err();
    assert!(matches!(err, GeoJsonError::WrongDocument { .. }), "{err}");
    let err = collect(
        r#"{"type":"FeatureCollection","features":[{"type":"Feature"#,
        Accept::Polygons,
    )
    .unwrap_err();
    assert!(matches!(err, GeoJsonError::Json { line: 1, .. }), "{err}");
}

#[test]
fn uploaded_parcels_are_all_or_nothing() {
    let good = r#"{"type":"Polygon","coordinates":[[[109.0,32.0],[109.1,32.0],[109.1,32.1],[109.0,32.0]]]}"#;
    assert_eq!(read_parcels(good).unwrap().len(), 1);
    let feature = format!(r#"{{"type":"Feature","properties":{{"name":"A"}},"geometry":{good}}}"#);
    assert_eq!(read_parcels(&feature).unwrap()[0].properties["name"], "A");
    let two = format!(
        r#"{{"type":"FeatureCollection","features":[{feature},{{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[[[109.0,32.0],[109.1,32.0],[109.0,32.0]]]}}}}]}}"#
    );
    match read_parcels(&two).unwrap_err() {
        ParcelsError::Refused(r) => {
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].index, 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        read_parcels(r#"{"type":"FeatureCollection","features":[]}"#).unwrap_err(),
        ParcelsError::Empty
    );
    let items = read_document(good, ReadOptions::parcels()).unwrap();
    assert_eq!(items.len(), 1);
}

/// A `FeatureCollection` of `n` small squares, produced as it is read.
struct Generated {
    n: usize,
    next: usize,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Generated {
    fn new(n: usize) -> Self {
        Generated {
            n,
            next: 0,
            buf: br#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":["#.to_vec(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if self.next < self.n {
                let i = self.next;
                let x = 108.0 + (i % 1000) as f64 * 0.001;
                let y = 32.0 + (i / 1000) as f64 * 0.001;
                let sep = if i == 0 { "" } else { "," };
                self.buf = format!(
                    r#"{sep}{{"type":"Feature","id":{i},"properties":{{"n":{i}}},"geometry":{{"type":"Polygon","coordinates":[[[{x},{y}],[{x1},{y}],[{x1},{y1}],[{x},{y1}],[{x},{y}]]]}}}}"#,
                    x1 = x + 0.0005,
                    y1 = y + 0.0005
                )
                .into_bytes();
                self.next += 1;
            } else if !self.done {
                self.buf = b"]}".to_vec();
                self.done = true;
            } else {
                return Ok(0);
            }
        }
        let k = out.len().min(self.buf.len() - self.pos);
        out[..k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}

#[test]
fn the_stream_reads_a_generated_collection_feature_by_feature() {
    let mut stream = FeatureStream::spawn(Generated::new(20_000), ReadOptions::layer(Accept::Polygons), 64);
    let mut count = 0;
    while let Some(item) = stream.blocking_next() {
        match item.unwrap() {
            Item::Feature(f) => {
                assert_eq!(f.index, count);
                assert_eq!(f.source_id, Some(count.to_string()));
            }
            Item::Refused(r) => panic!("{r}"),
        }
        count += 1;
    }
    assert_eq!(count, 20_000);
}

#[test]
fn dropping_the_stream_stops_the_reader() {
    let mut stream = FeatureStream::spawn(Generated::new(1_000_000), ReadOptions::layer(Accept::Polygons), 4);
    assert!(stream.blocking_next().is_some());
    drop(stream);
    // The reader thread notices the closed channel at its next send and ends; nothing to join,
    // but the test would hang on a reader that did not stop only if it held the process open.
}

#[test]
fn the_summary_names_the_source_crs() {
    let doc = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:4524"}},"features":[]}"#;
    let summary = read_collection(doc.as_bytes(), ReadOptions::layer(Accept::Polygons), |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(summary.source_srid, Srid::new(4524).unwrap());
    assert_eq!(summary.features, 0);
}

#[test]
fn a_layer_drops_an_altitude_but_refuses_a_fourth_number() {
    let z =
        r#"{"type":"Polygon","coordinates":[[[109.0,32.0,5],[109.1,32.0,5],[109.1,32.1,5],[109.0,32.0,5]]]}"#;
    let doc = format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{}},"geometry":{z}}}]}}"#
    );
    assert!(matches!(
        only_feature(&collect(&doc, Accept::Polygons).unwrap()),
        LayerGeometry::Polygons(_)
    ));
    let (code, reason) = refusal(
        r#"{"type":"Polygon","coordinates":[[[109.0,32.0,5,1],[109.1,32.0,5,1],[109.1,32.1,5,1],[109.0,32.0,5,1]]]}"#,
    );
    assert_eq!(code, "extra_ordinates");
    assert!(reason.contains("at most 3 numbers"), "{reason}");
}

#[test]
fn a_parcel_takes_neither_an_altitude_nor_a_place_outside_the_zones() {
    let z =
        r#"{"type":"Polygon","coordinates":[[[109.0,32.0,5],[109.1,32.0,5],[109.1,32.1,5],[109.0,32.0,5]]]}"#;
    match read_parcels(z).unwrap_err() {
        ParcelsError::Refused(r) => assert_eq!(r[0].code, "extra_ordinates"),
        other => panic!("{other:?}"),
    }
    let paris = r#"{"type":"Polygon","coordinates":[[[2.3,48.8],[2.4,48.8],[2.4,48.9],[2.3,48.8]]]}"#;
    match read_parcels(paris).unwrap_err() {
        ParcelsError::Refused(r) => {
            assert_eq!(r[0].code, "outside_zones");
            assert!(r[0].reason.contains("longitude 2.3"), "{}", r[0].reason);
        }
        other => panic!("{other:?}"),
    }
}
