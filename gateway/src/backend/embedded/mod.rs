//! The embedded backend: a durable queue in a local SQLite file, with due times, leases,
//! receive counts, de-duplication and error queues. Needs no service, so it is the default.
//!
//! Changes go through one writer thread per process that commits what is queued in one
//! transaction and answers after the durable commit ([`writer`]); the SQL is in [`ops`],
//! the file and its connections in [`store`]. Several ferry processes on one host may
//! share one file (WAL mode; every batch is one `BEGIN IMMEDIATE` transaction, so no
//! message is leased twice).

mod admin;
mod backend;
mod config;
mod dlq;
mod ops;
mod schema;
mod store;
mod writer;

pub use backend::EmbeddedBackend;
pub use config::EmbeddedConfig;
pub use store::OpenMode;

#[cfg(test)]
mod tests;
