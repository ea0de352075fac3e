//! Who is acting: the bureau's roles and the actor making a decision.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A role from the bureau's table of people (`DOMAIN.md`, "People and what they do").
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
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// Land-use officer of a county bureau: creates cases, answers corrections.
    Officer,
    /// Planner of the municipal planning section: runs and confirms spatial checks.
    Planner,
    /// Municipal land-use section: advances, returns or rejects cases.
    Reviewer,
    /// Bureau leadership: grants the green channel.
    Leader,
    /// System administrator: users, layers, calendars, time limits, quotas.
    Admin,
    /// A GIS desktop client: reads layers and case footprints only.
    Gis,
}

/// The text is not one of the role codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; expected one of officer, planner, reviewer, leader, admin, gis")]
pub struct UnknownRole(pub String);

impl Role {
    /// Every role, in the order of the bureau's table.
    pub const ALL: &'static [Role] = <Role as strum::VariantArray>::VARIANTS;

    /// The stable code used in tokens, the database and JSON.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Parses a role code.
    ///
    /// # Errors
    /// [`UnknownRole`] when `code` is not exactly one of the codes.
    pub fn parse(code: &str) -> Result<Self, UnknownRole> {
        crate::code::parse(code).ok_or_else(|| UnknownRole(code.to_owned()))
    }

    /// Whether an identity with this role sees only its own counties' data.
    ///
    /// Only county officers are scoped; the municipal roles read all counties.
    pub fn is_county_scoped(self) -> bool {
        matches!(self, Role::Officer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The identity taking a decision: a user and the role they act in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// The user's identifier.
    pub id: Uuid,
    /// The role the user acts in.
    pub role: Role,
}

impl Actor {
    /// An actor with this identifier and role.
    pub fn new(id: Uuid, role: Role) -> Self {
        Self { id, role }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_role_code_parses_back_to_its_role() {
        for &role in Role::ALL {
            assert_eq!(Role::parse(role.code()).unwrap(), role);
            assert_eq!(role.code().parse::<Role>().unwrap(), role);
        }
    }

    #[test]
    fn role_codes_are_case_sensitive_and_exact() {
        assert!(Role::parse("Officer").is_err());
        assert!(Role::parse(" officer").is_err());
        assert!(Role::parse("").is_err());
    }

    #[test]
    fn serde_uses_the_role_codes() {
        assert_eq!(serde_json::to_string(&Role::Gis).unwrap(), "\"gis\"");
        assert_eq!(
            serde_json::from_str::<Role>("\"reviewer\"").unwrap(),
            Role::Reviewer
        );
    }

    #[test]
    fn only_officers_are_scoped_to_their_counties() {
        let scoped: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| r.is_county_scoped())
            .collect();
        assert_eq!(scoped, vec![Role::Officer]);
    }
}
