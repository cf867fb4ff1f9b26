//! The local store's one writer thread: it takes what is queued (up to [`MAX_BATCH`]
//! records), inserts it in one transaction, answers flushes, and then keeps the store
//! within its bounds — records older than `max_age`, then the oldest records while the
//! file's used pages exceed `max_size`, deleted in batches, their pages given back.
//!
//! Nothing here ever waits on a delivery: records come through a bounded channel that the
//! sink fills with `try_send`. A commit that fails (the disk full, another process holding
//! the lock past the busy timeout) loses its batch; the records are counted as dropped, like
//! those the full channel refused, and reported in one `logs.dropped` record.

use std::{
    path::Path,
    sync::{Arc, mpsc},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use serde_json::Value;
use tokio::sync::oneshot;

use super::{
    config::LocalStore,
    schema::{INSERT, INSERT_TEXT, SCHEMA},
};
use crate::telemetry::{Record, sink::Drops};

/// The most records in one transaction.
const MAX_BATCH: usize = 1024;
/// How long the writer rests after a commit, letting records gather for the next one.
const COALESCE: Duration = Duration::from_millis(2);
/// The events whose `message` is a fixed text, left out of the text index.
const UNSEARCHED_ACTIONS: [&str; 2] = ["message.received", "message.done"];
/// How often, at most, the bounds are enforced.
const TRIM_EVERY: Duration = Duration::from_millis(100);
/// How often an idle writer enforces the bounds (records age out without new ones).
const IDLE: Duration = Duration::from_secs(1);
/// How long a write waits for another process's lock on the shared file.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the writer is sent.
pub(super) enum Command {
    /// A record built by telemetry (the store's own report of drops).
    Record(Arc<Record>),
    /// A record built by telemetry and its JSON, both shared with the wrapped sink.
    Encoded(Arc<Record>, Arc<str>),
    /// A record as JSON.
    Value(Value),
    /// Answer once everything before is committed.
    Flush(oneshot::Sender<()>),
}

/// A record's fields, whether it is a [`Record`] or a [`Value`].
trait Fields {
    fn field(&self, key: &str) -> Option<&Value>;
    fn json(&self) -> String;
}

impl Fields for Record {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Fields for Value {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
    fn json(&self) -> String {
        self.to_string()
    }
}

/// Unix milliseconds of an RFC 3339 time.
pub(super) fn rfc3339_ms(text: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Opens (creating it and its directory) the store for writing.
pub(super) fn open(path: &Path) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .and_then(|()| conn.execute_batch(SCHEMA))
        .map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
    Ok(conn)
}

/// Inserts `rec`, stored as `json` (made by the caller) or serialised here.
fn insert(conn: &Connection, rec: &impl Fields, json: Option<&str>) -> rusqlite::Result<()> {
    let text = |key: &str| {
        rec.field(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let ts = text("@timestamp")
        .and_then(rfc3339_ms)
        .unwrap_or_else(now_ms);
    let action = text("event.action");
    let doc: std::borrow::Cow<'_, str> =
        json.map_or_else(|| rec.json().into(), std::borrow::Cow::Borrowed);
    conn.prepare_cached(INSERT)?.execute(params![
        ts,
        action,
        text("event.outcome"),
        text("ferry.subscription"),
        text("ferry.realm"),
        text("ferry.message_id"),
        text("ferry.published_id"),
        text("trace.id"),
        &*doc,
    ])?;
    // The fixed texts of the two events every delivery writes say nothing their action
    // does not: indexing them would cost most of the store's time (`-a` finds them).
    let message =
        text("message").filter(|_| !action.is_some_and(|a| UNSEARCHED_ACTIONS.contains(&a)));
    let words = match (message, text("error.message")) {
        (Some(m), Some(e)) => format!("{m}\n{e}"),
        (Some(m), None) => m.to_owned(),
        (None, Some(e)) => e.to_owned(),
        (None, None) => return Ok(()),
    };
    conn.prepare_cached(INSERT_TEXT)?
        .execute(params![conn.last_insert_rowid(), words])?;
    Ok(())
}

/// Deletes the records with ids up to `last` (and their text).
fn delete_through(conn: &Connection, last: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM records_text WHERE rowid <= ?1", [last])?;
    conn.execute("DELETE FROM records WHERE id <= ?1", [last])?;
    Ok(())
}

/// The bytes the database's pages in use take.
fn used_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let q = |pragma: &str| conn.query_row(pragma, [], |r| r.get::<_, i64>(0));
    let used = q("PRAGMA page_count")? - q("PRAGMA freelist_count")?;
    Ok(u64::try_from(used * q("PRAGMA page_size")?).unwrap_or(0))
}

/// Keeps the store within `bounds`: deletes what is older than `max_age`, then the oldest
/// quarter of the records while the pages in use exceed `max_size`, and gives the freed
/// pages back.
pub(super) fn trim(conn: &Connection, bounds: &LocalStore) -> rusqlite::Result<()> {
    let age_ms = i64::try_from(bounds.max_age.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now_ms().saturating_sub(age_ms);
    let mut freed = false;
    // Oldest by id is oldest by time to within a batch; the ts index finds the last old one.
    let old: Option<i64> =
        conn.query_row("SELECT max(id) FROM records WHERE ts < ?1", [cutoff], |r| {
            r.get(0)
        })?;
    if let Some(last) = old {
        delete_through(conn, last)?;
        freed = true;
    }
    // A little below the bound: the file also holds pointer-map pages.
    let target = bounds.max_size - bounds.max_size / 16;
    for _ in 0..32 {
        if used_bytes(conn)? <= target {
            break;
        }
        let (first, last): (Option<i64>, Option<i64>) =
            conn.query_row("SELECT min(id), max(id) FROM records", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let (Some(first), Some(last)) = (first, last) else {
            break;
        };
        delete_through(conn, first + (last - first) / 4)?;
        freed = true;
    }
    if freed {
        // Each step frees one page: step to the end.
        let mut vacuum = conn.prepare_cached("PRAGMA incremental_vacuum")?;
        let mut rows = vacuum.query([])?;
        while rows.next()?.is_some() {}
        drop(rows);
        // The file shrinks when the write-ahead log is copied back; never waits for readers.
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    }
    Ok(())
}

/// The writer thread's loop (ends when every sender is gone).
pub(super) fn run(
    mut conn: Connection,
    bounds: &LocalStore,
    rx: &mpsc::Receiver<Command>,
    drops: &Arc<Drops>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut waiting = Vec::new();
    let mut trimmed = Instant::now()
        .checked_sub(TRIM_EVERY)
        .unwrap_or_else(Instant::now);
    loop {
        let first = match rx.recv_timeout(IDLE) {
            Ok(cmd) => cmd,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Idle: records still age out.
                let _ = trim(&conn, bounds);
                trimmed = Instant::now();
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut next = Some(first);
        while let Some(cmd) = next.take().or_else(|| rx.try_recv().ok()) {
            match cmd {
                Command::Flush(done) => waiting.push(done),
                other => batch.push(other),
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
        }
        if let Some(report) = drops.report() {
            batch.push(Command::Record(Arc::new(report)));
        }
        let n = batch.len();
        let committed = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .and_then(|tx| {
                for cmd in batch.drain(..) {
                    match cmd {
                        Command::Record(r) => insert(&tx, &*r, None)?,
                        Command::Encoded(r, json) => insert(&tx, &*r, Some(&json))?,
                        Command::Value(v) => insert(&tx, &v, None)?,
                        Command::Flush(_) => {}
                    }
                }
                tx.commit()
            });
        batch.clear();
        if committed.is_err() {
            for _ in 0..n {
                drops.dropped();
            }
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        if trimmed.elapsed() >= TRIM_EVERY {
            // A failed trim is tried again at the next batch.
            let _ = trim(&conn, bounds);
            trimmed = Instant::now();
        }
        std::thread::sleep(COALESCE);
    }
    let _ = trim(&conn, bounds);
    // Hands the write-ahead log back to the file.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
    drop(conn.close());
}
