//! [`Reporter`]: the sidecar's heartbeat loop. Every `heartbeat_interval` it sends one
//! [`Heartbeat`] to the console and applies the controls of the answer. A beat that fails
//! (console down, refused, timed out) changes nothing: the sidecar runs on with the last
//! controls it was given, and the counts of the failed beat are carried into the next, so
//! the console's rollups miss nothing once it is back. The first failure and the recovery
//! are logged (`console.unreachable`, `console.reachable`), not every beat.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use tokio_util::sync::CancellationToken;

use super::{
    Controls, Tally,
    tally::merge,
    wire::{BackendRef, Heartbeat, HeartbeatReply, Limits, RealmReport, SubscriptionReport},
};
use crate::{
    telemetry::{Telemetry, events},
    worker::HealthWatch,
};

/// The largest heartbeat answer read.
const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// Where heartbeats go: the console over HTTP, or one in this process.
#[async_trait]
pub trait ConsoleClient: Send + Sync {
    /// Sends one beat; the answer, or why there is none.
    async fn beat(&self, beat: &Heartbeat) -> Result<HeartbeatReply, String>;
}

/// A console over HTTP: `POST <url>/api/v1/heartbeat` with the token as a bearer token.
pub struct HttpConsole {
    url: String,
    token: Option<String>,
    timeout: Duration,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl HttpConsole {
    /// A client of the console at `url` (`http://host:port`), each beat given `timeout`.
    pub fn new(url: &str, token: Option<String>, timeout: Duration) -> Self {
        Self {
            url: format!("{}/api/v1/heartbeat", url.trim_end_matches('/')),
            token,
            timeout,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

#[async_trait]
impl ConsoleClient for HttpConsole {
    async fn beat(&self, beat: &Heartbeat) -> Result<HeartbeatReply, String> {
        let body = serde_json::to_vec(beat).map_err(|e| e.to_string())?;
        let mut request =
            http::Request::post(&self.url).header(http::header::CONTENT_TYPE, "application/json");
        if let Some(token) = &self.token {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("{}: {e}", self.url))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_REPLY_BYTES)
                .collect()
                .await
                .map_err(|e| format!("{}: reading the answer: {e}", self.url))?
                .to_bytes();
            if !status.is_success() {
                let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                return Err(format!("{}: HTTP {status}: {text}", self.url));
            }
            serde_json::from_slice(&body).map_err(|e| format!("{}: bad answer: {e}", self.url))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| format!("{}: no answer within {:?}", self.url, self.timeout))?
    }
}

/// What a subscription's dispatch tells the reporter: the calls running per realm.
pub trait Running: Send + Sync {
    /// `(realm, calls running)` for every realm with a call running.
    fn running_by_realm(&self) -> Vec<(String, u32)>;
}

/// One subscription as the reporter sees it.
pub struct Reported {
    /// Its report's fixed part (name, queues, configured limits).
    pub report: SubscriptionReport,
    /// Its running calls.
    pub running: Arc<dyn Running>,
}

/// The heartbeat loop of one sidecar.
pub struct Reporter {
    /// The fixed part of every beat (identity, backend).
    pub identity: Heartbeat,
    /// The subscriptions.
    pub subscriptions: Vec<Reported>,
    /// The counts since the last beat.
    pub tally: Arc<Tally>,
    /// The worker's health.
    pub health: HealthWatch,
    /// Cancelled when ferry starts draining.
    pub stopping: CancellationToken,
    /// Where the controls go.
    pub controls: Controls,
    /// The console.
    pub console: Arc<dyn ConsoleClient>,
    /// Events.
    pub telemetry: Telemetry,
}

/// The identity part of a heartbeat.
pub fn identity(
    service: &str,
    service_version: Option<&str>,
    backend: BackendRef,
    interval: Duration,
) -> Heartbeat {
    Heartbeat {
        sidecar: uuid::Uuid::new_v4().to_string(),
        host: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        pid: std::process::id(),
        service: service.to_owned(),
        service_version: service_version.map(str::to_owned),
        ferry_version: env!("CARGO_PKG_VERSION").to_owned(),
        backend,
        interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        ..Heartbeat::default()
    }
}

/// `configured` with the console's shares applied.
fn effective(configured: Limits, c: &super::wire::SubscriptionControls) -> Limits {
    Limits {
        max_in_flight: c.max_in_flight.unwrap_or(configured.max_in_flight),
        max_in_flight_per_realm: c
            .max_in_flight_per_realm
            .or(configured.max_in_flight_per_realm),
        rate_limit: c.rate_limit.or(configured.rate_limit),
    }
}

impl Reporter {
    /// The next beat: `pending` holds the counts not yet answered, per subscription.
    fn beat(&self, seq: u64, pending: &mut [Vec<RealmReport>]) -> Heartbeat {
        let mut beat = self.identity.clone();
        beat.seq = seq;
        beat.worker_serving = self.health.is_serving();
        beat.draining = self.stopping.is_cancelled();
        beat.subscriptions = self
            .subscriptions
            .iter()
            .zip(pending.iter_mut())
            .map(|(sub, pending)| {
                merge(pending, self.tally.take(&sub.report.name));
                let mut realms = pending.clone();
                for (realm, n) in sub.running.running_by_realm() {
                    match realms.iter_mut().find(|r| r.realm == realm) {
                        Some(r) => r.in_flight = n,
                        None => realms.push(RealmReport {
                            realm,
                            in_flight: n,
                            ..RealmReport::default()
                        }),
                    }
                }
                realms.sort_by(|a, b| a.realm.cmp(&b.realm));
                let controls = self.controls.current(&sub.report.name);
                SubscriptionReport {
                    effective: effective(sub.report.configured, &controls),
                    paused: controls.paused,
                    paused_realms: controls.paused_realms.clone(),
                    realms,
                    ..sub.report.clone()
                }
            })
            .collect();
        beat
    }

    /// Beats every `interval` until `stop`; one last beat once draining starts, so the
    /// console sees the sidecar leave.
    pub async fn run(self, interval: Duration, stop: CancellationToken) {
        self.tally.enable();
        let mut pending: Vec<Vec<RealmReport>> = vec![Vec::new(); self.subscriptions.len()];
        let mut reachable: Option<bool> = None;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seq = 0u64;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = stop.cancelled() => return,
            }
            seq += 1;
            let beat = self.beat(seq, &mut pending);
            match self.console.beat(&beat).await {
                Ok(reply) => {
                    for p in &mut pending {
                        p.clear();
                    }
                    let changed = self.controls.apply(&reply.controls);
                    if reachable != Some(true) || changed {
                        self.telemetry.emit(events::ConsoleReachable {
                            controls: reply.controls.len(),
                            changed,
                        });
                    }
                    reachable = Some(true);
                }
                Err(error) => {
                    if reachable != Some(false) {
                        self.telemetry.emit(events::ConsoleUnreachable { error });
                    }
                    reachable = Some(false);
                }
            }
        }
    }
}
