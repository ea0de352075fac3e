//! Our validator against PostGIS: on thousands of random polygons and multipolygons,
//! [`validate::multi_polygon`] accepts exactly those that `ST_IsValid` calls valid.
//!
//! The polygons are drawn on a small integer grid, so that touching vertices, shared and
//! collinear edges, repeated points, holes on the shell and parts sharing a corner come up
//! often, and every orientation test is exact in both implementations. Half the rings are
//! star-shaped (points sorted by angle, often simple), half in random order (often crossing).
//! Rings are always closed here: an unclosed ring is not a geometry PostGIS can even hold as
//! WKT, and our refusal of it is tested on its own.
//!
//! `ST_MakeValid` (or any repair) is never called: it is the call that crashed a backend.
//! Needs `DATABASE_URL` pointing at a database with PostGIS (`landuse migrate` installs it).
#![allow(clippy::unwrap_used)]

use geo_types::Coord;
use landuse_spatial::validate::{self, Rules};
use proptest::prelude::*;
use sqlx::{Connection, PgConnection};

/// Grid side: coordinates are whole degrees 0..=GRID.
const GRID: i32 = 8;

fn ring_strategy(min: usize, max: usize) -> impl Strategy<Value = Vec<(i32, i32)>> {
    (
        prop::collection::vec((0..=GRID, 0..=GRID), min..=max),
        any::<bool>(),
    )
        .prop_map(|(mut pts, star)| {
            if star {
                let n = pts.len() as f64;
                let cx = pts.iter().map(|p| f64::from(p.0)).sum::<f64>() / n;
                let cy = pts.iter().map(|p| f64::from(p.1)).sum::<f64>() / n;
                pts.sort_by(|a, b| {
                    let aa = (f64::from(a.1) - cy).atan2(f64::from(a.0) - cx);
                    let bb = (f64::from(b.1) - cy).atan2(f64::from(b.0) - cx);
                    aa.total_cmp(&bb)
                });
            }
            let first = pts[0];
            pts.push(first);
            pts
        })
}

/// A polygon: a shell of 3–9 corners and up to two holes of 3–5.
fn polygon_strategy() -> impl Strategy<Value = Vec<Vec<(i32, i32)>>> {
    (
        ring_strategy(3, 9),
        prop::collection::vec(ring_strategy(3, 5), 0..=2),
    )
        .prop_map(|(shell, holes)| std::iter::once(shell).chain(holes).collect())
}

fn wkt(parts: &[Vec<Vec<(i32, i32)>>]) -> String {
    let polygons: Vec<String> = parts
        .iter()
        .map(|rings| {
            let rings: Vec<String> = rings
                .iter()
                .map(|r| {
                    let pts: Vec<String> = r.iter().map(|(x, y)| format!("{x} {y}")).collect();
                    format!("({})", pts.join(","))
                })
                .collect();
            format!("({})", rings.join(","))
        })
        .collect();
    format!("MULTIPOLYGON({})", polygons.join(","))
}

fn coords(parts: &[Vec<Vec<(i32, i32)>>]) -> Vec<Vec<Vec<Coord>>> {
    parts
        .iter()
        .map(|rings| {
            rings
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|&(x, y)| Coord {
                            x: f64::from(x),
                            y: f64::from(y),
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

struct Oracle {
    runtime: tokio::runtime::Runtime,
    conn: PgConnection,
}

impl Oracle {
    fn connect() -> Self {
        let url = std::env::var("DATABASE_URL").expect("this test needs DATABASE_URL (a PostGIS database)");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conn = runtime.block_on(PgConnection::connect(&url)).unwrap();
        Self { runtime, conn }
    }

    /// `ST_IsValid` and `ST_IsValidReason` of a WKT geometry.
    fn judge(&mut self, wkt: &str) -> (bool, String) {
        self.runtime
            .block_on(
                sqlx::query_as("select st_isvalid(g), st_isvalidreason(g) from st_geomfromtext($1, 4490) g")
                    .bind(wkt)
                    .fetch_one(&mut self.conn),
            )
            .unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_validator_agrees_with_st_isvalid(
        parts in prop::collection::vec(polygon_strategy(), 1..=2)
    ) {
        thread_local! {
            static ORACLE: std::cell::RefCell<Option<Oracle>> = const { std::cell::RefCell::new(None) };
        }
        let text = wkt(&parts);
        let ours = validate::multi_polygon(&coords(&parts), &Rules::PARCEL);
        let (postgis, reason) = ORACLE.with(|o| {
            o.borrow_mut().get_or_insert_with(Oracle::connect).judge(&text)
        });
        prop_assert_eq!(
            ours.is_ok(),
            postgis,
            "{}\nours: {:?}\nPostGIS: {}",
            text,
            ours.err().map(|e| e.to_string()),
            reason
        );
    }
}
