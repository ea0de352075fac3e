//! The element guarantees' ledgers (要素保障): construction quota and farmland offset, as rules.
//!
//! The database keeps the ledgers (append-only movements, balances that cannot go below zero);
//! this module decides what may happen to them: what a case needs ([`quota::need_mu`], the
//! cultivated split of its check), who may act at which stage ([`rules`]), which indicators a
//! lock takes and gives back ([`offset`]), and whether what a case holds covers its need
//! ([`QuotaPosition`], [`OffsetPosition`], read by the stage rules of
//! [`crate::transition`]).
//!
//! | module | what it holds |
//! |---|---|
//! | [`amount`] | exact two-decimal amounts (mu, m², kg) |
//! | [`quota`] | the quota a case needs, and its position (needed, held, consumed) |
//! | [`offset`] | the lock plan, the adjustment to a changed need, the release plan |
//! | [`rules`] | the table of ledger actions × roles × stages |

pub mod amount;
pub mod offset;
pub mod quota;
pub mod rules;

use serde::{Deserialize, Serialize};

pub use amount::{Amount, AmountError};
pub use offset::{LockAdjustment, Quantities, Quantity, Shortfall, Take};
pub use quota::QuotaPosition;

/// Where a case stands on farmland offset: what it needs, has locked and has consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OffsetPosition {
    /// The cultivated and paddy area of the latest confirmed check (dismissals applied) and the
    /// grain capacity the reviewer stated for it; `None` until both are known.
    pub needed: Option<Quantities>,
    /// Locked and not yet consumed or released.
    pub locked: Quantities,
    /// Consumed by the approved conversion.
    pub consumed: Quantities,
}

impl OffsetPosition {
    /// What the lock (with what is already consumed) leaves short of the need, per quantity;
    /// `None` while the need is unknown.
    pub fn shortfalls(&self) -> Option<Vec<Shortfall>> {
        self.needed
            .map(|needed| self.locked.plus(&self.consumed).shortfalls_against(&needed))
    }
}
