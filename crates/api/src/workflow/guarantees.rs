//! What the element guarantees (quota and farmland offset) tell the workflow: the stage rules'
//! facts, and what a closed case gives back. The ledgers themselves live in `crate::quota`.

pub use crate::quota::guarantees::{case_guarantees, release_for_closed_case};
