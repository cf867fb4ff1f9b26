//! [`Record`]: one log line in the standard schema. Elastic Common Schema names where ECS
//! has one (`@timestamp`, `log.level`, `message`, `event.action`, `event.outcome`,
//! `event.duration` in nanoseconds, `error.message`, `trace.id`, `span.id`, `service.name`,
//! `ecs.version`), and
//! `ferry.*` for the rest (`ferry.subscription`, `ferry.queue`, `ferry.message_id`,
//! `ferry.attempt`, `ferry.realm`, …). Keys are flat dotted names, as ECS loggers write them.
//! Every record carries its [`Origin`]: `service.name`, `service.version`, `host.name`.

use std::{
    borrow::Cow,
    time::{Duration, SystemTime},
};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

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

/// One log record under construction: its time, written first as `@timestamp`, then its
/// fields in the order they were first set (a field set again keeps its place and takes
/// the new value). Field names are mostly literals and are not copied; the time is
/// formatted only when the record is written; a record serialises itself without becoming
/// a [`serde_json::Value`] first, which matters at one or two records per message.
#[derive(Debug, Clone)]
pub struct Record {
    at: SystemTime,
    fields: Vec<(Cow<'static, str>, Value)>,
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

/// `t` in RFC 3339 (UTC, nanoseconds), formatted into `buf`; the text written (empty for a
/// time RFC 3339 cannot write).
fn timestamp(t: SystemTime, buf: &mut [u8; 40]) -> &str {
    let mut out = std::io::Cursor::new(&mut buf[..]);
    let formatted = time::OffsetDateTime::from(t)
        .format_into(&mut out, &time::format_description::well_known::Rfc3339);
    let end = match formatted {
        Ok(_) => usize::try_from(out.position()).unwrap_or(0),
        Err(_) => 0,
    };
    std::str::from_utf8(&buf[..end]).unwrap_or_default()
}

impl Record {
    /// A record stamped now, from `origin`, at level info.
    pub fn new(origin: &Origin) -> Self {
        let mut fields = Vec::with_capacity(16);
        fields.push(("log.level".into(), "info".into()));
        fields.push(("service.name".into(), origin.service.as_str().into()));
        fields.push(("service.version".into(), origin.version.as_str().into()));
        fields.push(("host.name".into(), origin.host.as_str().into()));
        fields.push(("ferry.version".into(), FERRY_VERSION.into()));
        fields.push(("ecs.version".into(), ECS_VERSION.into()));
        Self {
            at: SystemTime::now(),
            fields,
        }
    }

    /// Sets any field (`key` is usually a literal; a computed name is an owned `String`).
    pub fn set(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> &mut Self {
        let (key, value) = (key.into(), value.into());
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.fields.push((key, value)),
        }
        self
    }

    /// The value of field `key`, if it is set (`@timestamp` is [`Record::at`]).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The fields after `@timestamp`, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields.iter().map(|(k, v)| (&**k, v))
    }

    /// The record's time (`@timestamp`).
    pub fn at(&self) -> SystemTime {
        self.at
    }

    /// Sets `event.action`.
    pub fn action(&mut self, action: &str) -> &mut Self {
        self.set("event.action", action)
    }

    /// Sets `event.outcome` (`success`, `failure` or `unknown`).
    pub fn outcome(&mut self, outcome: &str) -> &mut Self {
        self.set("event.outcome", outcome)
    }

    /// Sets `log.level`.
    pub fn level(&mut self, level: &str) -> &mut Self {
        self.set("log.level", level)
    }

    /// Sets `message`.
    pub fn message(&mut self, message: impl Into<String>) -> &mut Self {
        self.set("message", message.into())
    }

    /// Sets `error.message`.
    pub fn error(&mut self, error: impl Into<String>) -> &mut Self {
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
    pub fn context(&mut self, ctx: &MessageContext) -> &mut Self {
        self.set("ferry.subscription", ctx.subscription.as_str());
        self.set("ferry.queue", ctx.queue.as_str());
        self.set("ferry.message_id", ctx.message_id.as_str());
        self.set("ferry.attempt", ctx.attempt);
        if !ctx.realm.is_empty() {
            self.set("ferry.realm", ctx.realm.as_str());
        }
        if !ctx.trace_id.is_empty() {
            self.set("trace.id", ctx.trace_id.as_str());
        }
        if !ctx.span_id.is_empty() {
            self.set("span.id", ctx.span_id.as_str());
        }
        self
    }

    /// The finished JSON object.
    pub fn into_value(self) -> Value {
        let mut buf = [0; 40];
        let at = ("@timestamp".to_owned(), timestamp(self.at, &mut buf).into());
        Value::Object(
            std::iter::once(at)
                .chain(self.fields.into_iter().map(|(k, v)| (k.into_owned(), v)))
                .collect::<Map<String, Value>>(),
        )
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len() + 1))?;
        let mut buf = [0; 40];
        map.serialize_entry("@timestamp", timestamp(self.at, &mut buf))?;
        for (k, v) in &self.fields {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests;
