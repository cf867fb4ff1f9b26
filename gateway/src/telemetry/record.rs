//! [`Record`]: one log line in the standard schema. Elastic Common Schema names where ECS
//! has one (`@timestamp`, `log.level`, `message`, `event.action`, `event.outcome`,
//! `event.duration` in nanoseconds, `error.message`, `trace.id`, `span.id`, `service.name`,
//! `ecs.version`), and
//! `ferry.*` for the rest (`ferry.subscription`, `ferry.queue`, `ferry.message_id`,
//! `ferry.attempt`, `ferry.realm`, …). Keys are flat dotted names, as ECS loggers write them.
//! Every record carries its [`Origin`]: `service.name`, `service.version`, `host.name`.
//!
//! A record borrows what it can from the event that fills it (a message's ids, the texts
//! of its context) and copies nothing: it lives only while the event is emitted, and is
//! then encoded once into a [`Line`](super::Line) that every sink shares.

use std::{
    borrow::Cow,
    time::{Duration, SystemTime},
};

use serde_json::Value;

use super::line::{Encoder, Line};

/// The version written as `ferry.version`.
pub const FERRY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Elastic Common Schema version the schema follows, written as `ecs.version`.
pub const ECS_VERSION: &str = "8.11.0";

/// Who writes the records: `service.name`, `service.version` and `host.name`, on every
/// record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The worker's service name.
    pub service: String,
    /// The worker's version (`service_version` in the config; "unknown" when not given).
    pub version: String,
    /// This machine's host name.
    pub host: String,
}

impl Origin {
    /// `service` at `version` (None: "unknown") on this machine.
    pub fn new(service: &str, version: Option<&str>) -> Self {
        Self {
            service: service.to_owned(),
            version: version.unwrap_or("unknown").to_owned(),
            host: nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "unknown".to_owned()),
        }
    }
}

/// The fields every record from one [`Origin`] carries (`service.*`, `host.name`,
/// `ferry.version`, `ecs.version`), encoded once.
#[derive(Debug, Clone)]
pub struct Header(String);

impl Header {
    /// The header of the records from `origin`.
    pub fn of(origin: &Origin) -> Self {
        let mut e = Encoder::new();
        e.field("service.name", &Field::from(&origin.service));
        e.field("service.version", &Field::from(&origin.version));
        e.field("host.name", &Field::from(&origin.host));
        e.field("ferry.version", &Field::from(FERRY_VERSION));
        e.field("ecs.version", &Field::from(ECS_VERSION));
        let object = e.finish(SystemTime::UNIX_EPOCH).json;
        // The object's fields without its braces.
        Self(object[1..object.len() - 1].to_owned())
    }
}

/// One field's value, borrowed from the event where it can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    /// A string.
    Str(Cow<'a, str>),
    /// An unsigned number.
    U64(u64),
    /// A signed number.
    I64(i64),
    /// A floating-point number.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// Any JSON (an object or array a field holds).
    Json(Value),
}

impl<'a> From<&'a str> for Field<'a> {
    fn from(s: &'a str) -> Self {
        Self::Str(Cow::Borrowed(s))
    }
}

impl<'a> From<&'a String> for Field<'a> {
    fn from(s: &'a String) -> Self {
        Self::Str(Cow::Borrowed(s))
    }
}

impl From<String> for Field<'_> {
    fn from(s: String) -> Self {
        Self::Str(Cow::Owned(s))
    }
}

impl<'a> From<Cow<'a, str>> for Field<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Self::Str(s)
    }
}

macro_rules! numbers {
    ($variant:ident as $wide:ty: $($t:ty),*) => {$(
        impl From<$t> for Field<'_> {
            fn from(n: $t) -> Self {
                Self::$variant(<$wide>::from(n))
            }
        }
    )*};
}
numbers!(U64 as u64: u8, u16, u32, u64);
numbers!(I64 as i64: i8, i16, i32, i64);

impl From<usize> for Field<'_> {
    fn from(n: usize) -> Self {
        Self::U64(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

impl From<f64> for Field<'_> {
    fn from(n: f64) -> Self {
        Self::F64(n)
    }
}

impl From<bool> for Field<'_> {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<Value> for Field<'_> {
    fn from(v: Value) -> Self {
        Self::Json(v)
    }
}

/// One log record under construction: its time and level, then its fields in the order
/// they were first set (a field set again keeps its place and takes the new value).
#[derive(Debug, Clone)]
pub struct Record<'a> {
    at: SystemTime,
    level: Cow<'a, str>,
    fields: Vec<(Cow<'a, str>, Field<'a>)>,
}

/// The message a record is about.
#[derive(Debug, Clone, Default)]
pub struct MessageContext {
    /// The subscription.
    pub subscription: String,
    /// The queue.
    pub queue: String,
    /// The message id.
    pub message_id: String,
    /// The delivery attempt.
    pub attempt: u32,
    /// The realm; empty when none.
    pub realm: String,
    /// The W3C trace id (32 hex digits); empty when unknown.
    pub trace_id: String,
    /// The span the record belongs to (16 hex digits: the delivery's span for message
    /// events, the caller's span for gateway `Log` lines); empty when unknown.
    pub span_id: String,
    /// Its metric series, resolved once per delivery (`None`: looked up per event).
    pub series: Option<std::sync::Arc<super::metrics::MessageSeries>>,
}

impl Default for Record<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Record<'a> {
    /// A record stamped now, at level info.
    pub fn new() -> Self {
        Self {
            at: SystemTime::now(),
            level: Cow::Borrowed("info"),
            fields: Vec::with_capacity(16),
        }
    }

    /// Sets any field (`key` is usually a literal; a computed name is an owned `String`).
    pub fn set(&mut self, key: impl Into<Cow<'a, str>>, value: impl Into<Field<'a>>) -> &mut Self {
        let (key, value) = (key.into(), value.into());
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.fields.push((key, value)),
        }
        self
    }

    /// The value of field `key`, if it is set (`@timestamp` is [`Record::at`], `log.level`
    /// [`Record::log_level`]).
    pub fn get(&self, key: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The fields after `@timestamp` and `log.level`, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Field<'a>)> {
        self.fields.iter().map(|(k, v)| (&**k, v))
    }

    /// The record's time (`@timestamp`).
    pub fn at(&self) -> SystemTime {
        self.at
    }

    /// The record's `log.level`.
    pub fn log_level(&self) -> &str {
        &self.level
    }

    /// Sets `event.action`.
    pub fn action(&mut self, action: &'a str) -> &mut Self {
        self.set("event.action", action)
    }

    /// Sets `event.outcome` (`success`, `failure` or `unknown`).
    pub fn outcome(&mut self, outcome: &'a str) -> &mut Self {
        self.set("event.outcome", outcome)
    }

    /// Sets `log.level`.
    pub fn level(&mut self, level: &'a str) -> &mut Self {
        self.level = Cow::Borrowed(level);
        self
    }

    /// Sets `message`.
    pub fn message(&mut self, message: impl Into<Cow<'a, str>>) -> &mut Self {
        self.set("message", message.into())
    }

    /// Sets `error.message`.
    pub fn error(&mut self, error: impl Into<Cow<'a, str>>) -> &mut Self {
        self.set("error.message", error.into())
    }

    /// Sets `event.duration` (nanoseconds, as ECS defines it).
    pub fn duration(&mut self, d: Duration) -> &mut Self {
        self.set(
            "event.duration",
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        )
    }

    /// Overrides `@timestamp`.
    pub fn time(&mut self, t: SystemTime) -> &mut Self {
        self.at = t;
        self
    }

    /// Writes the message context as `ferry.*`, `trace.id` and `span.id`.
    pub fn context(&mut self, ctx: &'a MessageContext) -> &mut Self {
        self.set("ferry.subscription", &ctx.subscription);
        self.set("ferry.queue", &ctx.queue);
        self.set("ferry.message_id", &ctx.message_id);
        self.set("ferry.attempt", ctx.attempt);
        if !ctx.realm.is_empty() {
            self.set("ferry.realm", &ctx.realm);
        }
        if !ctx.trace_id.is_empty() {
            self.set("trace.id", &ctx.trace_id);
        }
        if !ctx.span_id.is_empty() {
            self.set("span.id", &ctx.span_id);
        }
        self
    }

    /// The record as one JSON line from `origin`, with the columns the local store files.
    pub fn encode(&self, origin: &Origin) -> Line {
        self.encode_with(&Header::of(origin))
    }

    /// [`Record::encode`] with the origin's fields encoded once for many records.
    pub fn encode_with(&self, header: &Header) -> Line {
        let mut e = Encoder::new();
        e.time("@timestamp", self.at);
        e.field("log.level", &Field::Str(Cow::Borrowed(&self.level)));
        e.fields(&header.0);
        for (k, v) in &self.fields {
            e.field(k, v);
        }
        e.finish(self.at)
    }

    /// The finished JSON object from `origin`.
    pub fn to_value(&self, origin: &Origin) -> Value {
        serde_json::from_str(self.encode(origin).json()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
