//! Tests of the bureau's rules: table cases and properties, no I/O.
//!
//! One test binary for the crate: each module is one concern, so a change links once.
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::too_many_lines,
    clippy::float_cmp
)]

mod calendar;
mod check;
mod clearing;
mod common;
mod green;
mod limits;
mod properties;
mod transitions;
