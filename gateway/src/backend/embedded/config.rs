//! `[backend.embedded]`: where the SQLite file lives and how it is polled.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

/// Settings of the embedded backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedConfig {
    /// The SQLite file (created if missing, with its directory).
    #[serde(default = "default_path")]
    pub path: PathBuf,
    /// How often an empty queue is checked again while a receive waits (messages published
    /// by this same process wake the receive at once).
    #[serde(default = "default_poll_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How long a de-duplication id is remembered per queue.
    #[serde(default = "default_dedup_window", with = "humantime_serde")]
    pub dedup_window: Duration,
}

fn default_path() -> PathBuf {
    PathBuf::from("ferry.db")
}

fn default_poll_interval() -> Duration {
    Duration::from_millis(100)
}

fn default_dedup_window() -> Duration {
    Duration::from_secs(24 * 3600)
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            path: default_path(),
            poll_interval: default_poll_interval(),
            dedup_window: default_dedup_window(),
        }
    }
}
