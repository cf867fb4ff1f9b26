//! [`Message`]: one delivery of a queue message, as the handler sees it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::JsonError;

/// One delivery of one message, handed to the [`Handler`](crate::Handler).
///
/// The fields are public so that tests can build messages directly; start from
/// [`Message::new`] or [`Message::json`] and set what matters:
///
/// ```
/// let msg = ferry_sdk::Message { attempt: 3, max_attempts: 3, ..ferry_sdk::Message::new("hi") };
/// assert!(msg.is_last_attempt());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    /// The body exactly as published.
    pub payload: Bytes,
    /// All broker attributes (ferry's own `ferry.*` bookkeeping attributes are removed).
    pub attributes: HashMap<String, String>,
    /// The broker's message id: stable across redeliveries of the same message.
    pub id: String,
    /// The delivery attempt, starting at 1.
    pub attempt: u32,
    /// The subscription's `max_attempts` (0 when unknown).
    pub max_attempts: u32,
    /// The tenant key, from the subscription's realm attribute; `None` when the message has
    /// none.
    pub realm: Option<String>,
    /// The ferry subscription the delivery comes from.
    pub subscription: String,
    /// The queue (or Pub/Sub subscription) the message was received from.
    pub queue: String,
    /// W3C trace context of the message.
    pub trace: TraceContext,
    /// When ferry stops waiting for the answer, as wall-clock time (ferry sends it as a
    /// protobuf `Timestamp`); `None` when ferry set no deadline. The SDK stops the handler
    /// at this time and answers retry; see [`Message::time_left`].
    pub deadline: Option<SystemTime>,
    /// When the message was first published, as reported by the broker.
    pub published_at: Option<SystemTime>,
}

/// W3C trace context (`traceparent`, `tracestate`) carried with a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceContext {
    /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`; empty when unknown.
    pub traceparent: String,
    /// Vendor trace state, passed through unchanged; empty when absent.
    pub tracestate: String,
}

impl TraceContext {
    /// The 32-hex-digit trace id from `traceparent`, or `None` when it is malformed.
    ///
    /// ```
    /// let trace = ferry_sdk::TraceContext {
    ///     traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
    ///     tracestate: String::new(),
    /// };
    /// assert_eq!(trace.trace_id(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    /// ```
    pub fn trace_id(&self) -> Option<&str> {
        let mut parts = self.traceparent.split('-');
        let (_version, trace_id) = (parts.next()?, parts.next()?);
        let valid = trace_id.len() == 32
            && trace_id.bytes().all(|b| b.is_ascii_hexdigit())
            && trace_id.bytes().any(|b| b != b'0');
        valid.then_some(trace_id)
    }

    /// The 16-hex-digit span id from `traceparent`, or `None` when it is malformed. In a
    /// [`Message`] from ferry this is the delivery's span: make it the parent of the
    /// handler's own spans, and the message joins one trace with everything before and
    /// after it.
    ///
    /// ```
    /// let trace = ferry_sdk::TraceContext {
    ///     traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
    ///     tracestate: String::new(),
    /// };
    /// assert_eq!(trace.span_id(), Some("00f067aa0ba902b7"));
    /// ```
    pub fn span_id(&self) -> Option<&str> {
        self.trace_id()?;
        let span_id = self.traceparent.split('-').nth(2)?;
        let valid = span_id.len() == 16
            && span_id.bytes().all(|b| b.is_ascii_hexdigit())
            && span_id.bytes().any(|b| b != b'0');
        valid.then_some(span_id)
    }

    /// The delivery's span as the remote parent in an `opentelemetry::Context` (feature
    /// `opentelemetry`): start the handler's spans with it and they join the message's
    /// trace as children of the delivery. An invalid `traceparent` gives an empty context
    /// (the spans start a trace of their own).
    ///
    /// ```
    /// # #[cfg(feature = "opentelemetry")] {
    /// use opentelemetry::trace::TraceContextExt as _;
    /// let trace = ferry_sdk::TraceContext {
    ///     traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
    ///     tracestate: String::new(),
    /// };
    /// let cx = trace.otel_context();
    /// assert_eq!(cx.span().span_context().span_id().to_string(), "00f067aa0ba902b7");
    /// # }
    /// ```
    #[cfg(feature = "opentelemetry")]
    pub fn otel_context(&self) -> opentelemetry::Context {
        use opentelemetry::trace::{
            SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
        };
        let (Some(trace_id), Some(span_id)) = (self.trace_id(), self.span_id()) else {
            return opentelemetry::Context::new();
        };
        let flags = if self.sampled() {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let state = self.tracestate.parse::<TraceState>().unwrap_or_default();
        let span = SpanContext::new(
            TraceId::from_hex(trace_id).unwrap_or(TraceId::INVALID),
            SpanId::from_hex(span_id).unwrap_or(SpanId::INVALID),
            flags,
            true,
            state,
        );
        opentelemetry::Context::new().with_remote_span_context(span)
    }

    /// Whether the trace is sampled (the `01` flag of `traceparent`).
    pub fn sampled(&self) -> bool {
        self.traceparent
            .split('-')
            .nth(3)
            .and_then(|f| u8::from_str_radix(f, 16).ok())
            .is_some_and(|f| f & 1 == 1)
    }
}

impl Message {
    /// A message with this payload, attempt 1 of 1 and nothing else set (for tests).
    pub fn new(payload: impl Into<Bytes>) -> Self {
        Message {
            payload: payload.into(),
            attempt: 1,
            max_attempts: 1,
            ..Message::default()
        }
    }

    /// A message whose payload is `value` as JSON (for tests).
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, JsonError> {
        let payload = serde_json::to_vec(value).map_err(|source| JsonError::Encode {
            type_name: std::any::type_name::<T>(),
            source,
        })?;
        Ok(Message::new(payload))
    }

    /// The payload read as JSON into `T`.
    ///
    /// A payload that does not parse can never succeed, so the usual answer to the error is
    /// [`Reply::dead_letter`](crate::Reply::dead_letter) with its text.
    pub fn payload_json<T: DeserializeOwned>(&self) -> Result<T, JsonError> {
        serde_json::from_slice(&self.payload).map_err(|source| JsonError::Decode {
            type_name: std::any::type_name::<T>(),
            source,
        })
    }

    /// The payload as UTF-8 text, or `None` when it is not valid UTF-8.
    pub fn payload_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }

    /// An attribute's value.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    /// True when a retry answer will dead-letter the message instead (the attempt has
    /// reached `max_attempts`). False when `max_attempts` is unknown (0).
    pub fn is_last_attempt(&self) -> bool {
        self.max_attempts > 0 && self.attempt >= self.max_attempts
    }

    /// The trace id of the message, for log lines and spans.
    pub fn trace_id(&self) -> Option<&str> {
        self.trace.trace_id()
    }

    /// The delivery's span id: the parent of the handler's own spans (see
    /// [`TraceContext::span_id`]).
    pub fn span_id(&self) -> Option<&str> {
        self.trace.span_id()
    }

    /// Time left until the deadline (zero once it has passed); `None` without a deadline.
    pub fn time_left(&self) -> Option<Duration> {
        let deadline = self.deadline?;
        Some(
            deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }
}

#[cfg(test)]
mod tests;
