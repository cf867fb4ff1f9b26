//! OpenTelemetry spans of the delivery pipeline, exported over OTLP (gRPC or HTTP) when
//! `[tracing] otlp_endpoint` is set, and nothing at all otherwise (no exporter task, no
//! span objects). Spans are made explicitly, with the ids ferry already puts in the
//! `traceparent` it hands on ([`crate::message::TraceContext`]): the delivery's span is
//! the parent of the worker's own spans and of the follow-up messages, so a flow across
//! sidecars and workers is one connected trace.

mod config;
mod exporter;
mod spans;

pub use config::{Protocol, TracingConfig};
pub use exporter::{SpanSink, start};
pub use spans::{DeliverySpans, Described, SpanIds, new_id, sampled};

#[cfg(test)]
mod tests;
