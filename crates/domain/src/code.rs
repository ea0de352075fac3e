//! The stable codes of the rule enums: the `snake_case` text a stage, role, layer kind or result
//! takes in JSON, in the database and in URLs.
//!
//! Each enum derives its codes with `strum` (`IntoStaticStr` for the code, `VariantArray` for
//! the list in declaration order) under the same `snake_case` rule serde applies, so the code,
//! the JSON value and the stored text cannot drift apart; the tests hold them equal. Parsing
//! is this one function, so an enum is never parsed two ways.

use strum::VariantArray;

/// The variant whose code is exactly `code` (case-sensitive, no trimming).
pub fn parse<T>(code: &str) -> Option<T>
where
    T: VariantArray + Copy + Into<&'static str>,
{
    T::VARIANTS
        .iter()
        .copied()
        .find(|v| Into::<&'static str>::into(*v) == code)
}

/// Every code of `T`, in declaration order, for messages that list what is accepted.
pub fn codes<T>() -> Vec<&'static str>
where
    T: VariantArray + Copy + Into<&'static str>,
{
    T::VARIANTS.iter().copied().map(Into::into).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{
        alerts::AlertKind,
        check::{LayerKind, LayerResult},
        clearing::ClearingStatus,
        designation::{DesignationKind, ProjectField},
        project::{ProjectLevel, ProjectSector},
        role::Role,
        stage::Stage,
        start_rate::ChangeKind,
        supply::{idle::IdleStatus, standard::Zone, unsupplied::AgeBucket, IndicatorKind, SupplyMethod},
        transition::{Action, Precondition},
    };

    /// Each variant's code is its JSON value and parses back to it.
    fn codes_agree_with_serde<T>()
    where
        T: VariantArray + Copy + Into<&'static str> + serde::Serialize + PartialEq + std::fmt::Debug,
    {
        assert!(!T::VARIANTS.is_empty());
        for &variant in T::VARIANTS {
            let code: &'static str = variant.into();
            assert_eq!(serde_json::to_value(variant).unwrap(), code, "{variant:?}");
            assert_eq!(parse::<T>(code), Some(variant));
            assert_eq!(parse::<T>(&code.to_uppercase()), None, "codes are case-sensitive");
        }
        let listed = codes::<T>();
        assert_eq!(listed.len(), T::VARIANTS.len());
    }

    #[test]
    fn every_rule_enum_code_is_its_json_value_and_parses_back() {
        codes_agree_with_serde::<AlertKind>();
        codes_agree_with_serde::<LayerKind>();
        codes_agree_with_serde::<LayerResult>();
        codes_agree_with_serde::<ClearingStatus>();
        codes_agree_with_serde::<DesignationKind>();
        codes_agree_with_serde::<ProjectField>();
        codes_agree_with_serde::<ProjectLevel>();
        codes_agree_with_serde::<ProjectSector>();
        codes_agree_with_serde::<Role>();
        codes_agree_with_serde::<Stage>();
        codes_agree_with_serde::<ChangeKind>();
        codes_agree_with_serde::<SupplyMethod>();
        codes_agree_with_serde::<IndicatorKind>();
        codes_agree_with_serde::<AgeBucket>();
        codes_agree_with_serde::<IdleStatus>();
        codes_agree_with_serde::<Zone>();
        codes_agree_with_serde::<Action>();
        codes_agree_with_serde::<Precondition>();
    }

    #[test]
    fn the_order_of_the_variants_is_the_declaration_order() {
        assert_eq!(codes::<Stage>()[..3], ["draft", "accepted", "pre_review"]);
        assert_eq!(
            LayerResult::ALL.last().copied(),
            Some(LayerResult::Prohibited),
            "severity follows declaration order"
        );
    }
}
