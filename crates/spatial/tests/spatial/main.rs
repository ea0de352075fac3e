//! Tests of geometry in and out, areas, and the PostGIS layer store.
//!
//! One test binary for the crate: each module is one concern, so a change links once.
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::too_many_lines,
    clippy::float_cmp
)]

mod area;
mod coordfile;
mod geojson_in;
mod perf;
mod store;
mod supply;
mod validity_oracle;
