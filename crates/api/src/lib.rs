//! The landuse service: the HTTP API over the domain and spatial crates, and the pieces the
//! `landuse` command-line tool runs.

pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod health;
pub mod problem;
pub mod telemetry;
