//! How one record becomes rows: its filter columns read in one pass over its fields
//! ([`Columns`]), then one row in `records`, one in `record_keys` when it names a message
//! or a trace, and one in the text index when it has words worth searching
//! ([`Statements::insert`], with the statements prepared once per transaction).

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{CachedStatement, Connection, params};
use serde_json::Value;

use super::schema::{INSERT, INSERT_KEYS, INSERT_TEXT, key_hash};
use crate::telemetry::Record;

/// The events whose `message` is a fixed text, left out of the text index.
const UNSEARCHED_ACTIONS: [&str; 2] = ["message.received", "message.done"];

/// Unix milliseconds of an RFC 3339 time.
pub(super) fn rfc3339_ms(text: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Unix milliseconds of `t` (0 before 1970).
pub(super) fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Unix milliseconds now.
pub(super) fn now_ms() -> i64 {
    unix_ms(SystemTime::now())
}

/// What a record puts into the columns and the indexes (text fields that are set and not
/// empty).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Columns<'a> {
    pub(super) ts: i64,
    pub(super) action: Option<&'a str>,
    pub(super) outcome: Option<&'a str>,
    pub(super) subscription: Option<&'a str>,
    pub(super) realm: Option<&'a str>,
    pub(super) message_id: Option<&'a str>,
    pub(super) published_id: Option<&'a str>,
    pub(super) trace_id: Option<&'a str>,
    message: Option<&'a str>,
    error: Option<&'a str>,
}

impl<'a> Columns<'a> {
    /// The columns of `fields`, at `ts`.
    fn of_fields(ts: i64, fields: impl Iterator<Item = (&'a str, &'a Value)>) -> Self {
        let mut c = Self {
            ts,
            ..Self::default()
        };
        for (key, value) in fields {
            let slot = match key {
                "event.action" => &mut c.action,
                "event.outcome" => &mut c.outcome,
                "ferry.subscription" => &mut c.subscription,
                "ferry.realm" => &mut c.realm,
                "ferry.message_id" => &mut c.message_id,
                "ferry.published_id" => &mut c.published_id,
                "trace.id" => &mut c.trace_id,
                "message" => &mut c.message,
                "error.message" => &mut c.error,
                _ => continue,
            };
            *slot = value.as_str().filter(|s| !s.is_empty());
        }
        c
    }

    /// The columns of a record built by telemetry.
    pub(super) fn of_record(r: &'a Record) -> Self {
        Self::of_fields(unix_ms(r.at()), r.fields())
    }

    /// The columns of a record as JSON (its time from `@timestamp`, else now).
    pub(super) fn of_value(v: &'a Value) -> Self {
        let ts = v
            .get("@timestamp")
            .and_then(Value::as_str)
            .and_then(rfc3339_ms)
            .unwrap_or_else(now_ms);
        let fields = v.as_object().into_iter().flatten();
        Self::of_fields(ts, fields.map(|(k, v)| (k.as_str(), v)))
    }

    /// What the text index gets: `message` unless it is one of the fixed texts (they say
    /// nothing the action does not, and indexing them would cost much of the store's
    /// time; `-a` finds them), and `error.message`.
    pub(super) fn words(&self) -> Option<String> {
        let message = self
            .message
            .filter(|_| !self.action.is_some_and(|a| UNSEARCHED_ACTIONS.contains(&a)));
        match (message, self.error) {
            (Some(m), Some(e)) => Some(format!("{m}\n{e}")),
            (Some(m), None) => Some(m.to_owned()),
            (None, Some(e)) => Some(e.to_owned()),
            (None, None) => None,
        }
    }
}

/// The insert statements of one transaction.
pub(super) struct Statements<'c> {
    record: CachedStatement<'c>,
    keys: CachedStatement<'c>,
    text: CachedStatement<'c>,
}

impl<'c> Statements<'c> {
    /// Prepares (or takes from the connection's cache) the statements on `conn`.
    pub(super) fn prepare(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(Self {
            record: conn.prepare_cached(INSERT)?,
            keys: conn.prepare_cached(INSERT_KEYS)?,
            text: conn.prepare_cached(INSERT_TEXT)?,
        })
    }

    /// Inserts a record with columns `c`, stored as `doc`.
    pub(super) fn insert(&mut self, c: &Columns<'_>, doc: &str) -> rusqlite::Result<()> {
        let id = self.record.insert(params![
            c.ts,
            c.action,
            c.outcome,
            c.subscription,
            c.realm,
            c.message_id,
            c.published_id,
            c.trace_id,
            doc,
        ])?;
        if c.message_id.is_some() || c.published_id.is_some() || c.trace_id.is_some() {
            self.keys.execute(params![
                id,
                c.message_id.map(key_hash),
                c.published_id.map(key_hash),
                c.trace_id.map(key_hash),
            ])?;
        }
        if let Some(words) = c.words() {
            self.text.execute(params![id, words])?;
        }
        Ok(())
    }
}
