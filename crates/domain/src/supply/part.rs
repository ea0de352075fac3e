//! Whether a new supplied part may be recorded: it must lie within the approved parcels and
//! overlap no earlier part of the same approval (`DOMAIN.md`, "Land supply": "the supplied
//! geometry (within the approved parcels)"; issue 19: "refused with the area").
//!
//! The spatial crate measures the part (`landuse_spatial::supply::place_part`): its area, the area
//! outside the approval, and its overlap with each earlier part, on the ellipsoid. The boolean
//! operations that measure them leave float noise along shared edges, so an area under the
//! sliver rule of the spatial check ([`SliverRule`], by default under 1 m² or under 0.01% of the
//! part) does not count, as `DOMAIN.md` ("Spatial check") says of slivers. Anything more is
//! refused with its area in m² and mu.

use serde::{Deserialize, Serialize};

use crate::check::SliverRule;
use crate::units::SquareMetres;

/// The overlap of a new part with one earlier part.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PartOverlap {
    /// The earlier part's position in the list the caller measured against.
    pub index: usize,
    /// The area they share.
    pub area: SquareMetres,
}

/// A new part as the spatial crate measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartMeasure {
    /// The part's area.
    pub area: SquareMetres,
    /// Its area outside the approved parcels.
    pub outside_approval: SquareMetres,
    /// Its overlap with each earlier part it touches with an area, in the earlier parts' order.
    pub overlaps: Vec<PartOverlap>,
}

/// Why a part cannot be recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PartRefusal {
    /// Part of it lies outside the approved parcels.
    #[error("{area} ({mu:.2} mu) of the supplied geometry lies outside the approved parcels", mu = area.mu().value())]
    OutsideApproval {
        /// The area outside.
        area: SquareMetres,
    },
    /// It overlaps an earlier part.
    #[error("the supplied geometry overlaps earlier part {index} by {area} ({mu:.2} mu)", mu = area.mu().value())]
    OverlapsEarlierPart {
        /// The earlier part's position.
        index: usize,
        /// The area they share.
        area: SquareMetres,
    },
    /// The part has no area.
    #[error("the supplied geometry has no area")]
    Empty,
}

/// Whether a part measured as `measure` may be recorded: refused when it has no area, lies
/// outside the approval by more than a sliver, or overlaps an earlier part by more than a sliver
/// (the largest overlap named).
///
/// # Errors
/// [`PartRefusal`], with the area.
///
/// ```
/// use landuse_domain::check::SliverRule;
/// use landuse_domain::supply::part::{check_part, PartMeasure, PartOverlap, PartRefusal};
/// use landuse_domain::units::SquareMetres;
/// let m2 = |v| SquareMetres::new(v).unwrap();
/// let part = PartMeasure { area: m2(20_000.0), outside_approval: m2(0.3), overlaps: vec![] };
/// assert_eq!(check_part(&part, &SliverRule::DEFAULT), Ok(()));
/// let over = PartMeasure { overlaps: vec![PartOverlap { index: 0, area: m2(3_333.33) }], ..part };
/// assert!(matches!(check_part(&over, &SliverRule::DEFAULT), Err(PartRefusal::OverlapsEarlierPart { index: 0, .. })));
/// ```
pub fn check_part(measure: &PartMeasure, slivers: &SliverRule) -> Result<(), PartRefusal> {
    if measure.area.value() <= 0.0 {
        return Err(PartRefusal::Empty);
    }
    if !slivers.is_sliver(measure.outside_approval, measure.area) {
        return Err(PartRefusal::OutsideApproval {
            area: measure.outside_approval,
        });
    }
    let largest = measure
        .overlaps
        .iter()
        .filter(|o| !slivers.is_sliver(o.area, measure.area))
        .max_by(|a, b| a.area.value().total_cmp(&b.area.value()));
    match largest {
        Some(overlap) => Err(PartRefusal::OverlapsEarlierPart {
            index: overlap.index,
            area: overlap.area,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn m2(v: f64) -> SquareMetres {
        SquareMetres::new(v).unwrap()
    }

    #[test]
    fn a_part_outside_the_approval_is_refused_with_the_area() {
        let part = PartMeasure {
            area: m2(10_000.0),
            outside_approval: m2(6_666.67),
            overlaps: vec![],
        };
        let refused = check_part(&part, &SliverRule::DEFAULT).unwrap_err();
        assert_eq!(refused, PartRefusal::OutsideApproval { area: m2(6_666.67) });
        assert!(refused.to_string().contains("(10.00 mu)"), "{refused}");
    }

    #[test]
    fn the_largest_overlap_beyond_a_sliver_is_named() {
        let part = PartMeasure {
            area: m2(16_666.67),
            outside_approval: SquareMetres::ZERO,
            overlaps: vec![
                PartOverlap {
                    index: 0,
                    area: m2(0.5),
                },
                PartOverlap {
                    index: 1,
                    area: m2(3_333.33),
                },
                PartOverlap {
                    index: 2,
                    area: m2(10.0),
                },
            ],
        };
        assert_eq!(
            check_part(&part, &SliverRule::DEFAULT),
            Err(PartRefusal::OverlapsEarlierPart {
                index: 1,
                area: m2(3_333.33)
            })
        );
    }

    #[test]
    fn noise_under_the_sliver_rule_does_not_count_but_just_above_it_does() {
        let part = |outside| PartMeasure {
            area: m2(5_000.0),
            outside_approval: m2(outside),
            overlaps: vec![],
        };
        assert_eq!(check_part(&part(0.999), &SliverRule::DEFAULT), Ok(()));
        assert!(check_part(&part(1.0), &SliverRule::DEFAULT).is_err());
        let empty = PartMeasure {
            area: SquareMetres::ZERO,
            outside_approval: SquareMetres::ZERO,
            overlaps: vec![],
        };
        assert_eq!(check_part(&empty, &SliverRule::DEFAULT), Err(PartRefusal::Empty));
    }
}
