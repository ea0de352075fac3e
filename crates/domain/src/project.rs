//! Project attributes the rules depend on: its level, its sector, and the uses
//! that may lie outside the urban development boundary.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The level of government that approved the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            ProjectLevel::National => "national",
            ProjectLevel::Provincial => "provincial",
            ProjectLevel::Municipal => "municipal",
            ProjectLevel::County => "county",
        }
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

/// What kind of works the project builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            ProjectSector::Energy => "energy",
            ProjectSector::Transport => "transport",
            ProjectSector::Water => "water",
            ProjectSector::Military => "military",
            ProjectSector::Industry => "industry",
            ProjectSector::Livelihood => "livelihood",
            ProjectSector::Other => "other",
        }
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
mod tests {
    use super::*;

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
