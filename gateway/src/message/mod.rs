//! What ferry checks and derives from a message before calling the worker: the realm, the
//! trace context, and the limits that make a message malformed.

mod inspect;
mod outgoing;
mod trace;

pub use inspect::{Inspected, inspect};
pub use outgoing::{OutgoingError, to_new_message};
pub use trace::{TraceContext, new_span_id, span_id_of, stamp_follow_up, trace_id_of};

#[cfg(test)]
mod tests;
