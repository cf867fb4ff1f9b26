//! [`TracingConfig`]: the `[tracing]` table — where spans go, how, and how many.

use serde::{Deserialize, Serialize};

use crate::bounded::{Count, Ratio, Span};

/// How spans are sent to the OTLP endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// OTLP over gRPC (usually port 4317).
    #[default]
    Grpc,
    /// OTLP over HTTP with protobuf bodies (usually port 4318, path `/v1/traces`).
    Http,
}

/// `[tracing]`: OpenTelemetry spans over OTLP. Off unless `otlp_endpoint` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracingConfig {
    /// The OTLP endpoint: `http://host:4317` for gRPC, `http://host:4318/v1/traces` for
    /// HTTP. Absent (the default): no spans are made or sent.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// `grpc` (default) or `http`.
    #[serde(default)]
    pub protocol: Protocol,
    /// The fraction of traces exported, from 0 to 1 (default 1), decided on the trace id
    /// the way OpenTelemetry's `TraceIdRatioBased` sampler does, so every sidecar makes the
    /// same choice for one trace.
    #[serde(default = "default_sample_ratio")]
    pub sample_ratio: Ratio,
    /// The `service.name` resource of the spans (default: the top-level `service`).
    #[serde(default)]
    pub service_name: Option<String>,
    /// The most finished spans waiting for export; further spans are dropped and counted
    /// (1 to 1 000 000, default 8192).
    #[serde(default = "default_max_queue")]
    pub max_queue: Count<1, 1_000_000>,
    /// How long one export may take (100 ms to 1 min, default 10 s).
    #[serde(default = "default_export_timeout")]
    pub export_timeout: Span<100, 60_000>,
}

fn default_sample_ratio() -> Ratio {
    Ratio::ONE
}

fn default_max_queue() -> Count<1, 1_000_000> {
    Count::of(8192)
}

fn default_export_timeout() -> Span<100, 60_000> {
    Span::of(std::time::Duration::from_secs(10))
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            protocol: Protocol::default(),
            sample_ratio: default_sample_ratio(),
            service_name: None,
            max_queue: default_max_queue(),
            export_timeout: default_export_timeout(),
        }
    }
}
