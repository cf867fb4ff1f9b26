//! W3C trace context (`traceparent`, `tracestate`): read from the message's attributes, or
//! created when absent or invalid, so every delivery and log line has a trace id; and the
//! delivery's own span, the parent of the worker's spans and of the follow-up messages.

use std::collections::BTreeMap;

use rand::Rng;

/// Lowercase hex digits of a W3C id: 32 for a trace id, 16 for a span id. A value that
/// exists is valid: [`Hex::parse`] checks it, [`Hex::of`] writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex<const N: usize>([u8; N]);

impl<const N: usize> Hex<N> {
    /// `s` if it is `N` lowercase hex digits, not all zero.
    fn parse(s: &str) -> Option<Self> {
        let bytes: [u8; N] = s.as_bytes().try_into().ok()?;
        let hex = bytes
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        (hex && bytes.iter().any(|b| *b != b'0')).then_some(Self(bytes))
    }

    /// The low `4 * N` bits of `n` as hex digits.
    fn of(mut n: u128) -> Self {
        let mut out = [b'0'; N];
        for b in out.iter_mut().rev() {
            *b = b"0123456789abcdef"[(n & 0xf) as usize];
            n >>= 4;
        }
        Self(out)
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        // Hex digits only (checked or written above).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// A trace id: 32 hex digits.
pub type TraceId = Hex<32>;
/// A span id: 16 hex digits.
pub type SpanId = Hex<16>;

impl SpanId {
    /// A fresh non-zero span id.
    pub fn random() -> Self {
        Self::of(u128::from(rand::rng().random_range(1..=u64::MAX)))
    }
}

/// Two lowercase hex digits as a byte.
fn hex_byte(s: &str) -> Option<u8> {
    let [high, low]: [u8; 2] = s.as_bytes().try_into().ok()?;
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    Some((digit(high)? << 4) | digit(low)?)
}

/// The parts of a valid `traceparent`: trace id, parent span id, flags.
fn parts_of(traceparent: &str) -> Option<(TraceId, SpanId, u8)> {
    let mut parts = traceparent.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let version = hex_byte(version)?;
    // ff is invalid; version 00 has exactly four fields, later versions may have more.
    if version == 0xff || (version == 0 && parts.next().is_some()) {
        return None;
    }
    Some((
        TraceId::parse(trace)?,
        SpanId::parse(span)?,
        hex_byte(flags)?,
    ))
}

/// The trace id of a valid `traceparent`, else `None`.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    parts_of(traceparent)?;
    traceparent.get(3..35)
}

/// The parent span id of a valid `traceparent`, else `None`.
pub fn span_id_of(traceparent: &str) -> Option<&str> {
    parts_of(traceparent)?;
    traceparent.get(36..52)
}

/// A fresh non-zero span id, 16 hex digits.
pub fn new_span_id() -> String {
    SpanId::random().as_str().to_owned()
}

/// The trace context of one delivery, read once from the message's `traceparent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: TraceId,
    parent_span: SpanId,
    flags: u8,
    /// Passed through unchanged.
    pub tracestate: String,
    /// Whether ferry created it (the message had none or an invalid one).
    pub created: bool,
    /// The delivery's span id (fresh per delivery): the parent of the worker's spans and
    /// of every follow-up message that does not set its own context.
    pub delivery_span: SpanId,
}

impl TraceContext {
    /// The message's trace context or, when it has none (or an invalid one), a new root
    /// whose trace id is derived from `message_id`, so every attempt of one message shares
    /// one trace id. Either way the delivery gets a fresh span id.
    pub fn from_attributes(attributes: &BTreeMap<String, String>, message_id: &str) -> Self {
        match attributes.get("traceparent").and_then(|tp| parts_of(tp)) {
            Some((trace_id, parent_span, flags)) => Self {
                trace_id,
                parent_span,
                flags,
                tracestate: attributes.get("tracestate").cloned().unwrap_or_default(),
                created: false,
                delivery_span: SpanId::random(),
            },
            None => Self::root_for(message_id),
        }
    }

    /// A new sampled root context with a trace id derived from `message_id`.
    pub fn root_for(message_id: &str) -> Self {
        let trace = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, message_id.as_bytes())
            .as_u128()
            .max(1);
        Self {
            trace_id: TraceId::of(trace),
            parent_span: SpanId::random(),
            flags: 1,
            tracestate: String::new(),
            created: true,
            delivery_span: SpanId::random(),
        }
    }

    /// The 32-hex-digit trace id.
    pub fn trace_id(&self) -> &str {
        self.trace_id.as_str()
    }

    /// The span the message was published under (ferry's root span when it created the
    /// context): the parent of the delivery's span.
    pub fn parent_span(&self) -> &str {
        self.parent_span.as_str()
    }

    /// The message's `traceparent` (ferry's own root when it had none).
    pub fn traceparent(&self) -> String {
        self.with_span(&self.parent_span)
    }

    /// Whether the sampled flag is set.
    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }

    fn with_span(&self, span: &SpanId) -> String {
        self.child(span.as_str())
    }

    /// `00-<trace id>-<span>-<flags>`: the context of a child of the message's trace
    /// (`span` is a span id ferry made).
    pub fn child(&self, span: &str) -> String {
        format!("00-{}-{span}-{:02x}", self.trace_id.as_str(), self.flags)
    }

    /// The `traceparent` of the delivery itself, given to the worker: its span id is the
    /// delivery's span.
    pub fn delivery_traceparent(&self) -> String {
        self.with_span(&self.delivery_span)
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
