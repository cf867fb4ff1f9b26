//! Ferry, the polyglot worker gateway.
//!
//! Ferry runs beside a worker process. It receives messages from a queue backend, admits them
//! within the subscription's limits, calls the worker's `Handle` RPC, keeps the lease alive
//! while the worker runs, and settles each message: ack, retry with a durable delay, or move
//! to the error queue with its story. Every step is one structured event (see [`telemetry`]).
//!
//! Where things live: [`config`] (the `ferry.toml` model and its validation), [`backend`]
//! (the queue trait and one folder per backend), [`dispatch`] (poller, admission, delivery,
//! lease keeping, settling), [`retry`] (backoff and the gRPC status mapping), [`worker`]
//! (the worker's client, health watch and child supervisor), [`gateway_api`] (the `Publish` /
//! `Log` service), [`ingress`] (the webhook ingress), [`admin`] (health and metrics over HTTP),
//! [`cli`] (the commands), [`console`] (the web console over a fleet of sidecars) and
//! [`control`] (a sidecar's heartbeat to the console and the controls it applies).
#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod backend;
pub mod bounded;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod console;
pub mod control;
pub mod dispatch;
pub mod gateway_api;
pub mod ingress;
pub mod message;
pub mod retry;
pub mod shutdown;
pub mod telemetry;
pub mod worker;
