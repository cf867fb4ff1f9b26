//! [`HealthWatch`]: follows the worker's `grpc.health.v1.Health` status. Ferry pulls only
//! while the worker is SERVING; a failed call triggers an immediate check.
//!
//! One probe runs at a time. A caller that asks while a probe is under way waits for the
//! next one (which starts after it asked, so its answer is not older than the caller's
//! failure), and every caller waiting then shares that probe's answer: 64 calls failing
//! at once cost two probes, not 64.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::sync::{oneshot, watch};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::telemetry::{Telemetry, events};

/// The service name the worker reports under; the overall status ("") is used when the
/// worker does not know it.
pub const WORKER_SERVICE: &str = "ferry.v1.WorkerService";

/// Shared view of the worker's health.
#[derive(Debug, Clone)]
pub struct HealthWatch {
    tx: Arc<watch::Sender<bool>>,
    client: HealthClient<Channel>,
    telemetry: Telemetry,
    probes: Arc<Mutex<Probes>>,
}

/// The probe under way and who waits for the next one.
#[derive(Debug, Default)]
struct Probes {
    /// Whether a probe loop is running.
    running: bool,
    /// Callers waiting for the next probe's answer.
    waiting: Vec<oneshot::Sender<bool>>,
    /// Whether the first result has been reported.
    reported: bool,
}

impl HealthWatch {
    /// A watch over the worker reached through `channel`; starts as not serving.
    pub fn new(channel: Channel, telemetry: Telemetry) -> Self {
        let (tx, _) = watch::channel(false);
        Self {
            tx: Arc::new(tx),
            client: HealthClient::new(channel),
            telemetry,
            probes: Arc::default(),
        }
    }

    /// Whether the worker was serving at the last check.
    pub fn is_serving(&self) -> bool {
        *self.tx.borrow()
    }

    /// Waits until the worker is serving.
    pub async fn wait_serving(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Checks now (with a probe that starts after this call), updates the shared state,
    /// and returns whether the worker is serving. The first result and every change are
    /// logged as `worker.health` events.
    pub async fn check_now(&self) -> bool {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut p = self.lock();
            p.waiting.push(tx);
            !std::mem::replace(&mut p.running, true)
        };
        if lead {
            // On a task of its own: a caller that gives up waiting must not stop the loop.
            tokio::spawn(self.clone().probe_loop());
        }
        rx.await.unwrap_or(false)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Probes> {
        self.probes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Probes while callers wait, each probe answering everyone who asked before it began.
    async fn probe_loop(self) {
        loop {
            let waiting = {
                let mut p = self.lock();
                if p.waiting.is_empty() {
                    p.running = false;
                    return;
                }
                std::mem::take(&mut p.waiting)
            };
            let (serving, detail) = self.probe().await;
            let changed = self
                .tx
                .send_if_modified(|s| std::mem::replace(s, serving) != serving);
            let first = !std::mem::replace(&mut self.lock().reported, true);
            if changed || first {
                self.telemetry.emit(events::WorkerHealth {
                    serving,
                    detail: &detail,
                });
            }
            for caller in waiting {
                let _ = caller.send(serving);
            }
        }
    }

    async fn probe(&self) -> (bool, String) {
        let mut client = self.client.clone();
        for service in [WORKER_SERVICE, ""] {
            let req = HealthCheckRequest {
                service: service.to_owned(),
            };
            match tokio::time::timeout(Duration::from_secs(2), client.check(req)).await {
                Err(_) => return (false, "health check timed out".into()),
                Ok(Err(status)) if status.code() == tonic::Code::NotFound => continue,
                Ok(Err(status)) => {
                    return (false, format!("health check failed: {}", status.message()));
                }
                Ok(Ok(resp)) => {
                    let status = resp.into_inner().status();
                    return (status == ServingStatus::Serving, format!("{status:?}"));
                }
            }
        }
        (
            false,
            "the worker's health service knows neither the worker service nor \"\"".into(),
        )
    }

    /// Checks every `interval` (every 200 ms at most while not serving) until `stop`.
    pub async fn run(self, interval: Duration, stop: tokio_util::sync::CancellationToken) {
        loop {
            let serving = self.check_now().await;
            let wait = if serving {
                interval
            } else {
                interval.min(Duration::from_millis(200))
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.cancelled() => return,
            }
        }
    }
}
