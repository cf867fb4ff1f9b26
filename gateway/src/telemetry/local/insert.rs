//! How a commit's records become rows: each one in `records` (its line, and the columns
//! the encoding marked in it), one in `record_keys` when it names a message or a trace,
//! and one in the text index when it has words worth searching ([`Inserts::insert_all`],
//! 32 rows to a statement, with statements the writer prepares once).

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use rusqlite::{Connection, Statement, ToSql, params};

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

/// Unix milliseconds now.
pub(super) fn now_ms() -> i64 {
    crate::telemetry::line::unix_ms(SystemTime::now())
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

/// Records (and key rows) per multi-row `INSERT`; fewer go one by one.
const ROWS: usize = 32;

/// How the writer shares its core while it inserts a commit's records.
///
/// A commit gathers 100 ms of records, and inserting them is several milliseconds of CPU;
/// on two cores, a delivery woken meanwhile could wait that long for one. Yielding after
/// each statement of [`ROWS`] rows (about 0.1 ms) lets it run first; when nothing waits,
/// the yield returns at once (docs/PERFORMANCE.md: embedded p99 2.5–2.9 → 1.5–2.1 ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pace {
    /// Yields the core after each statement of many rows.
    Yielding,
    /// Never yields: the channel is backing up, or the threads it yielded to are busy
    /// ones; a writer that kept yielding to them would fall behind until records were
    /// dropped.
    FlatOut,
}

/// A yield that takes this long came back from a thread that ran out its time slice (a
/// busy thread, not a delivery woken for a moment): the rest of the commit goes flat out.
const SLOW_YIELD: Duration = Duration::from_millis(2);

impl Pace {
    /// The pace after a yield that took `took`.
    pub(super) fn after_yield(self, took: Duration) -> Self {
        if took >= SLOW_YIELD {
            Self::FlatOut
        } else {
            self
        }
    }

    /// Called after each statement of many rows: yields the core while yielding.
    fn between_statements(&mut self) {
        if *self == Self::Yielding {
            let asked = Instant::now();
            std::thread::yield_now();
            *self = self.after_yield(asked.elapsed());
        }
    }
}

/// The statement inserting `n` rows of `width` parameters each: `head` and then `(?, ...)`
/// n times.
fn multi_row(head: &str, width: usize, n: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    format!("{head} VALUES {}", vec![row; n].join(", "))
}

/// The id the next record gets: one past the largest ever given (`AUTOINCREMENT`'s own
/// rule). The writer holds the write lock, so the ids given in its transaction are its own.
const NEXT_ID: &str = "SELECT max(\
    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'records'), 0), \
    coalesce((SELECT max(id) FROM records), 0)) + 1";

/// The writer's statements, prepared once for the connection's life: each record, its key
/// hashes and its words, [`ROWS`] rows to a statement. Per statement SQLite opens a
/// cursor, checks the transaction and, for `AUTOINCREMENT`, updates `sqlite_sequence`;
/// per row that cost about as much as the row itself. Held rather than taken from
/// rusqlite's cache, which clears every binding (320 of them) each time one goes back.
pub(super) struct Inserts<'c> {
    next_id: Statement<'c>,
    records: [Statement<'c>; 2],
    keys: [Statement<'c>; 2],
    text: Statement<'c>,
}

impl<'c> Inserts<'c> {
    /// Prepares the statements on `conn`.
    pub(super) fn prepare(conn: &'c Connection) -> rusqlite::Result<Self> {
        let both = |head: &str, width: usize| -> rusqlite::Result<[Statement<'c>; 2]> {
            Ok([
                conn.prepare(&multi_row(head, width, ROWS))?,
                conn.prepare(&multi_row(head, width, 1))?,
            ])
        };
        Ok(Self {
            next_id: conn.prepare(NEXT_ID)?,
            records: both(INSERT, 10)?,
            keys: both(INSERT_KEYS, 4)?,
            text: conn.prepare(INSERT_TEXT)?,
        })
    }

    /// Inserts `lines` in order, with consecutive new ids: the records, their key hashes
    /// and their words. Must run inside a transaction that holds the write lock.
    pub(super) fn insert_all(
        &mut self,
        lines: &[Arc<Line>],
        mut pace: Pace,
    ) -> rusqlite::Result<()> {
        let first: i64 = self.next_id.query_row([], |r| r.get(0))?;
        let mut keys: Vec<[Option<i64>; 4]> = Vec::with_capacity(lines.len());
        let mut words_of: Vec<(i64, String)> = Vec::new();
        insert_rows(
            &mut self.records,
            lines,
            10,
            &mut pace,
            |stmt, at, i, line| {
                let id = first + i64::try_from(i).unwrap_or(i64::MAX);
                let column = |c| line.column(c);
                let (message_id, published_id, trace_id) = (
                    column(Column::MessageId),
                    column(Column::PublishedId),
                    column(Column::TraceId),
                );
                if message_id.is_some() || published_id.is_some() || trace_id.is_some() {
                    keys.push([
                        Some(id),
                        message_id.as_deref().map(key_hash),
                        published_id.as_deref().map(key_hash),
                        trace_id.as_deref().map(key_hash),
                    ]);
                }
                if let Some(words) = words(line) {
                    words_of.push((id, words));
                }
                let values: [&dyn ToSql; 10] = [
                    &id,
                    &line.ts_ms(),
                    &column(Column::Action),
                    &column(Column::Outcome),
                    &column(Column::Subscription),
                    &column(Column::Realm),
                    &message_id,
                    &published_id,
                    &trace_id,
                    &line.json(),
                ];
                bind(stmt, at, values)
            },
        )?;
        insert_rows(&mut self.keys, &keys, 4, &mut pace, |stmt, at, _, row| {
            bind(stmt, at, row.each_ref().map(|v| v as &dyn ToSql))
        })?;
        for (id, words) in words_of {
            self.text.execute(params![id, words])?;
        }
        Ok(())
    }
}

/// Binds `values` to `stmt` from parameter `at` on.
fn bind<const N: usize>(
    stmt: &mut Statement<'_>,
    at: usize,
    values: [&dyn ToSql; N],
) -> rusqlite::Result<()> {
    for (i, value) in values.into_iter().enumerate() {
        stmt.raw_bind_parameter(at + i, value)?;
    }
    Ok(())
}

/// Inserts `rows` of `width` parameters through `stmts` (the [`ROWS`]-row statement and
/// the one-row statement): [`ROWS`] to a statement, the rest one by one. `bind` binds row
/// `i` of `rows` from parameter `at` on; `pace` says whether to yield after each
/// statement of many rows, and may turn to flat out on the way.
fn insert_rows<T>(
    stmts: &mut [Statement<'_>; 2],
    rows: &[T],
    width: usize,
    pace: &mut Pace,
    mut bind: impl FnMut(&mut Statement<'_>, usize, usize, &T) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let [many, one] = stmts;
    for (c, chunk) in rows.chunks(ROWS).enumerate() {
        let first = c * ROWS;
        if chunk.len() == ROWS {
            for (i, row) in chunk.iter().enumerate() {
                bind(many, 1 + i * width, first + i, row)?;
            }
            many.raw_execute()?;
            pace.between_statements();
        } else {
            for (i, row) in chunk.iter().enumerate() {
                bind(one, 1, first + i, row)?;
                one.raw_execute()?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
