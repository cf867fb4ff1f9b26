//! `[backend]`: which queue backend ferry uses, as one table named after it
//! (`[backend.embedded]`, `[backend.sqs]`, `[backend.pubsub]`), and what each backend
//! accepts as a queue name. Each backend's settings validate themselves here, so the
//! config module asks the backend instead of knowing every backend's rules.

use serde::{Deserialize, Serialize};

use super::embedded::EmbeddedConfig;

/// The names of the backend tables, and whether this build has each.
pub const BACKENDS: [(&str, bool); 3] = [
    ("embedded", cfg!(feature = "embedded")),
    ("sqs", cfg!(feature = "sqs")),
    ("pubsub", cfg!(feature = "pubsub")),
];

/// `[backend]`: which queue backend, as a table named after it (`[backend.embedded]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BackendConfig {
    /// The embedded durable queue in a local SQLite file.
    Embedded(EmbeddedConfig),
    /// Amazon SQS (or ElasticMQ, LocalStack).
    #[cfg(feature = "sqs")]
    Sqs(super::sqs::SqsConfig),
    /// Google Cloud Pub/Sub (or its emulator).
    #[cfg(feature = "pubsub")]
    Pubsub(super::pubsub::PubsubConfig),
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self::Embedded(EmbeddedConfig::default())
    }
}

/// Whether `name` is a valid queue name on every backend: 1–80 of `[A-Za-z0-9_-]`, with an
/// optional `.fifo` suffix (the SQS rules, the strictest of the backends).
pub fn is_valid_queue_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty()
        && name.len() <= 80
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl BackendConfig {
    /// The table's name (`embedded`, `sqs`, `pubsub`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Embedded(_) => "embedded",
            #[cfg(feature = "sqs")]
            Self::Sqs(_) => "sqs",
            #[cfg(feature = "pubsub")]
            Self::Pubsub(_) => "pubsub",
        }
    }

    /// Problems with the backend's own settings, as `(dotted key, reason)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let prefix = format!("backend.{}", self.name());
        let own: Vec<(&'static str, String)> = match self {
            Self::Embedded(c) => c.problems(),
            #[cfg(feature = "sqs")]
            Self::Sqs(c) => c.problems(),
            #[cfg(feature = "pubsub")]
            Self::Pubsub(c) => c.problems(),
        };
        own.into_iter()
            .map(|(key, reason)| (format!("{prefix}.{key}"), reason))
            .collect()
    }

    /// Why `queue` cannot name a queue (or an error queue) on this backend, if it cannot.
    pub fn queue_problem(&self, queue: &str) -> Option<String> {
        #[cfg(feature = "sqs")]
        if matches!(self, Self::Sqs(_))
            && (queue.starts_with("https://") || queue.starts_with("http://"))
        {
            // SQS also takes queue URLs.
            return None;
        }
        if !is_valid_queue_name(queue) {
            return Some(format!(
                "`{queue}` must be 1-80 letters, digits, '_' or '-' (optionally ending in .fifo)"
            ));
        }
        #[cfg(feature = "pubsub")]
        if matches!(self, Self::Pubsub(_)) && !super::pubsub::is_valid_resource_id(queue) {
            return Some(format!(
                "`{queue}` is not a Pub/Sub id (3-255 characters, starting with a letter, not with `goog`)"
            ));
        }
        None
    }

    /// Whether the backend can list queues by prefix (partitioned subscriptions).
    pub fn can_discover(&self) -> bool {
        #[cfg(feature = "sqs")]
        if matches!(self, Self::Sqs(_)) {
            return true;
        }
        false
    }
}
