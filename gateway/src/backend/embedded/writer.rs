//! [`Writer`]: the one thread that writes the queue file, with group commit.
//!
//! Every operation that changes the file (receive leases rows, so it is one too) is sent
//! to the writer thread over a bounded channel. The thread takes what is queued — up to
//! [`MAX_BATCH`] operations — runs them in one `BEGIN IMMEDIATE` transaction, commits, and
//! only then answers each caller.
//!
//! Durability is chosen per batch. A batch holding a *durable* operation (a publish, a
//! dead letter, a redrive: what brings data into a queue) commits with `synchronous =
//! FULL`, which syncs the write-ahead log to disk before the answer, so an answered
//! publish survives a power loss; one sync serves the whole batch (group commit). A batch
//! of leases, acks and retries only commits with `synchronous = NORMAL` (no sync: a power
//! loss may undo the last of them, and the message is delivered again, which
//! at-least-once delivery and de-duplication ids cover); the next durable commit syncs
//! them too, in order.
//!
//! An operation of several statements runs in a savepoint of its own, so one that fails
//! leaves no half of itself and does not undo the others. A failed commit fails every
//! operation of the batch (none of them happened).

use std::thread;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::ops::sql_err;
use crate::backend::BackendError;

/// The most operations in one transaction.
const MAX_BATCH: usize = 256;
/// The most operations waiting for the writer.
const QUEUE: usize = 1024;

/// One operation, applied inside the batch's transaction, answered after the commit.
trait Job: Send {
    /// Runs the operation on the transaction.
    fn apply(&mut self, tx: &mut rusqlite::Transaction<'_>);
    /// Answers the caller: the operation's result once `committed` is `Ok`, else the
    /// commit's error.
    fn answer(self: Box<Self>, committed: Result<(), &BackendError>);
    /// Whether the commit must reach the disk before the answer.
    fn durable(&self) -> bool;
}

/// A job with its function, its result and where the answer goes.
struct Call<T, F> {
    f: Option<F>,
    several_statements: bool,
    durable: bool,
    result: Option<Result<T, BackendError>>,
    reply: oneshot::Sender<Result<T, BackendError>>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, BackendError> + Send,
{
    fn apply(&mut self, tx: &mut rusqlite::Transaction<'_>) {
        let Some(f) = self.f.take() else { return };
        let result = if self.several_statements {
            match tx.savepoint() {
                Ok(mut sp) => {
                    let r = f(&sp);
                    let ended = if r.is_ok() {
                        sp.commit()
                    } else {
                        sp.rollback()
                    };
                    ended.map_err(sql_err).and(r)
                }
                Err(e) => Err(sql_err(e)),
            }
        } else {
            f(tx)
        };
        self.result = Some(result);
    }

    fn answer(self: Box<Self>, committed: Result<(), &BackendError>) {
        let answer = match (self.result, committed) {
            (Some(r), Ok(())) => r,
            (Some(Err(e)), Err(_)) => Err(e),
            (_, Err(e)) => Err(BackendError::Unavailable(format!(
                "the embedded queue did not commit: {e}"
            ))),
            (None, Ok(())) => Err(BackendError::Other("the operation did not run".into())),
        };
        let _ = self.reply.send(answer);
    }

    fn durable(&self) -> bool {
        self.durable
    }
}

/// How an operation is run.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// A lease, an ack, a retry: no savepoint (one that fails half-way leaves at most a
    /// lease that lapses), committed without waiting for the disk.
    Quick,
    /// What brings data into a queue: in a savepoint of its own, answered only once the
    /// commit is on disk.
    Durable,
}

/// The handle on the writer thread; the thread ends when the last handle is dropped.
#[derive(Clone)]
pub(super) struct Writer {
    tx: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(super) fn start(conn: Connection) -> Result<Self, BackendError> {
        let (tx, rx) = mpsc::channel(QUEUE);
        thread::Builder::new()
            .name("ferry-queue-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| BackendError::Other(format!("cannot start the queue writer: {e}")))?;
        Ok(Self { tx })
    }

    /// Runs `f` in the next batch as `kind` says; answers after the commit.
    pub(super) async fn call<T, F>(&self, kind: Kind, f: F) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, BackendError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Call {
            f: Some(f),
            several_statements: matches!(kind, Kind::Durable),
            durable: matches!(kind, Kind::Durable),
            result: None,
            reply,
        });
        self.tx
            .send(job)
            .await
            .map_err(|_| BackendError::Other("the embedded queue writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| BackendError::Other("the embedded queue writer has stopped".into()))?
    }
}

/// The writer thread: a batch of what is queued, one transaction, one commit, answers.
fn run(mut conn: Connection, mut rx: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    // The schema set FULL.
    let mut synced = true;
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let durable = batch.iter().any(|j| j.durable());
        if durable != synced {
            let pragma = if durable {
                "PRAGMA synchronous = FULL"
            } else {
                "PRAGMA synchronous = NORMAL"
            };
            // Should the switch fail, FULL stays (never less durable than asked).
            if conn.execute_batch(pragma).is_ok() {
                synced = durable;
            }
        }
        let committed = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(mut tx) => {
                for job in &mut batch {
                    job.apply(&mut tx);
                }
                tx.commit().map_err(sql_err)
            }
            Err(e) => Err(sql_err(e)),
        };
        for job in batch.drain(..) {
            job.answer(committed.as_ref().map(|_| ()));
        }
    }
}
