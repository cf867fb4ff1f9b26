//! The local log store: with the embedded backend, every event is also written to a SQLite
//! file next to the queue file (by default), bounded in size and age, with a full-text
//! index, so `ferry logs` — and the console — read one message's story without
//! Elasticsearch. Several ferry processes on one host share one store, as they share the
//! queue file.
//!
//! - [`config`]: `[logs.local]` and where the store lives.
//! - [`sink`]: the [`LogSink`](super::LogSink) in front of stdout or Elasticsearch.
//! - [`writer`]: the one writer thread (gathered records committed together, the bounds).
//! - [`insert`]: one record's rows; [`trim`]: the bounds; [`store`]: opening and upgrading.
//! - [`query`]: the read API: a [`LogQuery`] in, [`StoredRecord`]s out.
//! - [`schema`]: the tables, the key index and the FTS5 index.

pub mod config;
#[cfg(feature = "embedded")]
mod insert;
#[cfg(feature = "embedded")]
pub mod query;
#[cfg(feature = "embedded")]
mod schema;
#[cfg(feature = "embedded")]
pub mod sink;
#[cfg(feature = "embedded")]
mod store;
#[cfg(all(test, feature = "embedded"))]
mod tests;
#[cfg(feature = "embedded")]
mod trim;
#[cfg(feature = "embedded")]
mod writer;

pub use config::{LocalConfig, LocalStore};
#[cfg(feature = "embedded")]
pub use query::{LogQuery, LogReader, Order, StoredRecord};
#[cfg(feature = "embedded")]
pub use sink::LocalSink;
