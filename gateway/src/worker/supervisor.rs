//! [`Supervisor`]: runs the worker command given after `ferry run --` as a child process,
//! restarts it with backoff when it exits, and stops it (SIGTERM, then SIGKILL after
//! `worker.stop_timeout`) once ferry has drained.
//!
//! A command that cannot be started at all (not found, not executable) is not retried:
//! [`Supervisor::run`] returns the reason and ferry stops with it. The child's stdout and
//! stderr never reach ferry's own stdout raw (which is one JSON event per line): each line
//! becomes a `worker.output` event ([`super::output`]).

use std::{
    io::ErrorKind,
    time::{Duration, Instant},
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use super::output::forward;
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

/// Why the worker command could not be run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot start the worker `{command}`: {reason}")]
pub struct StartError {
    /// The command, as given.
    pub command: String,
    /// Why (`not found`, `not executable (permission denied)`, ...).
    pub reason: String,
}

impl Supervisor {
    fn spawn(&self) -> std::io::Result<Child> {
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidInput, "empty worker command"))?;
        let mut child = Command::new(program)
            .args(args)
            .envs(self.env.iter().cloned())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(forward(out, "stdout", self.telemetry.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward(err, "stderr", self.telemetry.clone()));
        }
        Ok(child)
    }

    /// The reason a spawn error is final, if it is: the command does not exist or cannot
    /// be executed, which no restart mends.
    fn fatal(&self, e: &std::io::Error) -> Option<StartError> {
        let reason = match e.kind() {
            ErrorKind::NotFound => "not found".to_owned(),
            ErrorKind::PermissionDenied => "not executable (permission denied)".to_owned(),
            ErrorKind::InvalidInput => e.to_string(),
            _ if e.raw_os_error() == Some(nix::libc::ENOEXEC) => {
                "not executable (not a program the system can run)".to_owned()
            }
            _ => return None,
        };
        Some(StartError {
            command: self.command.join(" "),
            reason,
        })
    }

    /// Runs until `stop` is cancelled, then stops the child. Returns an error, without
    /// retrying, when the command cannot be started at all.
    pub async fn run(self, stop: CancellationToken) -> Result<(), StartError> {
        let mut failures = 0u32;
        loop {
            let started = Instant::now();
            let mut child = match self.spawn() {
                Ok(child) => child,
                Err(e) => {
                    if let Some(fatal) = self.fatal(&e) {
                        return Err(fatal);
                    }
                    failures += 1;
                    let delay = self.backoff.delay(failures);
                    self.telemetry.emit(events::WorkerExited {
                        status: format!("could not start `{}`: {e}", self.command.join(" ")),
                        restart_in: Some(delay),
                    });
                    tokio::select! { () = tokio::time::sleep(delay) => continue, () = stop.cancelled() => return Ok(()) }
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
                    tokio::select! { () = tokio::time::sleep(delay) => {}, () = stop.cancelled() => return Ok(()) }
                }
                () = stop.cancelled() => {
                    let status = self.terminate(&mut child).await;
                    self.telemetry.emit(events::WorkerExited { status, restart_in: None });
                    return Ok(());
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
