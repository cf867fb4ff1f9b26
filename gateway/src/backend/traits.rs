//! The [`Backend`] trait (what dispatch needs) and the opt-in capabilities used by the
//! `ferry dlq` and `ferry queue` commands.

use std::time::Duration;

use async_trait::async_trait;

use super::{
    BackendError, DeadLetter, DeadLetterStory, Failure, NewMessage, QueuePlan, Receipt, Received,
    Sampled, Stats,
};

/// The default [`Backend::horizon`]: 365 days.
pub const DEFAULT_HORIZON: Duration = Duration::from_secs(365 * 24 * 3600);

/// A queue backend. All methods are safe to call concurrently.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// A short name for logs ("embedded", "sqs", "pubsub").
    fn kind(&self) -> &'static str;

    /// The longest a published message may wait for its delivery time (a delay or
    /// deliver-at further ahead is refused at publish). Default: [`DEFAULT_HORIZON`].
    fn horizon(&self) -> Duration {
        DEFAULT_HORIZON
    }

    /// Receives up to `max` messages from `queue`, each leased for `lease`. Waits up to
    /// `wait` for the first message; returns an empty batch when none came.
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Received>, BackendError>;

    /// Extends a lease to `lease` from now.
    async fn extend(
        &self,
        queue: &str,
        receipt: &Receipt,
        lease: Duration,
    ) -> Result<(), BackendError>;

    /// Deletes a processed message.
    async fn ack(&self, queue: &str, receipt: &Receipt) -> Result<(), BackendError>;

    /// Makes a message visible again after `delay`. With `failure`, the attempt counts and
    /// the failure is remembered for the dead letter's story; without, the delivery is
    /// given back uncounted (worker down, shutdown, admission limits).
    async fn release(
        &self,
        queue: &str,
        receipt: &Receipt,
        delay: Duration,
        failure: Option<&Failure>,
    ) -> Result<(), BackendError>;

    /// Moves a leased message to `error_queue` with its payload, its attributes and the
    /// story, then deletes it from its queue.
    async fn dead_letter(
        &self,
        message: &Received,
        error_queue: &str,
        story: &DeadLetterStory,
    ) -> Result<(), BackendError>;

    /// Publishes messages; returns their ids in order. A message whose de-duplication id
    /// was already published to the same queue within the window is dropped and reports
    /// the original id.
    async fn publish(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, BackendError>;

    /// The dead-letter capability, if the backend has it.
    fn dead_letters(&self) -> Option<&dyn DeadLetterAdmin> {
        None
    }

    /// The statistics capability, if the backend has it.
    fn stats(&self) -> Option<&dyn QueueStats> {
        None
    }

    /// Queue depths sampled by a monitoring system, for a backend without [`QueueStats`]
    /// whose API has no counts (Pub/Sub with Cloud Monitoring), if it has them.
    fn sampled_stats(&self) -> Option<&dyn SampledStats> {
        None
    }

    /// Why there are no queue counts, for a backend with neither [`QueueStats`] nor
    /// [`SampledStats`] (said by `ferry queue stats` and the console).
    fn no_counts_reason(&self) -> String {
        format!("the {} backend reports no queue counts", self.kind())
    }

    /// The preflight capability (checks against the live backend), if the backend has it.
    fn preflight(&self) -> Option<&dyn Preflight> {
        None
    }

    /// Queue discovery by name prefix (partitioned subscriptions), if the backend has it.
    fn discovery(&self) -> Option<&dyn QueueDiscovery> {
        None
    }

    /// Makes what `ferry run` needs on the backend before its first receive, for the
    /// subscriptions of `plans` (`ferry check` does not call it: it changes nothing). The
    /// Pub/Sub backend makes each error topic's subscription here, so that no dead letter,
    /// of this process or another, is published before the subscription that keeps it
    /// exists. The default does nothing.
    async fn provision(&self, _plans: &[QueuePlan]) -> Result<(), BackendError> {
        Ok(())
    }

    /// Whether [`Backend::receive`] does real work on the calling task before it waits
    /// (the SQS SDK builds and signs each request there). After a receive that found no
    /// backlog, the receive loop then lets the deliveries it started hand their calls to
    /// the worker before it starts the next receive (`dispatch/first_polls.rs`). The
    /// default, false: the next receive is started first.
    fn prepares_receive_inline(&self) -> bool {
        false
    }

    /// Called once before the first receive from `queue`, with the most deliveries of it
    /// this process holds at once (the subscription's `max_in_flight`). A backend with
    /// server-side flow control (Pub/Sub's streaming pull) sizes its stream with it, so
    /// the stream never has to be re-opened to grow. The default does nothing.
    fn plan_receive(&self, _queue: &str, _max_in_flight: usize) {}

    /// Called when this process stops receiving from `queue` (its subscription's pollers
    /// ended at shutdown). A backend that receives ahead of demand (Pub/Sub's streaming
    /// pull) hands back what it holds, uncounted, and must still settle the deliveries
    /// that are running. The default does nothing.
    async fn stop_receiving(&self, _queue: &str) {}
}

/// Reading and redriving an error queue.
#[async_trait]
pub trait DeadLetterAdmin: Send + Sync {
    /// Up to `limit` dead letters of `error_queue`, oldest first, without taking them.
    async fn list(&self, error_queue: &str, limit: usize) -> Result<Vec<DeadLetter>, BackendError>;

    /// Moves up to `limit` dead letters of `error_queue` back to their source queue (from
    /// the story, else `default_queue`) with the story removed and the attempt count reset.
    /// Returns how many moved.
    async fn redrive(
        &self,
        error_queue: &str,
        default_queue: &str,
        limit: usize,
    ) -> Result<usize, BackendError>;

    /// Moves the dead letters of `error_queue` whose ids (as [`DeadLetterAdmin::list`]
    /// gives them) are in `ids` back to their source queue, like
    /// [`DeadLetterAdmin::redrive`]. Returns how many moved (an id not found is skipped).
    async fn redrive_ids(
        &self,
        error_queue: &str,
        default_queue: &str,
        ids: &[String],
    ) -> Result<usize, BackendError> {
        let _ = (default_queue, ids);
        Err(unsupported(error_queue, "redrive chosen dead letters"))
    }

    /// Deletes the dead letters of `error_queue` whose ids are in `ids`; how many.
    async fn delete_ids(&self, error_queue: &str, ids: &[String]) -> Result<usize, BackendError> {
        let _ = ids;
        Err(unsupported(error_queue, "delete dead letters"))
    }

    /// Deletes every dead letter of `error_queue`; how many (approximate where the backend
    /// only counts approximately).
    async fn purge(&self, error_queue: &str) -> Result<usize, BackendError> {
        Err(unsupported(error_queue, "purge an error queue"))
    }
}

fn unsupported(queue: &str, what: &str) -> BackendError {
    BackendError::Queue {
        queue: queue.to_owned(),
        reason: format!("this backend cannot {what}"),
    }
}

/// Queue depth counts.
#[async_trait]
pub trait QueueStats: Send + Sync {
    /// Counts for `queue`, with `dead` counted in `error_queue`.
    async fn stats(&self, queue: &str, error_queue: &str) -> Result<Stats, BackendError>;
}

/// Queue depths as a monitoring system samples them: minutes old, shown to people (the
/// console, `ferry queue stats`), never used where a count decides something.
#[async_trait]
pub trait SampledStats: Send + Sync {
    /// The last sampled depth of `queue`, with its delay path and `error_queue`.
    async fn sampled(&self, queue: &str, error_queue: &str) -> Result<Sampled, BackendError>;
}

/// Checks against the live backend that a config can work (run by `ferry run` before it
/// starts and by `ferry check`).
#[async_trait]
pub trait Preflight: Send + Sync {
    /// `Err` names what makes the plans unusable (a queue that does not exist or cannot be
    /// used); `Ok` holds warnings about what works but probably not as intended.
    async fn preflight(&self, plans: &[QueuePlan]) -> Result<Vec<String>, BackendError>;
}

/// Listing queues by name prefix.
#[async_trait]
pub trait QueueDiscovery: Send + Sync {
    /// The names of the queues whose name starts with `prefix`, sorted.
    async fn queues_with_prefix(&self, prefix: &str) -> Result<Vec<String>, BackendError>;
}
