//! [`Line`]: a record encoded once, as the JSON line every sink writes — stdout, the local
//! store, Elasticsearch — shared between them. Encoding also notes where the fields the
//! local store files under columns of their own ([`Column`]) are in the line, so the store
//! reads them without parsing the JSON again or copying them out first.

use std::{borrow::Cow, time::SystemTime};

use serde_json::Value;

use super::record::Field;

/// A field the local store keeps in a column of its own, besides the whole line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `event.action`.
    Action,
    /// `event.outcome`.
    Outcome,
    /// `ferry.subscription`.
    Subscription,
    /// `ferry.realm`.
    Realm,
    /// `ferry.message_id`.
    MessageId,
    /// `ferry.published_id`.
    PublishedId,
    /// `trace.id`.
    TraceId,
    /// `message`.
    Message,
    /// `error.message`.
    Error,
}

impl Column {
    /// The column a field's key names, if any.
    fn of_key(key: &str) -> Option<Self> {
        Some(match key {
            "event.action" => Self::Action,
            "event.outcome" => Self::Outcome,
            "ferry.subscription" => Self::Subscription,
            "ferry.realm" => Self::Realm,
            "ferry.message_id" => Self::MessageId,
            "ferry.published_id" => Self::PublishedId,
            "trace.id" => Self::TraceId,
            "message" => Self::Message,
            "error.message" => Self::Error,
            _ => return None,
        })
    }
}

/// How many [`Column`]s there are.
const COLUMNS: usize = 9;

/// One record as a JSON object on one line (no newline), with its time and where its
/// column fields are.
#[derive(Debug, Clone)]
pub struct Line {
    pub(super) json: String,
    ts_ms: i64,
    /// Byte ranges of the column fields' string contents (between the quotes) in `json`;
    /// an empty range where the record has no such string.
    spans: [(u32, u32); COLUMNS],
}

impl Line {
    /// The JSON object.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The record's time, Unix milliseconds.
    pub fn ts_ms(&self) -> i64 {
        self.ts_ms
    }

    /// The text of `column`, if the record has it as a string that is not empty.
    pub fn column(&self, column: Column) -> Option<Cow<'_, str>> {
        let (start, end) = self.spans[column as usize];
        let (start, end) = (start as usize, end as usize);
        let raw = self.json.get(start..end).filter(|s| !s.is_empty())?;
        if !raw.contains('\\') {
            return Some(Cow::Borrowed(raw));
        }
        // Escaped in the JSON: read the string back with its quotes.
        let quoted = self.json.get(start - 1..end + 1)?;
        serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
    }

    /// A record already encoded as `json` at `ts_ms`, with no columns marked (a copy for
    /// stdout, which reads none).
    pub fn unindexed(json: String, ts_ms: i64) -> Self {
        Self {
            json,
            ts_ms,
            spans: [(0, 0); COLUMNS],
        }
    }

    /// A record given as a JSON object (its time from `@timestamp`, else now).
    pub fn from_value(record: &Value) -> Self {
        let at = record
            .get("@timestamp")
            .and_then(Value::as_str)
            .and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map_or_else(SystemTime::now, SystemTime::from);
        let mut e = Encoder::new();
        for (k, v) in record.as_object().into_iter().flatten() {
            match v {
                Value::String(s) => e.field(k, &Field::from(s)),
                other => e.field(k, &Field::Json(other.clone())),
            }
        }
        e.finish(at)
    }

    /// The record as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or_default()
    }
}

/// Writes `s` as a JSON string: as it is when nothing in it needs escaping (most keys and
/// values), else through serde_json, which escapes the same characters (controls, `"`
/// and `\\`).
fn string(out: &mut Vec<u8>, s: &str) {
    // No early exit: the compiler turns this into a vector loop (the strings are short and
    // almost never need escaping, so looking at every byte costs less than branching on
    // each).
    let plain = !s.bytes().fold(false, |bad, b| {
        bad | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(out, s);
    }
}

/// Unix milliseconds of `t` (0 before 1970): a record's `ts_ms`, and the local store's
/// clock.
pub(super) fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Writes one JSON object field by field.
pub(super) struct Encoder {
    out: Vec<u8>,
    spans: [(u32, u32); COLUMNS],
}

/// Room for a typical record (a `message.done` with its context is about 550 bytes).
const TYPICAL: usize = 640;

impl Encoder {
    pub(super) fn new() -> Self {
        let mut out = Vec::with_capacity(TYPICAL);
        out.push(b'{');
        Self {
            out,
            spans: [(0, 0); COLUMNS],
        }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(b',');
        }
        string(&mut self.out, key);
        self.out.push(b':');
    }

    /// Writes `fragment`, the JSON of fields made elsewhere (`"a":1,"b":2`), as it is.
    pub(super) fn fields(&mut self, fragment: &str) {
        if fragment.is_empty() {
            return;
        }
        if self.out.len() > 1 {
            self.out.push(b',');
        }
        self.out.extend_from_slice(fragment.as_bytes());
    }

    /// Writes `key` with the time `t` in RFC 3339 (UTC, nanoseconds; an empty string for a
    /// time RFC 3339 cannot write).
    pub(super) fn time(&mut self, key: &str, t: SystemTime) {
        self.key(key);
        self.out.push(b'"');
        let mark = self.out.len();
        let formatted = time::OffsetDateTime::from(t).format_into(
            &mut self.out,
            &time::format_description::well_known::Rfc3339,
        );
        if formatted.is_err() {
            self.out.truncate(mark);
        }
        self.out.push(b'"');
    }

    /// Writes `key` and `value`.
    pub(super) fn field(&mut self, key: &str, value: &Field<'_>) {
        self.key(key);
        let out = &mut self.out;
        let _ = match value {
            Field::Str(s) => {
                let start = out.len() + 1;
                string(out, s);
                if let Some(c) = Column::of_key(key) {
                    let end = out.len() - 1;
                    if let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) {
                        self.spans[c as usize] = (start, end);
                    }
                }
                Ok(())
            }
            Field::U64(n) => serde_json::to_writer(out, n),
            Field::I64(n) => serde_json::to_writer(out, n),
            Field::F64(n) => serde_json::to_writer(out, n),
            Field::Bool(b) => serde_json::to_writer(out, b),
            Field::Json(v) => serde_json::to_writer(out, v),
        };
    }

    /// The line, at time `at`.
    pub(super) fn finish(mut self, at: SystemTime) -> Line {
        self.out.push(b'}');
        let ts_ms = unix_ms(at);
        Line {
            // serde_json writes UTF-8 only.
            json: String::from_utf8(self.out).unwrap_or_default(),
            ts_ms,
            spans: self.spans,
        }
    }
}

#[cfg(test)]
mod tests;
