//! `[backend.sqs]`: where SQS is (region, optional endpoint override) and how ferry batches
//! and delays on it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::bounded::{Count, Span};

/// How long a settle waits for others to share its batch: up to 1 s.
pub type SettleWindow = Span<0, 1_000>;
/// The longest delay left to SQS: 1 s to its 15-minute maximum.
pub type NativeDelay = Span<1_000, 900_000>;
/// How many messages' failure history is kept: 1 to 10 million.
pub type FailureMemory = Count<1, 10_000_000>;

/// The longest per-message delay SQS applies natively (`DelaySeconds` = 900).
pub const SQS_MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// The longest visibility timeout SQS accepts (12 hours).
pub const SQS_MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

/// Settings of the SQS backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsConfig {
    /// The AWS region; when absent, the standard chain decides (`AWS_REGION`, the profile,
    /// instance metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// An endpoint override (`http://127.0.0.1:9324` for ElasticMQ, LocalStack); when
    /// absent, the region's SQS endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// How long a delete or visibility change waits for others to share its batch request
    /// (`DeleteMessageBatch`, `ChangeMessageVisibilityBatch`; a batch of 10 goes at once).
    #[serde(default = "default_settle_window")]
    pub settle_window: SettleWindow,
    /// The longest delay left to SQS itself (at most its 15-minute maximum). A message due
    /// later is sent with this delay and re-delayed on receive until it is due; lowering it
    /// only costs more re-sends (tests use it to simulate the horizon).
    #[serde(default = "default_max_native_delay")]
    pub max_native_delay: NativeDelay,
    /// How many messages' failure history (first failure time, last error) ferry keeps in
    /// memory between attempts. SQS cannot attach it to a message being retried; when it is
    /// not known (after a restart, or from another replica), the first failure time falls
    /// back to the message's first receive time.
    #[serde(default = "default_failure_memory")]
    pub failure_memory: FailureMemory,
}

fn default_settle_window() -> SettleWindow {
    Span::millis(5)
}

fn default_max_native_delay() -> NativeDelay {
    Span::of(SQS_MAX_DELAY)
}

fn default_failure_memory() -> FailureMemory {
    Count::of(100_000)
}

impl Default for SqsConfig {
    fn default() -> Self {
        Self {
            region: None,
            endpoint: None,
            settle_window: default_settle_window(),
            max_native_delay: default_max_native_delay(),
            failure_memory: default_failure_memory(),
        }
    }
}

impl SqsConfig {
    /// The problems with these settings, as `(key under backend.sqs, reason)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(region) = &self.region
            && region.trim().is_empty()
        {
            out.push((
                "region",
                "must not be empty (leave it out to use the AWS chain)".into(),
            ));
        }
        if let Some(endpoint) = &self.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            out.push((
                "endpoint",
                format!("`{endpoint}` must start with http:// or https://"),
            ));
        }
        out
    }
}
