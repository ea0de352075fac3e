//! What the element guarantees (quota and farmland offset) tell the workflow: the stage rules'
//! facts, what the conversion approval consumes, and what a case closed before it gives back.
//! The ledgers themselves live in `crate::quota`.

pub use crate::quota::guarantees::{consume_at_approval, positions, release_for_closed_case, Positions};
