//! [`HealthWatch`]: follows the worker's `grpc.health.v1.Health` status. Ferry pulls only
//! while the worker is SERVING; a failed call triggers an immediate check.

use std::{sync::Arc, time::Duration};

use tokio::sync::{Mutex, watch};
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
    /// Held while a check runs; `true` once the first result has been reported.
    checking: Arc<Mutex<bool>>,
}

impl HealthWatch {
    /// A watch over the worker reached through `channel`; starts as not serving.
    pub fn new(channel: Channel, telemetry: Telemetry) -> Self {
        let (tx, _) = watch::channel(false);
        Self {
            tx: Arc::new(tx),
            client: HealthClient::new(channel),
            telemetry,
            checking: Arc::new(Mutex::new(false)),
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

    /// Checks now, updates the shared state, and returns whether the worker is serving.
    /// The first result and every change are logged as `worker.health` events.
    pub async fn check_now(&self) -> bool {
        let mut reported = self.checking.lock().await;
        let (serving, detail) = self.probe().await;
        let changed = self
            .tx
            .send_if_modified(|s| std::mem::replace(s, serving) != serving);
        let first = !std::mem::replace(&mut *reported, true);
        if changed || first {
            self.telemetry.emit(events::WorkerHealth {
                serving,
                detail: &detail,
            });
        }
        serving
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
