//! W3C trace context (`traceparent`, `tracestate`): read from the message's attributes, or
//! created when absent or invalid, so every delivery and log line has a trace id.

use std::collections::BTreeMap;

use rand::Rng;

/// The trace context of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// `00-<trace id>-<span id>-<flags>`.
    pub traceparent: String,
    /// Passed through unchanged.
    pub tracestate: String,
    /// Whether ferry created it (the message had none or an invalid one).
    pub created: bool,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The trace id of a valid `traceparent`, else `None`.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
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
    valid.then_some(trace)
}

impl TraceContext {
    /// The message's trace context or, when it has none (or an invalid one), a new root
    /// whose trace id is derived from `message_id`, so every attempt of one message shares
    /// one trace id.
    pub fn from_attributes(attributes: &BTreeMap<String, String>, message_id: &str) -> Self {
        match attributes.get("traceparent") {
            Some(tp) if trace_id_of(tp).is_some() => Self {
                traceparent: tp.clone(),
                tracestate: attributes.get("tracestate").cloned().unwrap_or_default(),
                created: false,
            },
            _ => Self::root_for(message_id),
        }
    }

    /// A new sampled root context with a trace id derived from `message_id`.
    pub fn root_for(message_id: &str) -> Self {
        let trace = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, message_id.as_bytes())
            .as_u128()
            .max(1);
        let span: u64 = rand::rng().random_range(1..=u64::MAX);
        Self {
            traceparent: format!("00-{trace:032x}-{span:016x}-01"),
            tracestate: String::new(),
            created: true,
        }
    }

    /// The 32-hex-digit trace id.
    pub fn trace_id(&self) -> &str {
        trace_id_of(&self.traceparent).unwrap_or_default()
    }
}
