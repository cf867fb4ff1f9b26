//! [`DeliverySpans`]: the spans of one delivery, made explicitly with the ids ferry puts in
//! the `traceparent` it hands on — the delivery span (`receive <queue>`, consumer; its id is
//! the one the worker gets, so the worker's spans are its children), the `Handle` call to
//! the worker (client), the settle, and each publish of follow-ups (producer; its id is the
//! parent in their `traceparent`). With the messaging semantic conventions
//! (`messaging.system`, `messaging.destination.name`, `messaging.message.id`,
//! `messaging.operation.type`) and `ferry.subscription`, `ferry.realm`.

use std::{borrow::Cow, sync::Arc, time::SystemTime};

use opentelemetry::{
    KeyValue,
    trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState},
};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::SpanSink;

/// Whether the trace `trace_id` (32 hex digits) is exported at `ratio`: OpenTelemetry's
/// `TraceIdRatioBased` rule on the trace id's low 64 bits, so every process decides the
/// same for one trace.
pub fn sampled(trace_id: &str, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    let low = trace_id
        .get(16..32)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(u64::MAX);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let bound = (ratio * (1_u64 << 63) as f64) as u64;
    (low >> 1) < bound
}

/// The ids of one delivery, as 32 / 16 hex digits.
#[derive(Debug, Clone, Copy)]
pub struct SpanIds<'a> {
    /// The trace id.
    pub trace: &'a str,
    /// The span the message was published under.
    pub parent: &'a str,
    /// The delivery's span.
    pub delivery: &'a str,
}

/// What the spans of a delivery say about its message.
#[derive(Debug, Clone, Copy)]
pub struct Described<'a> {
    /// The backend (`embedded`, `sqs`, `pubsub`).
    pub system: &'a str,
    /// The queue (or Pub/Sub subscription) it came from.
    pub queue: &'a str,
    /// Its message id.
    pub message_id: &'a str,
    /// The subscription.
    pub subscription: &'a str,
    /// Its realm ("" when none).
    pub realm: &'a str,
}

/// The spans of one sampled delivery. The delivery span itself is sent by
/// [`end`](Self::end).
#[derive(Debug)]
pub struct DeliverySpans {
    sink: Arc<SpanSink>,
    trace: TraceId,
    parent: SpanId,
    delivery: SpanId,
    started: SystemTime,
    queue: String,
    system: String,
    common: Vec<KeyValue>,
}

fn span_id(hex: &str) -> SpanId {
    SpanId::from_hex(hex).unwrap_or(SpanId::INVALID)
}

fn system_name(kind: &str) -> &str {
    match kind {
        "sqs" => "aws_sqs",
        "pubsub" => "gcp_pubsub",
        other => other,
    }
}

impl DeliverySpans {
    /// The spans of a delivery with `ids`, when tracing is on and the trace is sampled.
    pub fn begin(
        sink: Option<&Arc<SpanSink>>,
        ids: SpanIds<'_>,
        what: Described<'_>,
    ) -> Option<Self> {
        let sink = sink?;
        if !sampled(ids.trace, sink.ratio()) {
            return None;
        }
        let system = system_name(what.system).to_owned();
        let mut common = vec![
            KeyValue::new("messaging.system", system.clone()),
            KeyValue::new("messaging.destination.name", what.queue.to_owned()),
            KeyValue::new("messaging.message.id", what.message_id.to_owned()),
            KeyValue::new("ferry.subscription", what.subscription.to_owned()),
        ];
        if !what.realm.is_empty() {
            common.push(KeyValue::new("ferry.realm", what.realm.to_owned()));
        }
        Some(Self {
            sink: Arc::clone(sink),
            trace: TraceId::from_hex(ids.trace).unwrap_or(TraceId::INVALID),
            parent: span_id(ids.parent),
            delivery: span_id(ids.delivery),
            started: SystemTime::now(),
            queue: what.queue.to_owned(),
            system,
            common,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        id: SpanId,
        parent: SpanId,
        kind: SpanKind,
        name: String,
        started: SystemTime,
        mut attributes: Vec<KeyValue>,
        error: Option<&str>,
    ) {
        let status = error.map_or(Status::Ok, |e| Status::error(e.to_owned()));
        if let Some(e) = error {
            attributes.push(KeyValue::new("error.type", "ferry"));
            attributes.push(KeyValue::new("ferry.error", e.to_owned()));
        }
        self.sink.send(SpanData {
            span_context: SpanContext::new(
                self.trace,
                id,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: parent,
            parent_span_is_remote: parent == self.parent,
            span_kind: kind,
            name: Cow::Owned(name),
            start_time: started,
            end_time: SystemTime::now(),
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
            instrumentation_scope: self.sink.scope.clone(),
        });
    }

    fn with(&self, operation: &'static str, extra: &[KeyValue]) -> Vec<KeyValue> {
        let mut a = self.common.clone();
        a.push(KeyValue::new("messaging.operation.type", operation));
        a.extend_from_slice(extra);
        a
    }

    /// The `Handle` call to the worker (a client span under the delivery), started at
    /// `started`, ending now; `error` when it failed.
    pub fn handle(&self, started: SystemTime, error: Option<&str>) {
        let mut attributes = self.common.clone();
        attributes.extend([
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", "ferry.v1.WorkerService"),
            KeyValue::new("rpc.method", "Handle"),
        ]);
        self.send(
            span_id(&new_id()),
            self.delivery,
            SpanKind::Client,
            "ferry.v1.WorkerService/Handle".to_owned(),
            started,
            attributes,
            error,
        );
    }

    /// A fresh span id for a publish, to put in the follow-ups' `traceparent` before
    /// [`publish`](Self::publish) records it.
    pub fn publish_id(&self) -> String {
        new_id()
    }

    /// A publish of `count` follow-ups to `destination` (a producer span under the
    /// delivery with id `id` from [`publish_id`](Self::publish_id)).
    pub fn publish(
        &self,
        id: &str,
        destination: &str,
        count: usize,
        started: SystemTime,
        error: Option<&str>,
    ) {
        let mut attributes = vec![
            KeyValue::new("messaging.system", self.system.clone()),
            KeyValue::new("messaging.destination.name", destination.to_owned()),
            KeyValue::new("messaging.operation.type", "send"),
            KeyValue::new("messaging.operation.name", "publish"),
            KeyValue::new(
                "messaging.batch.message_count",
                i64::try_from(count).unwrap_or(i64::MAX),
            ),
        ];
        attributes.extend(self.common[3..].iter().cloned());
        self.send(
            span_id(id),
            self.delivery,
            SpanKind::Producer,
            format!("send {destination}"),
            started,
            attributes,
            error,
        );
    }

    /// The settle (ack, release or dead-letter) with `outcome`, started at `started`.
    pub fn settle(&self, started: SystemTime, outcome: &str, error: Option<&str>) {
        let attributes = self.with(
            "settle",
            &[
                KeyValue::new("messaging.operation.name", outcome.to_owned()),
                KeyValue::new("ferry.outcome", outcome.to_owned()),
            ],
        );
        self.send(
            span_id(&new_id()),
            self.delivery,
            SpanKind::Internal,
            format!("settle {}", self.queue),
            started,
            attributes,
            error,
        );
    }

    /// Ends the delivery span (`receive <queue>`, consumer, child of the message's span).
    pub fn end(self, attempt: u32) {
        let attributes = self.with(
            "receive",
            &[
                KeyValue::new("messaging.operation.name", "receive"),
                KeyValue::new("ferry.attempt", i64::from(attempt)),
            ],
        );
        self.send(
            self.delivery,
            self.parent,
            SpanKind::Consumer,
            format!("receive {}", self.queue),
            self.started,
            attributes,
            None,
        );
    }
}

/// A fresh non-zero span id, 16 hex digits.
pub fn new_id() -> String {
    use rand::Rng as _;
    let id: u64 = rand::rng().random_range(1..=u64::MAX);
    format!("{id:016x}")
}
