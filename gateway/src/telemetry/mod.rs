//! Telemetry: every step is one small event struct ([`events`]) that writes one log record
//! in the standard schema ([`record`]) and updates the Prometheus metrics ([`metrics`]) in
//! one place. A record is encoded once, on the emitting thread, into a [`Line`] ([`line`])
//! that every [`sink::LogSink`] shares: JSON lines on stdout by default, or Elasticsearch
//! through a disk spool ([`elasticsearch`]); with the embedded backend also a local SQLite
//! store that `ferry logs` reads ([`local`]).

pub mod elasticsearch;
pub mod events;
pub mod line;
pub mod local;
pub mod metrics;
pub mod otel;
pub mod process;
pub mod record;
pub mod sink;

use std::sync::Arc;

pub use line::{Column, Line};
pub use metrics::Metrics;
pub use record::{Field, Header, MessageContext, Origin, Record};
pub use sink::LogSink;

/// Something that happened: it fills one log record and counts itself.
pub trait Event {
    /// Writes the event's fields into `record` (action, outcome, level, message, …),
    /// borrowing what it can from the event.
    fn fill<'a>(&'a self, record: &mut Record<'a>);
    /// Updates metrics.
    fn count(&self, _metrics: &Metrics) {}
    /// Whether the event is written to the log (some are only counted).
    fn logged(&self) -> bool {
        true
    }
}

/// The handle through which everything in ferry emits events.
#[derive(Clone)]
pub struct Telemetry {
    origin: Arc<Origin>,
    header: Arc<Header>,
    metrics: Arc<Metrics>,
    sink: Arc<dyn LogSink>,
    spans: Option<Arc<otel::SpanSink>>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Telemetry for the worker service `service`, writing to `sink`.
    pub fn new(service: &str, sink: Arc<dyn LogSink>) -> Self {
        Self::with(Origin::new(service, None), Arc::new(Metrics::new()), sink)
    }

    /// Telemetry whose records carry `origin`, counting into `metrics` (shared with a sink
    /// that counts too), writing to `sink`.
    pub fn with(origin: Origin, metrics: Arc<Metrics>, sink: Arc<dyn LogSink>) -> Self {
        Self {
            header: Arc::new(Header::of(&origin)),
            origin: Arc::new(origin),
            metrics,
            sink,
            spans: None,
        }
    }

    /// The same telemetry, also making OpenTelemetry spans into `spans` (`None`: no spans).
    #[must_use]
    pub fn with_spans(mut self, spans: Option<Arc<otel::SpanSink>>) -> Self {
        self.spans = spans;
        self
    }

    /// Where spans go, when tracing is on.
    pub fn spans(&self) -> Option<&Arc<otel::SpanSink>> {
        self.spans.as_ref()
    }

    /// Logs and counts `event`.
    pub fn emit(&self, event: impl Event) {
        event.count(&self.metrics);
        if !event.logged() {
            return;
        }
        let mut record = Record::new();
        event.fill(&mut record);
        self.sink.write(Arc::new(record.encode_with(&self.header)));
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Waits until every record emitted so far is written (and every span exported, or
    /// `tracing.export_timeout` passed).
    pub async fn flush(&self) {
        if let Some(spans) = &self.spans {
            spans.flush().await;
        }
        self.sink.flush().await;
    }
}
