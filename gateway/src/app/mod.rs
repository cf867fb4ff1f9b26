//! `ferry run`, in two steps as linkerd2-proxy's thin main does: [`App::build`] opens and
//! checks everything that can fail at start-up (the backend and its preflight, the worker
//! client, the listeners), so a bad setup stops ferry before anything runs; [`App::run`]
//! starts the servers, the child worker, the health watch and one poller per
//! subscription, waits for SIGTERM / SIGINT (or a server or the child worker failing),
//! and drains.
//!
//! Drain order: stop receiving → let in-flight calls finish for `shutdown.grace` → hand
//! back what is still running → stop the child worker → stop the servers → flush logs.

mod build;
mod console;
mod run;
mod stall;
mod start;

pub use build::{App, telemetry_for};

use crate::{config::FerryConfig, shutdown, telemetry::Telemetry};

/// Runs ferry until a shutdown signal, then drains. `worker_command` (may be empty) is
/// started and supervised as the worker.
pub async fn run(config: FerryConfig, worker_command: Vec<String>) -> anyhow::Result<()> {
    let telemetry = telemetry_for(&config)?;
    App::build(config, worker_command, telemetry)
        .await?
        .run(shutdown::signal())
        .await
}

/// [`run`] with a given telemetry and stop signal (for embedding and tests).
pub async fn run_with(
    config: FerryConfig,
    worker_command: Vec<String>,
    telemetry: Telemetry,
    stop_signal: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    App::build(config, worker_command, telemetry)
        .await?
        .run(stop_signal)
        .await
}
