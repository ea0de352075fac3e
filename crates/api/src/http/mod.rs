//! The conventions every HTTP handler shares: the error type, JSON bodies, ETags and
//! idempotent writes.

pub mod error;
pub mod etag;
pub mod idempotency;
pub mod json;
pub mod query;
