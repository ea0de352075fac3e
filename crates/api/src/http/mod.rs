//! The conventions every HTTP handler shares: the error type, JSON bodies, ETags and
//! idempotent writes, and the one way a write handler begins and ends.

pub mod error;
pub mod etag;
pub mod idempotency;
pub mod integral;
pub mod json;
pub mod query;
pub mod write;
