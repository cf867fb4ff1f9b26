//! `[runtime]`: the async runtime `ferry run` works on. ferry is a sidecar: it shares the
//! pod's CPU with the worker it serves, and its work per message (a receive, a gRPC call, a
//! settle, two log records) is short and I/O-bound. One thread does it with the least CPU:
//! tokio's current-thread scheduler has no work stealing, no cross-thread wake-ups and no
//! second thread to park and unpark, and on two shared cores it cut ferry's CPU per message
//! by 10–20 % against two worker threads (docs/PERFORMANCE.md). More threads are for a
//! ferry that must go past what one core can carry.
//!
//! The queue writer, the log writers and the blocking pool have threads of their own and
//! are not counted here.

use serde::{Deserialize, Serialize};

use crate::bounded::Count;

/// `[runtime]`: how many threads run ferry's async work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Threads for deliveries, receives, settles and the servers (1 to 256). 1, the
    /// default, runs them all on one thread (tokio's current-thread scheduler); more runs
    /// tokio's multi-thread scheduler with that many workers.
    #[serde(default = "default_threads")]
    pub threads: Count<1, 256>,
}

fn default_threads() -> Count<1, 256> {
    Count::of(1)
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            threads: default_threads(),
        }
    }
}
