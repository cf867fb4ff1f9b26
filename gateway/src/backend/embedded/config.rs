//! `[backend.embedded]`: where the SQLite file lives and how it is polled.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::bounded::Span;

/// How often an empty queue is looked at again: 1 ms to 1 min.
pub type PollInterval = Span<1, 60_000>;
/// How long de-duplication ids are remembered: 1 s to 365 days.
pub type DedupWindow = Span<1_000, 31_536_000_000>;

/// Settings of the embedded backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedConfig {
    /// The SQLite file (created with its directory by `ferry run` and `ferry publish`;
    /// the read-only commands refuse a file that does not exist). One host only: the file
    /// must be on a local filesystem, shared by ferry processes on the same machine.
    #[serde(default = "default_path")]
    pub path: PathBuf,
    /// How often an empty queue is checked again while a receive waits (messages published
    /// by this same process wake the receive at once).
    #[serde(default = "default_poll_interval")]
    pub poll_interval: PollInterval,
    /// How long a de-duplication id is remembered per queue.
    #[serde(default = "default_dedup_window")]
    pub dedup_window: DedupWindow,
}

fn default_path() -> PathBuf {
    PathBuf::from("ferry.db")
}

fn default_poll_interval() -> PollInterval {
    Span::millis(100)
}

fn default_dedup_window() -> DedupWindow {
    Span::secs(24 * 3600)
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

impl EmbeddedConfig {
    /// The problems with these settings, as `(key under backend.embedded, reason)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        if self.path.as_os_str().is_empty() {
            vec![("path", "must not be empty".into())]
        } else {
            Vec::new()
        }
    }
}
