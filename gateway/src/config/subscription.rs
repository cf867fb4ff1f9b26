//! `[subscriptions.<name>]`: one queue ferry consumes for the worker, with its limits and
//! retry policy.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::retry::Backoff;

/// One subscription. Only the name (the table key) is required; `queue` defaults to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionConfig {
    /// The queue to consume; defaults to the subscription's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Where dead letters go; defaults to `<queue>-errors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_queue: Option<String>,
    /// The most `Handle` calls running at once for this subscription.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u32,
    /// The most messages fetched by one receive (never more than there is room to start).
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// The message attribute that holds the realm (tenant key).
    #[serde(default = "default_realm_attribute")]
    pub realm_attribute: String,
    /// The most `Handle` calls running at once for one realm; unset means no per-realm limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight_per_realm: Option<u32>,
    /// How long a message of a realm at its limit is handed back for (not counted as an
    /// attempt), so that it does not block messages of other realms.
    #[serde(default = "default_realm_requeue_delay", with = "humantime_serde")]
    pub realm_requeue_delay: Duration,
    /// The most messages started per second (for third-party API limits); unset is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
    /// How long one `Handle` call may take; sent to the worker as the request deadline.
    #[serde(default = "default_handler_timeout", with = "humantime_serde")]
    pub handler_timeout: Duration,
    /// The lease (visibility timeout / ack deadline) taken on receive and renewed while the
    /// worker runs, every third of it.
    #[serde(default = "default_lease", with = "humantime_serde")]
    pub lease: Duration,
    /// The longest a lease is extended for one delivery; must cover `handler_timeout`.
    #[serde(default = "default_max_lease", with = "humantime_serde")]
    pub max_lease: Duration,
    /// Deliveries before a retried message is dead-lettered.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Retry delays (and the cap on a delay the worker chooses).
    #[serde(default)]
    pub backoff: Backoff,
    /// How long one receive waits for messages when the queue is empty.
    #[serde(default = "default_receive_wait", with = "humantime_serde")]
    pub receive_wait: Duration,
    /// How many receive loops run at once for this subscription (they share its limits).
    #[serde(default = "default_pollers")]
    pub pollers: u32,
    /// A partitioned subscription: consume every queue whose name starts with this prefix
    /// (one queue per realm; the realm is the rest of the name), instead of `queue`.
    /// Needs a backend that can list queues (sqs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_prefix: Option<String>,
    /// How often a partitioned subscription looks for new queues.
    #[serde(default = "default_discovery_interval", with = "humantime_serde")]
    pub discovery_interval: Duration,
}

fn default_max_in_flight() -> u32 {
    16
}

fn default_batch_size() -> u32 {
    10
}

fn default_realm_attribute() -> String {
    "realm".to_owned()
}

fn default_realm_requeue_delay() -> Duration {
    Duration::from_secs(1)
}

fn default_handler_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_lease() -> Duration {
    Duration::from_secs(30)
}

fn default_max_lease() -> Duration {
    Duration::from_secs(3600)
}

fn default_max_attempts() -> u32 {
    5
}

fn default_receive_wait() -> Duration {
    Duration::from_secs(1)
}

fn default_pollers() -> u32 {
    1
}

fn default_discovery_interval() -> Duration {
    Duration::from_secs(60)
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

    /// The error queue of the subscription called `name`.
    pub fn error_queue_name(&self, name: &str) -> String {
        self.error_queue
            .clone()
            .unwrap_or_else(|| format!("{}-errors", self.queue_name(name)))
    }
}
