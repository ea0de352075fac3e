//! GeoJSON intake: whatever the bytes, reading parcels or a layer must answer with features or
//! a typed error, never panic, and never hand on a geometry that breaks the validator's rules.
#![no_main]

use std::ops::ControlFlow;

use landuse_spatial::geojson_in::{read_collection, read_parcels, Accept, Item, LayerGeometry, ReadOptions};
use landuse_spatial::validate::{self, Rules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(features) = read_parcels(text) {
            for f in features {
                let LayerGeometry::Polygons(mp) = f.geometry else {
                    panic!("a parcel that is not a polygon was accepted");
                };
                // What was accepted must pass the validator again once built.
                assert!(validate::check_multi_polygon(&mp, &Rules::PARCEL).is_ok());
                assert!(validate::within_zones(&mp).is_ok());
            }
        }
    }
    let _ = read_collection(data, ReadOptions::layer(Accept::PolygonsOrPoints), |item| {
        if let Item::Feature(f) = item {
            if let LayerGeometry::Polygons(mp) = f.geometry {
                assert!(validate::check_multi_polygon(&mp, &Rules::LAYER).is_ok());
            }
        }
        ControlFlow::Continue(())
    });
});
