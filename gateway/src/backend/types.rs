//! Values passed across the [`Backend`](super::Backend) trait.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use serde::Serialize;

/// An opaque handle on one leased delivery (SQS receipt handle, Pub/Sub ack id, embedded
/// lease token). Valid until the lease expires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Receipt(pub String);

/// A message received under a lease.
#[derive(Debug, Clone)]
pub struct Received {
    /// The broker's message id, stable across redeliveries.
    pub id: String,
    /// The queue it was received from.
    pub queue: String,
    /// The body.
    pub payload: Bytes,
    /// The attributes that could be decoded.
    pub attributes: BTreeMap<String, String>,
    /// Set when the broker's attributes could not be decoded: the message is dead-lettered
    /// with this reason.
    pub malformed: Option<String>,
    /// This delivery's attempt number, from 1 (uncounted hand-backs excluded).
    pub attempt: u32,
    /// When the message was published.
    pub published_at: Option<SystemTime>,
    /// The publisher's de-duplication id, if any.
    pub dedup_id: Option<String>,
    /// Earlier failures of this message, where the backend keeps them.
    pub failures: Option<Failure>,
    /// The lease.
    pub receipt: Receipt,
}

/// The failure history a backend keeps for a message between deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error of the latest failed attempt.
    pub last_error: String,
    /// When the first attempt failed.
    pub first_at: SystemTime,
    /// When the latest attempt failed.
    pub last_at: SystemTime,
}

/// A message to publish, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The destination queue.
    pub queue: String,
    /// The body.
    pub payload: Bytes,
    /// Attributes.
    pub attributes: BTreeMap<String, String>,
    /// Not visible before this time; `None` is at once.
    pub deliver_at: Option<SystemTime>,
    /// De-duplication id, if any.
    pub dedup_id: Option<String>,
    /// Ordering key, if any.
    pub ordering_key: Option<String>,
}

impl NewMessage {
    /// A message with only a destination and a payload.
    pub fn new(queue: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        Self {
            queue: queue.into(),
            payload: payload.into(),
            attributes: BTreeMap::new(),
            deliver_at: None,
            dedup_id: None,
            ordering_key: None,
        }
    }

    /// Adds an attribute.
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// A message sitting in an error queue, with its story.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// The id in the error queue.
    pub id: String,
    /// The body.
    #[serde(skip)]
    pub payload: Bytes,
    /// Attributes, story included (`ferry.dlq.*`).
    pub attributes: BTreeMap<String, String>,
}

/// Approximate counts for one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Visible now.
    pub ready: u64,
    /// Leased by a consumer.
    pub in_flight: u64,
    /// Waiting for a due time (retry delay or scheduled publish).
    pub delayed: u64,
    /// In the error queue.
    pub dead: u64,
}

/// A queue's depth as a monitoring system last sampled it (Pub/Sub, through Cloud
/// Monitoring): minutes old, for people to read, never for a decision such as how many
/// letters a redrive moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampled {
    /// Messages not yet acknowledged, those leased by a consumer included.
    pub backlog: u64,
    /// Waiting on the backend's delay path (Pub/Sub: the retry subscription).
    pub delayed: u64,
    /// In the error queue.
    pub dead: u64,
    /// When the queue's own figure was sampled.
    pub sampled_at: std::time::SystemTime,
}

/// What a backend's preflight checks for one subscription: the queues it uses and the
/// settings the backend's own limits bear on. Built by the config
/// (`FerryConfig::queue_plans`), so a backend never needs the whole config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePlan {
    /// The subscription's name (findings name `subscriptions.<name>.<key>`).
    pub subscription: String,
    /// The queue consumed; `None` for a partitioned subscription.
    pub queue: Option<String>,
    /// A partitioned subscription's queue-name prefix.
    pub queue_prefix: Option<String>,
    /// Where dead letters go.
    pub error_queue: String,
    /// Deliveries before ferry dead-letters a message.
    pub max_attempts: u32,
    /// The longest retry delay.
    pub backoff_max: Duration,
    /// How long a receive waits on an empty queue.
    pub receive_wait: Duration,
    /// How often a partitioned subscription looks for new queues.
    pub discovery_interval: Duration,
}
