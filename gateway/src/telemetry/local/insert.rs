//! How one record becomes rows: one in `records` (its line, and the columns the encoding
//! marked in it), one in `record_keys` when it names a message or a trace, and one in the
//! text index when it has words worth searching ([`Statements::insert`], with the
//! statements prepared once per transaction).

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{CachedStatement, Connection, params};

use super::schema::{INSERT, INSERT_KEYS, INSERT_TEXT, key_hash};
use crate::telemetry::{Column, Line};

/// The events whose `message` is a fixed text, left out of the text index.
const UNSEARCHED_ACTIONS: [&str; 2] = ["message.received", "message.done"];

/// Unix milliseconds of an RFC 3339 time.
#[cfg(test)]
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

/// What the text index gets for `line`: its `message` unless it is one of the fixed texts
/// (they say nothing the action does not, and indexing them would cost much of the store's
/// time; `-a` finds them), and its `error.message`.
pub(super) fn words(line: &Line) -> Option<String> {
    let action = line.column(Column::Action);
    let message = line
        .column(Column::Message)
        .filter(|_| !action.is_some_and(|a| UNSEARCHED_ACTIONS.contains(&&*a)));
    match (message, line.column(Column::Error)) {
        (Some(m), Some(e)) => Some(format!("{m}\n{e}")),
        (Some(m), None) => Some(m.into_owned()),
        (None, Some(e)) => Some(e.into_owned()),
        (None, None) => None,
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

    /// Inserts the record `line`.
    pub(super) fn insert(&mut self, line: &Line) -> rusqlite::Result<()> {
        let column = |c| line.column(c);
        let (message_id, published_id, trace_id) = (
            column(Column::MessageId),
            column(Column::PublishedId),
            column(Column::TraceId),
        );
        let id = self.record.insert(params![
            line.ts_ms(),
            column(Column::Action),
            column(Column::Outcome),
            column(Column::Subscription),
            column(Column::Realm),
            message_id,
            published_id,
            trace_id,
            line.json(),
        ])?;
        if message_id.is_some() || published_id.is_some() || trace_id.is_some() {
            self.keys.execute(params![
                id,
                message_id.as_deref().map(key_hash),
                published_id.as_deref().map(key_hash),
                trace_id.as_deref().map(key_hash),
            ])?;
        }
        if let Some(words) = words(line) {
            self.text.execute(params![id, words])?;
        }
        Ok(())
    }
}
