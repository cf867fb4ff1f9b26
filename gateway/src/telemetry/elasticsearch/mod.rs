//! The Elasticsearch log sink (feature `elasticsearch`): every event — ferry's own steps and
//! the worker's log lines — is appended to a bounded disk spool and shipped in order with
//! the bulk API into a data stream whose index template maps the schema.
//!
//! - [`config`]: `[logs]` and `[logs.elasticsearch]` (compiled without the feature too, so
//!   such a config is refused with a clear reason by a build without it).
//! - [`sink`]: the [`LogSink`](super::LogSink), in front of the shipper's bounded queue;
//!   `stamp` gives `event.id` (the document id, so a replay never stores an event twice)
//!   and `event.sequence`.
//! - [`shipper`]: the task that batches by count, bytes and time, retries 429 / 5xx /
//!   connection failures with backoff and keeps going past per-document rejections;
//!   `reporting` tells stderr, the metrics and the log about it.
//! - [`spool`]: the on-disk queue (replay in order; drop-oldest over budget, counted), with
//!   `segment` (its lines and positions) and `recover` (opening it after a restart).
//! - [`bulk`]: one bulk request, per-document results, the reject file.
//! - [`template`]: the component / index templates from `deploy/elasticsearch/`.
//! - [`events`]: the sink's own events (`logs.unavailable`, `logs.recovered`,
//!   `logs.spool_dropped`, `logs.rejected`).
//!
//! Client: the official `elasticsearch` crate (8.19, matching the 8.x server line), built
//! with rustls only (`default-features = false, features = ["rustls-tls"]`). It covers
//! every point here: the typed bulk, template and search APIs, request timeouts, API key
//! and basic authentication. It is a pre-release (`8.19.0-alpha.1`, the only 8.x line
//! published), so the version is pinned exactly.

#[cfg(feature = "elasticsearch")]
pub mod bulk;
pub mod config;
#[cfg(feature = "elasticsearch")]
pub mod events;
#[cfg(feature = "elasticsearch")]
mod recover;
#[cfg(feature = "elasticsearch")]
mod reporting;
#[cfg(feature = "elasticsearch")]
mod segment;
#[cfg(feature = "elasticsearch")]
mod shipper;
#[cfg(feature = "elasticsearch")]
pub mod sink;
#[cfg(feature = "elasticsearch")]
pub mod spool;
#[cfg(feature = "elasticsearch")]
mod stamp;
#[cfg(feature = "elasticsearch")]
pub mod template;
#[cfg(all(test, feature = "elasticsearch"))]
mod tests;

pub use config::{ElasticsearchConfig, LogsConfig};
#[cfg(feature = "elasticsearch")]
pub use elasticsearch as client;
#[cfg(feature = "elasticsearch")]
pub use sink::ElasticsearchSink;
