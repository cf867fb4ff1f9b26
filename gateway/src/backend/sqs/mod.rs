//! The SQS backend (feature `sqs`): standard and FIFO queues through `aws-sdk-sqs`, tested
//! against ElasticMQ (`scripts/servers/elasticmq.sh`).
//!
//! How ferry's semantics map onto SQS, and what each costs:
//! - **Receive**: a long poll for at most as many messages as there are slots (at most 10),
//!   the lease being the visibility timeout (whole seconds, at most 12 h since the receive).
//!   A pending long poll is not interrupted by a shutdown (it ends within `receive_wait`).
//! - **Attempts** are `ApproximateReceiveCount`, corrected for uncounted hand-backs. On a
//!   standard queue a hand-back (worker down, realm busy, shutdown) *re-sends a copy* that
//!   carries the ferry id and the attempts already spent in its `ferry.meta` attribute,
//!   then deletes the original: durable across restarts, at the cost of one send and one
//!   (batched) delete instead of one visibility change. On a FIFO queue a copy would lose
//!   its place in its message group, so a hand-back resets the visibility and is remembered
//!   in memory only: after a restart it counts as an attempt.
//! - **Retries** change the visibility (batched), so FIFO order per group holds: SQS
//!   delivers nothing else of a group while one of its messages is invisible, so a retry
//!   delay holds up its whole group. SQS cannot change a message's attributes, so the
//!   failure history (first failure time, last error) is kept in a bounded memory
//!   (`failure_memory`) and written into copies; without it (restart, other replica) the
//!   first failure time falls back to the message's first receive. The last error of a
//!   dead letter is always exact (it is the current failure).
//! - **Dead letters** are ferry-managed: a copy goes to the error queue with its payload,
//!   its attributes and the story as one `ferry.dlq` JSON attribute (SQS allows 10
//!   attributes per message), then the original is deleted. Listing decodes the story back
//!   into the `ferry.dlq.*` keys. A native `RedrivePolicy` still works underneath;
//!   `ferry check` warns when `max_attempts` exceeds its `maxReceiveCount`.
//! - **Ids**: a message keeps its first SQS message id as its ferry id through copies.
//! - **Delays** are whole seconds, rounded up. Up to `max_native_delay` (15 min) they are
//!   SQS's `DelaySeconds`; a later deliver-at is sent with the maximum delay and re-sent on
//!   receive until due. Retry delays and lease extensions are visibility changes (12 h max).
//! - **Settles** are batched per queue within `settle_window`; an ack is reported done
//!   only when SQS confirmed its own entry.

mod admin;
mod backend;
mod batch;
mod client;
mod codec;
mod config;
mod dlq;
mod held;
mod memory;
mod publish;
mod receive;

pub use backend::SqsBackend;
pub use config::{SQS_MAX_DELAY, SQS_MAX_VISIBILITY, SqsConfig};

#[cfg(test)]
mod tests;
