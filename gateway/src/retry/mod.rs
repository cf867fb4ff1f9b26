//! Retry policy: the exponential backoff with jitter and the mapping of gRPC status codes
//! returned by a worker to retry or dead-letter decisions.

mod backoff;
mod status;

pub use backoff::{Backoff, BackoffError};
pub use status::{StatusDecision, decide_status};

#[cfg(test)]
mod tests;
