//! The landuse service: the HTTP API over the domain and spatial crates, and the pieces the
//! `landuse` command-line tool runs.

pub mod admin;
pub mod app;
pub mod auth;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod health;
pub mod http;
pub mod ogc;
pub mod openapi;
pub mod problem;
pub mod quota;
pub mod reads;
pub mod review;
pub mod store;
pub mod supply;
pub mod telemetry;
pub mod timers;
pub mod workflow;
