//! The embedded backend: a durable queue in a local SQLite file, with due times, leases,
//! receive counts, de-duplication and error queues. Needs no service, so it is the default.
//!
//! Several ferry processes may share one file (WAL mode; a receive takes its batch in one
//! `BEGIN IMMEDIATE` transaction, so no message is leased twice).

mod admin;
mod backend;
mod config;
mod schema;
mod store;

pub use backend::EmbeddedBackend;
pub use config::EmbeddedConfig;

#[cfg(test)]
mod tests;
