//! The worker, seen from ferry: the `Handle` client, the health watch that gates pulling,
//! the child-process supervisor for `ferry run -- CMD` (with its output as events), and the
//! conversion of the worker's log lines into events.

mod channel;
mod client;
mod health;
mod logs;
mod output;
mod supervisor;

pub use client::WorkerClient;
pub use health::HealthWatch;
pub use logs::emit_log_lines;
pub use supervisor::{StartError, Supervisor};
