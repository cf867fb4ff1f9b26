//! `[subscriptions.<name>]`: one queue ferry consumes for the worker, with its limits and
//! retry policy. Every number and duration has its range in its type ([`crate::bounded`]).

use serde::{Deserialize, Serialize};

use crate::{
    bounded::{Count, Rate, Span},
    retry::Backoff,
};

/// A count of concurrent calls: 1 to 10 000.
pub type Concurrency = Count<1, 10_000>;
/// Messages per receive: 1 to 1000.
pub type BatchSize = Count<1, 1000>;
/// Deliveries of one message: 1 to 10 000.
pub type Attempts = Count<1, 10_000>;
/// Receive loops of one subscription: 1 to 64.
pub type Pollers = Count<1, 64>;
/// A lease or lease limit: 1 s to 12 h (the longest SQS visibility timeout).
pub type LeaseSpan = Span<1_000, 43_200_000>;
/// A handler timeout: 10 ms to 12 h.
pub type HandlerTimeout = Span<10, 43_200_000>;
/// A hand-back delay: 0 to 12 h.
pub type RequeueDelay = Span<0, 43_200_000>;
/// How long a receive waits on an empty queue: 10 ms to 5 min.
pub type ReceiveWait = Span<10, 300_000>;
/// How often queues are discovered again: 100 ms to 1 day.
pub type DiscoveryInterval = Span<100, 86_400_000>;

/// One subscription. Only the name (the table key) is required; `queue` defaults to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionConfig {
    /// The queue to consume; defaults to the subscription's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Where dead letters go; defaults to `<queue>-errors` (`<name>-errors.fifo` for a
    /// FIFO queue `<name>.fifo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_queue: Option<String>,
    /// The most `Handle` calls running at once for this subscription.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: Concurrency,
    /// The most messages fetched by one receive (never more than there is room to start).
    #[serde(default = "default_batch_size")]
    pub batch_size: BatchSize,
    /// The message attribute that holds the realm (tenant key).
    #[serde(default = "default_realm_attribute")]
    pub realm_attribute: String,
    /// The most `Handle` calls running at once for one realm; unset means no per-realm limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight_per_realm: Option<Concurrency>,
    /// How long a message of a realm at its limit is handed back for (not counted as an
    /// attempt), so that it does not block messages of other realms.
    #[serde(default = "default_realm_requeue_delay")]
    pub realm_requeue_delay: RequeueDelay,
    /// The most messages started per second (for third-party API limits); unset is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<Rate>,
    /// How long one `Handle` call may take; sent to the worker as the request deadline.
    #[serde(default = "default_handler_timeout")]
    pub handler_timeout: HandlerTimeout,
    /// The lease (visibility timeout / ack deadline) taken on receive and renewed while the
    /// worker runs, every third of it.
    #[serde(default = "default_lease")]
    pub lease: LeaseSpan,
    /// The longest a lease is extended for one delivery; must cover `handler_timeout`.
    #[serde(default = "default_max_lease")]
    pub max_lease: LeaseSpan,
    /// Deliveries before a retried message is dead-lettered.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: Attempts,
    /// Retry delays (and the cap on a delay the worker chooses).
    #[serde(default)]
    pub backoff: Backoff,
    /// How long one receive waits for messages when the queue is empty.
    #[serde(default = "default_receive_wait")]
    pub receive_wait: ReceiveWait,
    /// How many receive loops run at once for this subscription (they share its limits).
    #[serde(default = "default_pollers")]
    pub pollers: Pollers,
    /// A partitioned subscription: consume every queue whose name starts with this prefix
    /// (one queue per realm; the realm is the rest of the name), instead of `queue`.
    /// Needs a backend that can list queues (sqs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_prefix: Option<String>,
    /// How often a partitioned subscription looks for new queues.
    #[serde(default = "default_discovery_interval")]
    pub discovery_interval: DiscoveryInterval,
}

fn default_max_in_flight() -> Concurrency {
    Count::of(16)
}

fn default_batch_size() -> BatchSize {
    Count::of(10)
}

fn default_realm_attribute() -> String {
    "realm".to_owned()
}

fn default_realm_requeue_delay() -> RequeueDelay {
    Span::secs(1)
}

fn default_handler_timeout() -> HandlerTimeout {
    Span::secs(30)
}

fn default_lease() -> LeaseSpan {
    Span::secs(30)
}

fn default_max_lease() -> LeaseSpan {
    Span::secs(3600)
}

fn default_max_attempts() -> Attempts {
    Count::of(5)
}

fn default_receive_wait() -> ReceiveWait {
    Span::secs(1)
}

fn default_pollers() -> Pollers {
    Count::of(1)
}

fn default_discovery_interval() -> DiscoveryInterval {
    Span::secs(60)
}

impl Default for SubscriptionConfig {
    fn default() -> Self {
        Self {
            queue: None,
            error_queue: None,
            max_in_flight: default_max_in_flight(),
            batch_size: default_batch_size(),
            realm_attribute: default_realm_attribute(),
            max_in_flight_per_realm: None,
            realm_requeue_delay: default_realm_requeue_delay(),
            rate_limit: None,
            handler_timeout: default_handler_timeout(),
            lease: default_lease(),
            max_lease: default_max_lease(),
            max_attempts: default_max_attempts(),
            backoff: Backoff::default(),
            receive_wait: default_receive_wait(),
            pollers: default_pollers(),
            queue_prefix: None,
            discovery_interval: default_discovery_interval(),
        }
    }
}

impl SubscriptionConfig {
    /// The queue consumed by the subscription called `name`.
    pub fn queue_name(&self, name: &str) -> String {
        self.queue.clone().unwrap_or_else(|| name.to_owned())
    }

    /// The error queue of the subscription called `name`: `<queue>-errors`, keeping a
    /// `.fifo` suffix last (SQS requires it of a FIFO queue's name).
    pub fn error_queue_name(&self, name: &str) -> String {
        self.error_queue.clone().unwrap_or_else(|| {
            let queue = self.queue_name(name);
            match queue.strip_suffix(".fifo") {
                Some(base) => format!("{base}-errors.fifo"),
                None => format!("{queue}-errors"),
            }
        })
    }
}
