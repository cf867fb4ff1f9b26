//! `[logs.local]`: the local log store's file and its bounds. On by default with the
//! embedded backend (next to its queue file), off with the others unless `enabled = true`.
//! Whether it is on and where it lives is resolved by the config module
//! ([`LocalConfig::resolve`]), which knows the backend; telemetry only gets the result.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bounded::{Count, Span};

/// The most bytes the store's database file may hold: 256 KiB (an empty store's tables and
/// indexes take about 50 KiB) to 4 GiB.
pub type MaxSize = Count<262_144, 4_294_967_295>;
/// The oldest record kept: 1 s to 365 days.
pub type MaxAge = Span<1_000, 31_536_000_000>;

/// `[logs.local]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// Write every event to the local store too. Default: on with the embedded backend,
    /// off with SQS and Pub/Sub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The store's SQLite file. Default: next to the embedded queue file, with the
    /// extension `.logs.db` (`ferry.db` → `ferry.logs.db`); `ferry.logs.db` with the other
    /// backends. Several ferry processes on one host may share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The most bytes the database file holds (a number of bytes); beyond it the oldest
    /// records are deleted. The write-ahead log next to it adds up to 4 MiB.
    #[serde(default = "default_max_size")]
    pub max_size: MaxSize,
    /// Records older than this are deleted.
    #[serde(default = "default_max_age")]
    pub max_age: MaxAge,
}

fn default_max_size() -> MaxSize {
    Count::of(256 * 1024 * 1024)
}

fn default_max_age() -> MaxAge {
    Span::secs(7 * 24 * 3600)
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            enabled: None,
            path: None,
            max_size: default_max_size(),
            max_age: default_max_age(),
        }
    }
}

/// The store to write, once resolved against the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStore {
    /// The SQLite file.
    pub path: PathBuf,
    /// The most bytes of the database file.
    pub max_size: u64,
    /// The oldest record kept.
    pub max_age: std::time::Duration,
}

impl LocalConfig {
    /// The store, if it is on: `embedded_queue` is the embedded backend's queue file (None
    /// with the other backends), which turns the store on by default and places it.
    pub fn resolve(&self, embedded_queue: Option<&Path>) -> Option<LocalStore> {
        if !self.enabled.unwrap_or(embedded_queue.is_some()) {
            return None;
        }
        let path = match (&self.path, embedded_queue) {
            (Some(p), _) => p.clone(),
            (None, Some(queue)) => queue.with_extension("logs.db"),
            (None, None) => PathBuf::from("ferry.logs.db"),
        };
        Some(LocalStore {
            path,
            max_size: u64::from(self.max_size.get()),
            max_age: self.max_age.get(),
        })
    }

    /// Problems with the section as `(key under logs.local, reason)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            out.push(("path", "must not be empty".to_owned()));
        }
        if self.enabled == Some(true) && !cfg!(feature = "embedded") {
            out.push((
                "enabled",
                "this ferry was built without the `embedded` feature (SQLite), which the local log store needs".to_owned(),
            ));
        }
        out
    }
}
