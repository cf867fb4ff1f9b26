//! [`Supervisor`]: runs the worker command given after `ferry run --` as a child process,
//! restarts it with backoff when it exits, and stops it (SIGTERM, then SIGKILL after
//! `worker.stop_timeout`) once ferry has drained.

use std::time::{Duration, Instant};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use crate::{
    retry::Backoff,
    telemetry::{Telemetry, events},
};

/// A child that ran this long is considered healthy: its next crash restarts quickly again.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// Supervises the worker child process.
#[derive(Debug)]
pub struct Supervisor {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Extra environment (`FERRY_WORKER_ADDR`, `FERRY_GATEWAY_ADDR`).
    pub env: Vec<(String, String)>,
    /// Restart delays.
    pub backoff: Backoff,
    /// Time between SIGTERM and SIGKILL on stop.
    pub stop_timeout: Duration,
    /// Where events go.
    pub telemetry: Telemetry,
}

impl Supervisor {
    fn spawn(&self) -> std::io::Result<Child> {
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| std::io::Error::other("empty worker command"))?;
        Command::new(program)
            .args(args)
            .envs(self.env.iter().cloned())
            .kill_on_drop(true)
            .spawn()
    }

    /// Runs until `stop` is cancelled, then stops the child.
    pub async fn run(self, stop: CancellationToken) {
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let mut child = match self.spawn() {
                Ok(child) => child,
                Err(e) => {
                    failures += 1;
                    let delay = self.backoff.delay(failures);
                    self.telemetry.emit(events::WorkerExited {
                        status: format!("could not start `{}`: {e}", self.command.join(" ")),
                        restart_in: Some(delay),
                    });
                    tokio::select! { () = tokio::time::sleep(delay) => continue, () = stop.cancelled() => return }
                }
            };
            self.telemetry.emit(events::WorkerStarted {
                pid: child.id().unwrap_or_default(),
            });
            tokio::select! {
                status = child.wait() => {
                    let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                    failures = if started.elapsed() > STABLE_AFTER { 1 } else { failures + 1 };
                    let delay = self.backoff.delay(failures);
                    self.telemetry.emit(events::WorkerExited { status, restart_in: Some(delay) });
                    tokio::select! { () = tokio::time::sleep(delay) => {}, () = stop.cancelled() => return }
                }
                () = stop.cancelled() => {
                    let status = self.terminate(&mut child).await;
                    self.telemetry.emit(events::WorkerExited { status, restart_in: None });
                    return;
                }
            }
        }
    }

    async fn terminate(&self, child: &mut Child) -> String {
        if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        match tokio::time::timeout(self.stop_timeout, child.wait()).await {
            Ok(status) => status
                .map(|s| s.to_string())
                .unwrap_or_else(|e| e.to_string()),
            Err(_) => {
                let _ = child.kill().await;
                format!(
                    "killed after not stopping within {}",
                    humantime::format_duration(self.stop_timeout)
                )
            }
        }
    }
}
