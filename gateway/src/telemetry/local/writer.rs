//! The local store's one writer thread. It wakes every [`DRAIN`] to take what is queued,
//! and inserts what it gathered in one transaction once the oldest of it is [`COMMIT`]
//! old, once it holds [`MAX_BATCH`] records, or at once when a flush waits. Between
//! commits it keeps the store within its bounds — records older than `max_age`, then the
//! oldest records while the file's used pages exceed `max_size`, deleted in batches, their
//! pages given back.
//!
//! Why gather for a while: a commit writes every page it changed to the write-ahead log
//! whole, and a checkpoint writes them again; the table's last page and the indexes' pages
//! change in every commit, however few records it holds. At ferry's rates a commit every
//! couple of milliseconds cost more than the records themselves (docs/PERFORMANCE.md).
//! What is gathered is at most [`COMMIT`] behind stdout; a process killed in between
//! loses that much of the store's copy (stdout and Elasticsearch have every record).
//!
//! While it inserts, the writer yields its core after each statement of 32 rows, so that a
//! delivery woken meanwhile does not wait behind 100 ms of records ([`Pace`]); it goes
//! flat out once the channel is half full or a yield came back late (a busy thread took
//! the core), and so keeps up as well as before.
//!
//! Nothing here ever waits on a delivery: records come through a bounded channel that the
//! sink fills with `try_send`. A commit that fails (the disk full, another process holding
//! the lock past the busy timeout) loses its batch; the records are counted as dropped, like
//! those the full channel refused, and reported in one `logs.dropped` record.

use std::{
    sync::{Arc, mpsc},
    time::{Duration, Instant},
};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{
    config::LocalStore,
    insert::{Inserts, Pace},
    trim::trim,
};
use crate::telemetry::{
    Line,
    sink::{Drops, QUEUE},
};

/// The most records in one transaction.
const MAX_BATCH: usize = 4096;
/// How long the writer rests between looks at its queue.
const DRAIN: Duration = Duration::from_millis(10);
/// How long the first record of a batch waits for others before they are committed.
const COMMIT: Duration = Duration::from_millis(100);
/// How often, at most, the bounds are enforced.
const TRIM_EVERY: Duration = Duration::from_millis(100);
/// How often an idle writer enforces the bounds (records age out without new ones).
const IDLE: Duration = Duration::from_secs(1);

/// What the writer is sent.
pub(super) enum Command {
    /// A record, shared with the wrapped sink.
    Line(Arc<Line>),
    /// Answer once everything before is committed.
    Flush(oneshot::Sender<()>),
}

/// What the writer has taken from its queue and not committed yet.
#[derive(Default)]
struct Gathered {
    records: Vec<Arc<Line>>,
    /// When the first of `records` was taken.
    since: Option<Instant>,
    flushes: Vec<oneshot::Sender<()>>,
    /// The most records one drain took since the last commit: how full the channel got.
    backlog: usize,
}

/// How the writer inserts after a drain took `backlog` records from the channel of
/// [`QUEUE`]: yielding its core between statements while the channel stays under half
/// full, flat out from there, so that it catches up before the channel refuses records.
pub(super) fn pace(backlog: usize) -> Pace {
    if backlog < QUEUE / 2 {
        Pace::Yielding
    } else {
        Pace::FlatOut
    }
}

impl Gathered {
    fn take(&mut self, cmd: Command) {
        match cmd {
            Command::Flush(done) => self.flushes.push(done),
            Command::Line(line) => {
                self.since.get_or_insert_with(Instant::now);
                self.records.push(line);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.records.is_empty() && self.flushes.is_empty()
    }

    fn full(&self) -> bool {
        self.records.len() >= MAX_BATCH
    }

    /// Whether to commit now: a flush waits, the batch is full, or its first record is
    /// [`COMMIT`] old.
    fn due(&self) -> bool {
        !self.flushes.is_empty() || self.full() || self.since.is_some_and(|t| t.elapsed() >= COMMIT)
    }

    /// Inserts the records in one transaction (with the report of drops, if any), then
    /// answers the flushes. `inserts` are the connection's statements, prepared at the
    /// first commit (and again after a failure to).
    fn commit<'c>(
        &mut self,
        conn: &'c Connection,
        inserts: &mut Option<Inserts<'c>>,
        drops: &Drops,
    ) {
        if let Some(report) = drops.report() {
            self.records.push(Arc::new(report));
        }
        let n = self.records.len();
        if n > 0 {
            let committed = store(conn, inserts, &self.records, pace(self.backlog));
            self.records.clear();
            if committed.is_err() {
                for _ in 0..n {
                    drops.dropped();
                }
            }
        }
        self.since = None;
        self.backlog = 0;
        for done in self.flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Inserts `records` in one transaction, preparing the connection's statements first if
/// they are not yet (kept in `slot` for the next commit).
fn store<'c>(
    conn: &'c Connection,
    slot: &mut Option<Inserts<'c>>,
    records: &[Arc<Line>],
    pace: Pace,
) -> rusqlite::Result<()> {
    let mut inserts = match slot.take() {
        Some(inserts) => inserts,
        None => Inserts::prepare(conn)?,
    };
    let done = conn.execute_batch("BEGIN IMMEDIATE").and_then(|()| {
        inserts
            .insert_all(records, pace)
            .and_then(|()| conn.execute_batch("COMMIT"))
            .inspect_err(|_| {
                // Nothing of the batch stays (a failed COMMIT leaves the transaction open).
                let _ = conn.execute_batch("ROLLBACK");
            })
    });
    *slot = Some(inserts);
    done
}

/// The writer thread's loop (ends when every sender is gone).
pub(super) fn run(
    conn: Connection,
    bounds: &LocalStore,
    rx: &mpsc::Receiver<Command>,
    drops: &Arc<Drops>,
) {
    let mut gathered = Gathered {
        records: Vec::with_capacity(MAX_BATCH),
        ..Gathered::default()
    };
    let mut trimmed = Instant::now()
        .checked_sub(TRIM_EVERY)
        .unwrap_or_else(Instant::now);
    let mut inserts = None;
    let mut open = true;
    while open {
        let before = gathered.records.len();
        if gathered.is_empty() {
            // Nothing waits: sleep until something comes.
            match rx.recv_timeout(IDLE) {
                Ok(cmd) => gathered.take(cmd),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // Idle: records still age out.
                    let _ = trim(&conn, bounds);
                    trimmed = Instant::now();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            std::thread::sleep(DRAIN);
        }
        while !gathered.full() {
            match rx.try_recv() {
                Ok(cmd) => gathered.take(cmd),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        gathered.backlog = gathered.backlog.max(gathered.records.len() - before);
        if gathered.due() || !open {
            gathered.commit(&conn, &mut inserts, drops);
            if trimmed.elapsed() >= TRIM_EVERY {
                // A failed trim is tried again after the next commit.
                let _ = trim(&conn, bounds);
                trimmed = Instant::now();
            }
        }
    }
    gathered.commit(&conn, &mut inserts, drops);
    let _ = trim(&conn, bounds);
    drop(inserts);
    // Hands the write-ahead log back to the file.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
    drop(conn.close());
}

#[cfg(test)]
mod tests;
