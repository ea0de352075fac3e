//! Project attributes the rules depend on: its level, its sector, and the uses
//! that may lie outside the urban development boundary.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The level of government that approved the project.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ProjectLevel {
    /// A national project.
    National,
    /// A provincial project.
    Provincial,
    /// A municipal project.
    Municipal,
    /// A county project.
    County,
}

impl ProjectLevel {
    /// Every level, from the highest.
    pub const ALL: &'static [ProjectLevel] = <ProjectLevel as strum::VariantArray>::VARIANTS;

    /// Parses a level code, the one way the service reads a stored or submitted level.
    ///
    /// # Errors
    /// [`UnknownCode`] when `code` is not exactly one of the codes of [`ProjectLevel::ALL`].
    pub fn parse(code: &str) -> Result<Self, UnknownCode> {
        crate::code::parse(code)
            .ok_or_else(|| UnknownCode::new("project level", code, &crate::code::codes::<Self>()))
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Whether the level is national or provincial, the levels the special
    /// paths (State Council approval, advance use) are open to.
    pub fn is_national_or_provincial(self) -> bool {
        matches!(self, ProjectLevel::National | ProjectLevel::Provincial)
    }
}

impl fmt::Display for ProjectLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A text that is not one of a project attribute's codes: says which attribute, what was given
/// and what is allowed, so the API can answer it and a stored value can be reported as corrupt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {given:?} is not one of {allowed}")]
pub struct UnknownCode {
    /// The attribute (`project level`, `project sector`).
    pub what: &'static str,
    /// The text given.
    pub given: String,
    /// The allowed codes, comma-separated.
    pub allowed: String,
}

impl UnknownCode {
    pub(crate) fn new(what: &'static str, given: &str, allowed: &[&str]) -> Self {
        Self {
            what,
            given: given.to_owned(),
            allowed: allowed.join(", "),
        }
    }
}

/// What kind of works the project builds.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ProjectSector {
    /// Energy: power, oil and gas, grids.
    Energy,
    /// Transport: roads, railways, airports, waterways.
    Transport,
    /// Water: water conservancy and supply.
    Water,
    /// Military works.
    Military,
    /// Industry.
    Industry,
    /// Livelihood: schools, hospitals, housing.
    Livelihood,
    /// Anything else.
    Other,
}

impl ProjectSector {
    /// Every sector.
    pub const ALL: &'static [ProjectSector] = <ProjectSector as strum::VariantArray>::VARIANTS;

    /// Parses a sector code, the one way the service reads a stored or submitted sector.
    ///
    /// # Errors
    /// [`UnknownCode`] when `code` is not exactly one of the codes of [`ProjectSector::ALL`].
    pub fn parse(code: &str) -> Result<Self, UnknownCode> {
        crate::code::parse(code)
            .ok_or_else(|| UnknownCode::new("project sector", code, &crate::code::codes::<Self>()))
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for ProjectSector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Whether a project may take permanent basic farmland with State Council
/// approval: national or provincial energy, transport, water or military projects.
pub fn qualifies_for_state_council(level: ProjectLevel, sector: ProjectSector) -> bool {
    level.is_national_or_provincial()
        && matches!(
            sector,
            ProjectSector::Energy | ProjectSector::Transport | ProjectSector::Water | ProjectSector::Military
        )
}

/// A use that may lie outside the urban development boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutsideBoundaryUse {
    /// Linear infrastructure: roads, railways, pipelines, power lines.
    LinearInfrastructure,
    /// Mining.
    Mining,
    /// Special uses (military, security, religious and the like).
    Special,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_level_and_sector_parses_back_from_its_code_and_nothing_else_parses() {
        for &level in ProjectLevel::ALL {
            assert_eq!(ProjectLevel::parse(level.code()), Ok(level));
        }
        for &sector in ProjectSector::ALL {
            assert_eq!(ProjectSector::parse(sector.code()), Ok(sector));
        }
        let refused = ProjectLevel::parse("Provincial").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "project level \"Provincial\" is not one of national, provincial, municipal, county"
        );
        assert!(ProjectSector::parse("").is_err());
    }

    #[test]
    fn only_national_or_provincial_energy_transport_water_or_military_projects_qualify() {
        use ProjectLevel::{County, Municipal, National, Provincial};
        use ProjectSector::{Energy, Industry, Livelihood, Military, Other, Transport, Water};
        for level in [National, Provincial, Municipal, County] {
            for sector in [Energy, Transport, Water, Military, Industry, Livelihood, Other] {
                let expected = matches!(level, National | Provincial)
                    && matches!(sector, Energy | Transport | Water | Military);
                assert_eq!(qualifies_for_state_council(level, sector), expected);
            }
        }
    }
}
