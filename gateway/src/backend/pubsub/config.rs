//! `[backend.pubsub]`: which Google Cloud project, where the emulator listens when one
//! is used instead of Google's service, how the retry subscriptions are named, and how
//! ferry batches and remembers.

use serde::{Deserialize, Serialize};

use crate::bounded::{Count, Span};

/// Bytes of unsettled messages per stream: 1 to 4 GiB.
pub type OutstandingBytes = Count<1, 4_294_967_295>;
/// Streams per subscription: 1 to 32.
pub type Streams = Count<1, 32>;
/// How long an ack waits for others to share its call: up to 1 s.
pub type SettleWindow = Span<0, 1_000>;
/// Attempt records kept per subscription: 1 to 10 million.
pub type AttemptMemory = Count<1, 10_000_000>;

/// Settings of the Pub/Sub backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PubsubConfig {
    /// The Google Cloud project that holds the topics and subscriptions.
    pub project: String,
    /// `host:port` of a Pub/Sub emulator. When unset, the `PUBSUB_EMULATOR_HOST` environment
    /// variable is honoured; without either, ferry talks to Google's service with
    /// Application Default Credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emulator_host: Option<String>,
    /// The most bytes of unsettled messages one subscription's stream may hold (server-side
    /// flow control, next to the message count derived from the room to start).
    #[serde(default = "default_max_outstanding_bytes")]
    pub max_outstanding_bytes: OutstandingBytes,
    /// How many StreamingPull streams ferry opens on each subscription (the retry
    /// subscription has one). Google's emulator delivers about 2 000 messages/s per
    /// stream; Google's client libraries open several too. The subscription's room
    /// (`max_in_flight`) is shared among them.
    #[serde(default = "default_streams")]
    pub streams: Streams,
    /// What names the retry topic and retry subscription of a subscription: its id plus
    /// this suffix. ferry publishes its own copies of a message there (a retry that must
    /// be durable or is delayed beyond 600 s, a hand-back under a dead-letter policy, a
    /// redriven dead letter) and consumes them together with the subscription, so they
    /// reach no other subscription of its topic. Both must exist (`ferry check`).
    #[serde(default = "default_retry_suffix")]
    pub retry_suffix: String,
    /// How long an Acknowledge or ModifyAckDeadline waits for others to share its call
    /// (up to 1 000 ack ids go at once).
    #[serde(default = "default_settle_window")]
    pub settle_window: SettleWindow,
    /// How many messages' attempt records (uncounted deliveries, in-place retries, failure
    /// history) each subscription keeps in memory between deliveries; the oldest are
    /// forgotten first, so messages settled by another replica cannot grow it.
    #[serde(default = "default_attempt_memory")]
    pub attempt_memory: AttemptMemory,
    /// The base URL of the Cloud Monitoring API, where `ferry queue stats` and the console
    /// read queue depths (`subscription/num_undelivered_messages`: Pub/Sub's own API has no
    /// counts). Unset: Google's (`https://monitoring.googleapis.com`, with Application
    /// Default Credentials, which need `roles/monitoring.viewer`) when ferry talks to
    /// Google's service; none with the emulator, which has no Monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring_endpoint: Option<String>,
}

/// Google's Cloud Monitoring API.
pub const GOOGLE_MONITORING: &str = "https://monitoring.googleapis.com";

fn default_max_outstanding_bytes() -> OutstandingBytes {
    Count::of(64 * 1024 * 1024)
}

fn default_streams() -> Streams {
    Count::of(4)
}

fn default_retry_suffix() -> String {
    "-retry".to_owned()
}

fn default_settle_window() -> SettleWindow {
    Span::millis(5)
}

fn default_attempt_memory() -> AttemptMemory {
    Count::of(100_000)
}

impl PubsubConfig {
    /// A config for `project` with every other setting at its default.
    pub fn new(project: impl Into<String>) -> Self {
        Self {
            project: project.into(),
            emulator_host: None,
            max_outstanding_bytes: default_max_outstanding_bytes(),
            streams: default_streams(),
            retry_suffix: default_retry_suffix(),
            settle_window: default_settle_window(),
            attempt_memory: default_attempt_memory(),
            monitoring_endpoint: None,
        }
    }

    /// The id of the retry topic and retry subscription of subscription `sub`.
    pub fn retry_id(&self, sub: &str) -> String {
        format!("{sub}{}", self.retry_suffix)
    }

    /// The emulator to use: `emulator_host`, else `PUBSUB_EMULATOR_HOST`, else none.
    pub fn emulator(&self) -> Option<String> {
        self.emulator_host
            .clone()
            .or_else(|| std::env::var("PUBSUB_EMULATOR_HOST").ok())
            .filter(|h| !h.is_empty())
    }

    /// Where queue depths are read: `monitoring_endpoint` (without a trailing `/`), else
    /// Google's Monitoring API unless an emulator is used.
    pub fn monitoring(&self) -> Option<String> {
        match &self.monitoring_endpoint {
            Some(url) => Some(url.trim_end_matches('/').to_owned()),
            None => self
                .emulator()
                .is_none()
                .then(|| GOOGLE_MONITORING.to_owned()),
        }
    }

    /// Problems with the settings, as `(key under backend.pubsub, reason)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let p = &self.project;
        let valid_project = (6..=30).contains(&p.len())
            && p.starts_with(|c: char| c.is_ascii_lowercase())
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        // Emulator projects may be anything non-empty; real ones follow Google's rules.
        if p.is_empty() || (self.emulator().is_none() && !valid_project && !p.contains(':')) {
            out.push((
                "project",
                format!(
                    "`{p}` is not a Google Cloud project id (6-30 lowercase letters, digits or '-')"
                ),
            ));
        }
        if let Some(host) = &self.emulator_host
            && (host.contains("://") || !host.contains(':'))
        {
            out.push((
                "emulator_host",
                format!("`{host}` must be host:port (e.g. 127.0.0.1:8085), without a scheme"),
            ));
        }
        if let Some(url) = &self.monitoring_endpoint {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            if !rest.is_some_and(|r| {
                !r.is_empty()
                    && !r.contains(['?', '#', ' '])
                    && r.split('/').skip(1).all(str::is_empty)
            }) {
                out.push((
                    "monitoring_endpoint",
                    format!(
                        "`{url}` must be an http:// or https:// base URL without a path (e.g. {GOOGLE_MONITORING})"
                    ),
                ));
            }
        }
        if self.retry_suffix.is_empty()
            || !self
                .retry_suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~+%".contains(&b))
        {
            out.push((
                "retry_suffix",
                format!(
                    "`{}` must be non-empty and use only letters, digits and - _ . ~ + %",
                    self.retry_suffix
                ),
            ));
        }
        out
    }
}

/// Whether `id` can name a Pub/Sub topic or subscription: 3-255 characters, starting with a
/// letter, not starting with `goog` (ferry's own queue-name rules already limit the
/// characters).
pub fn is_valid_resource_id(id: &str) -> bool {
    (3..=255).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && !id.to_ascii_lowercase().starts_with("goog")
}
