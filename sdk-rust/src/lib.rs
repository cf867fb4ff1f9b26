//! Write a [Ferry](https://github.com/ferry-gateway/ferry) queue worker in Rust.
//!
//! The ferry sidecar polls the queue, keeps the lease, retries, dead-letters and publishes;
//! the worker is one async function from a [`Message`] to a [`Reply`]. This crate serves
//! that function as the `ferry.v1.WorkerService` gRPC service, together with the standard
//! `grpc.health.v1.Health` service ferry checks before it delivers anything.
//!
//! ```no_run
//! use ferry_sdk::{Level, Message, Reply};
//!
//! // One thread: the handler mostly waits, and ferry holds the concurrency.
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), ferry_sdk::ServeError> {
//!     ferry_sdk::serve_from_env(|msg: Message| async move {
//!         match msg.payload_json::<serde_json::Value>() {
//!             Ok(order) => Reply::done().log(Level::Info, format!("order {}", order["id"])),
//!             Err(err) => Reply::dead_letter(err.to_string()),
//!         }
//!     })
//!     .await
//! }
//! ```
//!
//! Services that are not workers (a web API that enqueues work) publish through the
//! sidecar's gateway with [`GatewayClient`].

mod client;
mod convert;
mod error;
mod handler;
mod message;
mod outgoing;
mod reply;
mod serve;
mod service;

pub use client::{DEFAULT_GATEWAY_ADDR, GATEWAY_ADDR_ENV, GatewayClient};
pub use error::{ClientError, JsonError, ServeError};
pub use handler::{Handler, handler_fn};
pub use message::{Message, TraceContext};
pub use outgoing::{Outgoing, Schedule};
pub use reply::{Level, LogEntry, Outcome, Reply};
pub use serve::{
    DEFAULT_WORKER_ADDR, WORKER_ADDR_ENV, serve, serve_from_env, serve_on, serve_with_shutdown,
};

/// Compiles the worker in README.md as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctest;

/// The generated protocol types (`ferry.v1`), for code that needs the raw messages.
pub use ferry_proto as proto;
