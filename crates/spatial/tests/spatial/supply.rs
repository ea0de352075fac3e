//! The issue's land-supply fixture end to end, across both crates: real polygons near Ankang
//! (109.03°E, 32.68°N) of an approval of 100 mu in two parcels, supplies of 30 and 25 mu that
//! overlap by 5 mu, and 10 mu supplied outside the approval. The spatial crate measures them on
//! the ellipsoid; the domain turns the measured areas into 批而未供 and 供地率, which must be
//! exactly 50.0% (not 55%, the overlap counted twice, nor 65%, the outside land counted too),
//! and refuses the overlapping and the outside part with their areas.

use chrono::NaiveDate;
use geo_types::{polygon, MultiPolygon};
use landuse_domain::check::SliverRule;
use landuse_domain::county::CountyCode;
use landuse_domain::ledger::Amount;
use landuse_domain::supply::part::{check_part, PartRefusal};
use landuse_domain::supply::unsupplied::{land_supply, AgeBucket, ApprovedLand};
use landuse_spatial::area::{ellipsoidal_area, M2_PER_MU};
use landuse_spatial::supply::{coverage, place_part};
use uuid::Uuid;

const WEST: f64 = 109.03;
const SOUTH: f64 = 32.68;
const NORTH: f64 = 32.682;

/// A lon/lat rectangle of the band from `from_mu` to `to_mu` mu east of [`WEST`].
fn strip(from_mu: f64, to_mu: f64) -> MultiPolygon {
    // Degrees of longitude per mu in this band, from a reference strip about the approval's
    // size: the band's area grows with the longitude span far more evenly than a hundredth of a
    // mu could show.
    let reference = 0.004;
    let per_mu = reference / (ellipsoidal_area(&rect(WEST, WEST + reference)) / M2_PER_MU);
    rect(WEST + from_mu * per_mu, WEST + to_mu * per_mu)
}

fn rect(x0: f64, x1: f64) -> MultiPolygon {
    polygon![(x: x0, y: SOUTH), (x: x1, y: SOUTH), (x: x1, y: NORTH), (x: x0, y: NORTH)].into()
}

fn mu(mp: &MultiPolygon) -> f64 {
    ellipsoidal_area(mp) / M2_PER_MU
}

fn approved() -> [MultiPolygon; 2] {
    [strip(0.0, 60.0), strip(60.0, 100.0)]
}

fn supplies() -> [MultiPolygon; 3] {
    [strip(0.0, 30.0), strip(25.0, 50.0), strip(100.0, 110.0)]
}

fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 0.001,
        "{actual} mu, expected {expected} mu"
    );
}

#[test]
fn the_fixture_parts_have_the_sizes_the_issue_gives() {
    let [first, second, outside] = supplies();
    close(mu(&first), 30.0);
    close(mu(&second), 25.0);
    close(mu(&outside), 10.0);
    close(approved().iter().map(mu).sum(), 100.0);
}

#[test]
fn overlapping_and_outside_supply_give_exactly_fifty_percent() {
    let c = coverage(&approved(), &supplies());
    close(c.approved.mu().value(), 100.0);
    close(c.supplied_within.mu().value(), 50.0);
    close(c.supplied_outside.mu().value(), 10.0);

    let batch = ApprovedLand {
        batch: Uuid::from_u128(1),
        document_number: "陕政土批〔2025〕7号".into(),
        county: CountyCode::parse("610902").unwrap(),
        approved_on: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        approved_m2: c.approved,
        supplied_within_approved_m2: c.supplied_within,
    };
    let report = land_supply(&[batch], NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()).unwrap();
    let line = &report.batches[0];
    assert_eq!(line.approved_mu, Amount::from_hundredths(10_000));
    assert_eq!(line.supplied_mu, Amount::from_hundredths(5_000));
    assert_eq!(line.unsupplied_mu, Amount::from_hundredths(5_000));
    assert_eq!(line.supply_percent, Some(50.0));
    assert_eq!(line.age, AgeBucket::UnderOneYear);
    assert_eq!(report.total.last_five_years.percent, Some(50.0));
}

#[test]
fn the_overlapping_part_and_the_outside_part_are_refused_with_their_areas() {
    let [first, second, outside] = supplies();
    let approved = approved();

    let m = place_part(&approved, &[], &first);
    assert_eq!(check_part(&m, &SliverRule::DEFAULT), Ok(()));

    let m = place_part(&approved, std::slice::from_ref(&first), &second);
    match check_part(&m, &SliverRule::DEFAULT) {
        Err(PartRefusal::OverlapsEarlierPart { index, area }) => {
            assert_eq!(index, 0);
            close(area.mu().value(), 5.0);
        }
        other => panic!("expected an overlap, got {other:?}"),
    }

    let m = place_part(&approved, &[first, second], &outside);
    match check_part(&m, &SliverRule::DEFAULT) {
        Err(PartRefusal::OutsideApproval { area }) => close(area.mu().value(), 10.0),
        other => panic!("expected the part outside, got {other:?}"),
    }
    assert!(
        m.overlaps.is_empty(),
        "the outside part touches no earlier part: {:?}",
        m.overlaps
    );
}

#[test]
fn a_part_beside_an_earlier_one_within_the_approval_is_accepted() {
    let approved = approved();
    let earlier = [strip(0.0, 30.0)];
    let m = place_part(&approved, &earlier, &strip(30.0, 100.0));
    assert_eq!(check_part(&m, &SliverRule::DEFAULT), Ok(()));
    close(m.area.mu().value(), 70.0);
}
