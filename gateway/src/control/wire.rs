//! The heartbeat on the wire (JSON over HTTP POST, sidecar → console, and the answer):
//! one [`Heartbeat`] says who the sidecar is, how its worker is, and per subscription what
//! runs now and what was settled since the last beat; the [`HeartbeatReply`] carries the
//! controls that apply to this sidecar, limits already divided among the live sidecars.
//! The console and the sidecar share these types, so they cannot drift apart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The upper bounds, in milliseconds, of the handling-time histogram's buckets; one more
/// bucket counts everything slower.
pub const BUCKETS_MS: [u64; 15] = [
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000,
];

/// The number of histogram buckets (the last one is unbounded).
pub const BUCKET_COUNT: usize = BUCKETS_MS.len() + 1;

/// Which backend a sidecar consumes: its kind and where it is, so the console can match it
/// with a backend of its own config (`[backends.<name>]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct BackendRef {
    /// `embedded`, `sqs` or `pubsub`.
    pub kind: String,
    /// The embedded queue's absolute path, the SQS endpoint (or `aws:<region>`), the
    /// Pub/Sub project (with the emulator's address).
    pub locator: String,
}

/// Limits as configured or as applied.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Limits {
    /// Concurrent `Handle` calls.
    pub max_in_flight: u32,
    /// Concurrent calls per realm; `None` is no per-realm limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight_per_realm: Option<u32>,
    /// Messages started per second; `None` is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
}

/// What one realm of one subscription did since the last beat, and runs now.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RealmReport {
    /// The realm ("" for messages without one, `_other` past `metrics.max_realms`).
    pub realm: String,
    /// `Handle` calls running now.
    #[serde(default)]
    pub in_flight: u32,
    /// Messages done since the last beat.
    #[serde(default)]
    pub done: u64,
    /// Messages returned for a retry since the last beat.
    #[serde(default)]
    pub retried: u64,
    /// Messages dead-lettered since the last beat.
    #[serde(default)]
    pub dead_lettered: u64,
    /// Milliseconds spent in `Handle` by the done and retried messages.
    #[serde(default)]
    pub handling_ms: u64,
    /// Handling times of the done and retried messages, by bucket ([`BUCKETS_MS`]);
    /// empty when there were none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub histogram: Vec<u64>,
}

/// One subscription of the sidecar.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SubscriptionReport {
    /// Its name in `ferry.toml`.
    pub name: String,
    /// The queue consumed (`None` for a partitioned subscription).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// A partitioned subscription's queue-name prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_prefix: Option<String>,
    /// Where its dead letters go.
    pub error_queue: String,
    /// The attribute that holds the realm.
    #[serde(default)]
    pub realm_attribute: String,
    /// The limits in `ferry.toml`.
    pub configured: Limits,
    /// The limits applied now (console overrides included).
    pub effective: Limits,
    /// Whether receiving is paused by the console.
    #[serde(default)]
    pub paused: bool,
    /// The realms paused by the console, as applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paused_realms: Vec<String>,
    /// Per realm: running now, and what was settled since the last beat.
    #[serde(default)]
    pub realms: Vec<RealmReport>,
}

/// One heartbeat.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Heartbeat {
    /// This process's id (new at every start).
    pub sidecar: String,
    /// The host (pod) name.
    #[serde(default)]
    pub host: String,
    /// The process id.
    #[serde(default)]
    pub pid: u32,
    /// `service` of `ferry.toml`.
    pub service: String,
    /// `service_version`, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_version: Option<String>,
    /// Ferry's version.
    #[serde(default)]
    pub ferry_version: String,
    /// The backend consumed.
    pub backend: BackendRef,
    /// Whether the worker reports SERVING.
    #[serde(default)]
    pub worker_serving: bool,
    /// Whether ferry is draining (stopping).
    #[serde(default)]
    pub draining: bool,
    /// How often this sidecar beats, in milliseconds.
    pub interval_ms: u64,
    /// Beats sent since start (counts since the last *answered* beat are carried over,
    /// so a beat the console missed loses nothing).
    #[serde(default)]
    pub seq: u64,
    /// Its subscriptions.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionReport>,
}

/// The controls of one subscription on one sidecar, limits already divided.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SubscriptionControls {
    /// Stop receiving (calls in flight finish).
    #[serde(default)]
    pub paused: bool,
    /// Realms whose messages are handed back uncounted, with a delay.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paused_realms: Vec<String>,
    /// This sidecar's share of a fleet-wide `max_in_flight` (0 holds every message back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// This sidecar's share of a fleet-wide `max_in_flight_per_realm` (0: every message is
    /// handed back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight_per_realm: Option<u32>,
    /// This sidecar's share of a fleet-wide `rate_limit`, per second (0 starts nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
}

/// The console's answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HeartbeatReply {
    /// The controls of this sidecar, by subscription name; a subscription not named has
    /// none (runs as configured).
    #[serde(default)]
    pub controls: BTreeMap<String, SubscriptionControls>,
}
