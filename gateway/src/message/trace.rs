//! W3C trace context (`traceparent`, `tracestate`): read from the message's attributes, or
//! created when absent or invalid, so every delivery and log line has a trace id; and the
//! delivery's own span, the parent of the worker's spans and of the follow-up messages.

use std::collections::BTreeMap;

use rand::Rng;

/// The trace context of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// The message's `00-<trace id>-<span id>-<flags>` (ferry's own root when it had none).
    pub traceparent: String,
    /// Passed through unchanged.
    pub tracestate: String,
    /// Whether ferry created it (the message had none or an invalid one).
    pub created: bool,
    /// The delivery's span id (16 hex digits, fresh per delivery): the parent of the
    /// worker's spans and of every follow-up message that does not set its own context.
    pub delivery_span: String,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The parts of a valid `traceparent`: trace id, parent span id, flags.
fn parts_of(traceparent: &str) -> Option<(&str, &str, &str)> {
    let mut parts = traceparent.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let valid = is_hex(version, 2)
        && version != "ff"
        && is_hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && is_hex(span, 16)
        && span.bytes().any(|b| b != b'0')
        && is_hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    valid.then_some((trace, span, flags))
}

/// The trace id of a valid `traceparent`, else `None`.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    parts_of(traceparent).map(|(trace, _, _)| trace)
}

/// The parent span id of a valid `traceparent`, else `None`.
pub fn span_id_of(traceparent: &str) -> Option<&str> {
    parts_of(traceparent).map(|(_, span, _)| span)
}

/// A fresh non-zero span id, 16 hex digits.
pub fn new_span_id() -> String {
    let span: u64 = rand::rng().random_range(1..=u64::MAX);
    format!("{span:016x}")
}

impl TraceContext {
    /// The message's trace context or, when it has none (or an invalid one), a new root
    /// whose trace id is derived from `message_id`, so every attempt of one message shares
    /// one trace id. Either way the delivery gets a fresh span id.
    pub fn from_attributes(attributes: &BTreeMap<String, String>, message_id: &str) -> Self {
        match attributes.get("traceparent") {
            Some(tp) if trace_id_of(tp).is_some() => Self {
                traceparent: tp.clone(),
                tracestate: attributes.get("tracestate").cloned().unwrap_or_default(),
                created: false,
                delivery_span: new_span_id(),
            },
            _ => Self::root_for(message_id),
        }
    }

    /// A new sampled root context with a trace id derived from `message_id`.
    pub fn root_for(message_id: &str) -> Self {
        let trace = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, message_id.as_bytes())
            .as_u128()
            .max(1);
        Self {
            traceparent: format!("00-{trace:032x}-{}-01", new_span_id()),
            tracestate: String::new(),
            created: true,
            delivery_span: new_span_id(),
        }
    }

    /// The 32-hex-digit trace id.
    pub fn trace_id(&self) -> &str {
        trace_id_of(&self.traceparent).unwrap_or_default()
    }

    /// The span the message was published under (ferry's root span when it created the
    /// context): the parent of the delivery's span.
    pub fn parent_span(&self) -> &str {
        span_id_of(&self.traceparent).unwrap_or_default()
    }

    /// The trace flags (`01`: sampled).
    pub fn flags(&self) -> &str {
        parts_of(&self.traceparent).map_or("01", |(_, _, flags)| flags)
    }

    /// Whether the sampled flag is set.
    pub fn sampled(&self) -> bool {
        u8::from_str_radix(self.flags(), 16).is_ok_and(|f| f & 1 == 1)
    }

    /// `00-<trace id>-<span>-<flags>`: the context of a child of the message's trace.
    pub fn child(&self, span: &str) -> String {
        format!("00-{}-{span}-{}", self.trace_id(), self.flags())
    }

    /// The `traceparent` of the delivery itself, given to the worker: its span id is the
    /// delivery's span.
    pub fn delivery_traceparent(&self) -> String {
        self.child(&self.delivery_span)
    }
}

/// Gives a follow-up message the context `traceparent` (and `tracestate`, when not empty)
/// unless it carries a `traceparent` of its own, and only while it stays within
/// `max_attributes` (a message at the limit is published without one rather than refused).
/// Returns whether it was stamped.
pub fn stamp_follow_up(
    attributes: &mut BTreeMap<String, String>,
    traceparent: &str,
    tracestate: &str,
    max_attributes: usize,
) -> bool {
    if attributes.contains_key("traceparent") {
        return false;
    }
    let needed = 1 + usize::from(!tracestate.is_empty() && !attributes.contains_key("tracestate"));
    if attributes.len() + needed > max_attributes {
        return false;
    }
    attributes.insert("traceparent".to_owned(), traceparent.to_owned());
    if !tracestate.is_empty() {
        attributes
            .entry("tracestate".to_owned())
            .or_insert_with(|| tracestate.to_owned());
    }
    true
}
