//! The top-level sections of `ferry.toml`. Every field has a default, so a file that only
//! names a worker address and one subscription runs on the embedded backend.

use std::{collections::BTreeMap, net::SocketAddr};

use serde::{Deserialize, Serialize};

use super::subscription::SubscriptionConfig;
pub use crate::backend::BackendConfig;
use crate::{
    bounded::{Count, Span},
    telemetry::metrics::{DEFAULT_MAX_REALMS, MaxRealms},
};

/// The whole `ferry.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FerryConfig {
    /// The worker's service name, written as `service.name` on every log event.
    #[serde(default = "default_service")]
    pub service: String,
    /// The worker's version, written as `service.version` on every log event ("unknown"
    /// when absent; `FERRY_SERVICE_VERSION` sets it from the environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_version: Option<String>,
    /// How to reach the worker.
    #[serde(default)]
    pub worker: WorkerConfig,
    /// The `GatewayService` (Publish, Log) that ferry serves to the worker.
    #[serde(default)]
    pub gateway: GatewayConfig,
    /// The admin HTTP endpoint: `/healthz`, `/readyz`, `/metrics`.
    #[serde(default)]
    pub admin: AdminConfig,
    /// The queue backend; the embedded SQLite queue when absent.
    #[serde(default)]
    pub backend: BackendConfig,
    /// Size limits applied to received and published messages.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The Prometheus metrics on `/metrics`.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Draining on SIGTERM / SIGINT.
    #[serde(default)]
    pub shutdown: ShutdownConfig,
    /// Where log events go (`[logs]`, `[logs.elasticsearch]`); stdout when absent.
    #[serde(default)]
    pub logs: crate::telemetry::elasticsearch::LogsConfig,
    /// OpenTelemetry spans over OTLP (`[tracing]`); off unless `otlp_endpoint` is set.
    #[serde(default)]
    pub tracing: crate::telemetry::otel::TracingConfig,
    /// The webhook ingress (`[ingress]`): HTTP endpoints that verify, validate and publish
    /// requests. With it, subscriptions are optional (a publish-only ferry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<crate::ingress::IngressConfig>,
    /// The console this sidecar reports to (`[console]`); none when absent.
    #[serde(default)]
    pub console: crate::control::ConsoleLink,
    /// The async runtime `ferry run` works on (`[runtime]`): one thread by default.
    #[serde(default)]
    pub runtime: super::RuntimeConfig,
    /// The subscriptions, by name (`[subscriptions.<name>]`). At least one is required,
    /// unless `[ingress]` is configured.
    #[serde(default)]
    pub subscriptions: BTreeMap<String, SubscriptionConfig>,
}

impl FerryConfig {
    /// The local log store, if it is on (`[logs.local]`, by default on with the embedded
    /// backend, next to its queue file).
    pub fn local_logs(&self) -> Option<crate::telemetry::local::LocalStore> {
        let queue = match &self.backend {
            BackendConfig::Embedded(e) => Some(e.path.as_path()),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        self.logs.local.clone().unwrap_or_default().resolve(queue)
    }

    /// What each subscription asks of the backend, for its preflight.
    pub fn queue_plans(&self) -> Vec<crate::backend::QueuePlan> {
        self.subscriptions
            .iter()
            .map(|(name, sub)| crate::backend::QueuePlan {
                subscription: name.clone(),
                queue: sub.queue_prefix.is_none().then(|| sub.queue_name(name)),
                queue_prefix: sub.queue_prefix.clone(),
                error_queue: sub.error_queue_name(name),
                max_attempts: sub.max_attempts.get(),
                backoff_max: sub.backoff.max(),
                receive_wait: sub.receive_wait.get(),
                discovery_interval: sub.discovery_interval.get(),
            })
            .collect()
    }

    /// The config with its secrets (`logs.elasticsearch.api_key`, `password`,
    /// `console.token`) replaced by
    /// `<redacted>`, for printing.
    pub fn redacted(&self) -> Self {
        let mut copy = self.clone();
        if copy.console.token.is_some() {
            copy.console.token = Some("<redacted>".to_owned());
        }
        if let Some(es) = copy.logs.elasticsearch.as_mut() {
            for secret in [&mut es.api_key, &mut es.password] {
                if secret.is_some() {
                    *secret = Some("<redacted>".to_owned());
                }
            }
        }
        copy
    }
}

fn default_service() -> String {
    "ferry-worker".to_owned()
}

/// `[worker]`: the gRPC worker ferry calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// The worker's gRPC address (`http://host:port`). A child started with `ferry run --`
    /// gets its host:port in `FERRY_WORKER_ADDR`.
    #[serde(default = "default_worker_address")]
    pub address: String,
    /// How often the worker's `grpc.health.v1.Health` is checked while it is serving (it is
    /// also checked at once whenever a call fails as if the worker were gone): 10 ms to 1 h.
    #[serde(default = "default_health_interval")]
    pub health_interval: Span<10, 3_600_000>,
    /// How long a child worker is given to exit after SIGTERM before it is killed: up to 1 h.
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout: Span<0, 3_600_000>,
}

fn default_worker_address() -> String {
    "http://127.0.0.1:50051".to_owned()
}

fn default_health_interval() -> Span<10, 3_600_000> {
    Span::secs(1)
}

fn default_stop_timeout() -> Span<0, 3_600_000> {
    Span::secs(10)
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            address: default_worker_address(),
            health_interval: default_health_interval(),
            stop_timeout: default_stop_timeout(),
        }
    }
}

/// `[gateway]`: the `GatewayService` ferry serves on localhost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Whether to serve the gateway API at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Listen address; port 0 picks a free port (reported in the `ferry.started` event).
    #[serde(default = "default_gateway_listen")]
    pub listen: SocketAddr,
}

fn default_true() -> bool {
    true
}

fn default_gateway_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50052))
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: default_gateway_listen(),
        }
    }
}

/// `[admin]`: health and metrics over HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Whether to serve the admin endpoint.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Listen address (127.0.0.1 by default); port 0 picks a free port.
    #[serde(default = "default_admin_listen")]
    pub listen: SocketAddr,
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9464))
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: default_admin_listen(),
        }
    }
}

/// `[limits]`: message size limits. A received message over a limit is dead-lettered with
/// the reason; a publish over a limit is refused with INVALID_ARGUMENT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// The largest payload in bytes (default 256 KiB, the SQS limit; at most 64 MiB).
    #[serde(default = "default_max_payload")]
    pub max_payload_bytes: Count<1, 67_108_864>,
    /// The most attributes one message may carry (at most 1000).
    #[serde(default = "default_max_attributes")]
    pub max_attributes: Count<0, 1000>,
}

fn default_max_payload() -> Count<1, 67_108_864> {
    Count::of(256 * 1024)
}

fn default_max_attributes() -> Count<0, 1000> {
    Count::of(64)
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_payload_bytes: default_max_payload(),
            max_attributes: default_max_attributes(),
        }
    }
}

/// `[shutdown]`: what happens on SIGTERM / SIGINT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownConfig {
    /// How long in-flight calls may run after the signal; what is still running then is
    /// handed back to the queue at once, without counting the attempt. Keep it below the
    /// orchestrator's kill timeout (Kubernetes `terminationGracePeriodSeconds`). At most 1 h.
    #[serde(default = "default_grace")]
    pub grace: Span<0, 3_600_000>,
}

fn default_grace() -> Span<0, 3_600_000> {
    Span::secs(25)
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            grace: default_grace(),
        }
    }
}

/// `[metrics]`: the Prometheus metrics on the admin endpoint's `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// The most realms (tenant keys, read from message attributes) that get series of their
    /// own, per process: the first ones seen. Messages of any other realm are counted under
    /// `realm="_other"`, so new tenants never grow the metrics without bound (1 to 10 000).
    #[serde(default = "default_max_realms")]
    pub max_realms: MaxRealms,
}

fn default_max_realms() -> MaxRealms {
    DEFAULT_MAX_REALMS
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            max_realms: default_max_realms(),
        }
    }
}
