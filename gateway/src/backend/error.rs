//! [`BackendError`]: what can go wrong talking to a queue backend.

/// A backend failure.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The lease on a message is gone (it expired and the message may be redelivered): the
    /// settle was not applied.
    #[error("the lease on message {0} was lost (expired or taken by another consumer)")]
    LeaseLost(String),
    /// A named queue does not exist or cannot be used.
    #[error("queue `{queue}`: {reason}")]
    Queue {
        /// The queue.
        queue: String,
        /// Why.
        reason: String,
    },
    /// The backend could not be reached or failed; the operation may succeed if retried.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// Any other failure.
    #[error("{0}")]
    Other(String),
}
