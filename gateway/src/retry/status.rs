//! How a gRPC error from the worker's `Handle` call is settled.
//!
//! | gRPC code | decision |
//! |---|---|
//! | `INVALID_ARGUMENT`, `FAILED_PRECONDITION`, `OUT_OF_RANGE`, `UNIMPLEMENTED` | dead-letter: the request itself is bad and will never succeed |
//! | `UNAVAILABLE`, `UNKNOWN`, `CANCELLED` | check the worker's health: not serving → hand back without counting the attempt; serving → retry |
//! | every other code (`INTERNAL`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`, `ABORTED`, `NOT_FOUND`, `PERMISSION_DENIED`, …) | retry with backoff, counted |
//!
//! `UNKNOWN` and `CANCELLED` are in the health-checked group because a worker process that
//! dies mid-call surfaces as a broken HTTP/2 stream, which tonic reports with those codes.

use tonic::Code;

/// What to do with a message whose `Handle` call failed with a gRPC status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusDecision {
    /// Move the message to the error queue now.
    DeadLetter,
    /// Retry with the subscription's backoff, counting the attempt.
    Retry,
    /// The worker may be gone: ask its health service, and hand the message back without
    /// counting the attempt if it is not serving (otherwise retry).
    CheckHealth,
}

/// The decision for a gRPC status code (see the module table).
pub fn decide_status(code: Code) -> StatusDecision {
    match code {
        Code::InvalidArgument
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::Unimplemented => StatusDecision::DeadLetter,
        Code::Unavailable | Code::Unknown | Code::Cancelled => StatusDecision::CheckHealth,
        _ => StatusDecision::Retry,
    }
}
