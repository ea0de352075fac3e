//! Tests of the HTTP service and the `landuse` binary, against a real PostGIS.
//!
//! One test binary for the crate: each module is one concern, so a change links once.
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::too_many_lines,
    clippy::float_cmp
)]

mod admin;
mod advance_use;
mod approvals;
mod audit;
mod authz_matrix;
mod calendar;
mod checks;
mod common;
mod demo;
mod doc_walkthrough;
mod e2e_happy_path;
mod fixtures;
mod foundation;
mod hostile;
mod layer_cli;
mod limits;
mod ogc;
mod ogc_gdal;
mod openapi;
mod overlay;
mod parcels;
mod phases;
mod projects;
mod quota_api;
mod quota_ledgers;
mod reference_seeds;
mod replicas;
mod review;
mod row_security;
mod setup_script;
mod supply;
mod tiles;
mod timers;
mod timers_delivery;
mod timers_dispatch;
mod workflow;
