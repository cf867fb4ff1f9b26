//! [`LocalSink`]: writes every record to the local store as well as to the sink it wraps
//! (stdout, or Elasticsearch). The record goes to the store's writer thread over a bounded
//! channel of [`QUEUE`] records; when the writer does not keep up (a slow disk, another
//! process holding the shared file's lock) further records are dropped from the store —
//! never from the wrapped sink — counted at once in
//! `ferry_log_queue_dropped_total{sink="local"}` and reported by one `logs.dropped` record.
//!
//! A record is neither copied nor serialised twice for the store: the writer thread and
//! the wrapped sink share its one [`Line`], and the store reads its columns from there.

use std::sync::{Arc, mpsc};

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::{
    config::LocalStore,
    store,
    writer::{self, Command},
};
use crate::telemetry::{
    Line, LogSink, Metrics, Origin,
    sink::{Drops, QUEUE},
};

/// The local store in front of another sink.
pub struct LocalSink {
    tx: mpsc::SyncSender<Command>,
    drops: Arc<Drops>,
    inner: Arc<dyn LogSink>,
}

impl std::fmt::Debug for LocalSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSink").finish_non_exhaustive()
    }
}

impl LocalSink {
    /// Opens (creates) the store at `store.path` and starts its writer thread; every record
    /// also goes to `inner`. Drops are counted into `metrics` and reported as records from
    /// `origin`. Errors name the file.
    pub fn start(
        store: &LocalStore,
        inner: Arc<dyn LogSink>,
        origin: Origin,
        metrics: Arc<Metrics>,
    ) -> Result<Self, String> {
        let conn = store::open(&store.path)?;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let drops = Arc::new(Drops::new("local", origin, metrics));
        let reports = drops.clone();
        let bounds = store.clone();
        std::thread::Builder::new()
            .name("ferry-log-store".into())
            .spawn(move || writer::run(conn, &bounds, &rx, &reports))
            .map_err(|e| format!("cannot start the log store writer: {e}"))?;
        Ok(Self { tx, drops, inner })
    }

    fn queue(&self, cmd: Command) {
        match self.tx.try_send(cmd) {
            Ok(()) | Err(mpsc::TrySendError::Disconnected(_)) => {}
            Err(mpsc::TrySendError::Full(_)) => self.drops.dropped(),
        }
    }
}

#[async_trait]
impl LogSink for LocalSink {
    fn write(&self, line: Arc<Line>) {
        self.queue(Command::Line(line.clone()));
        self.inner.write(line);
    }

    async fn flush(&self) {
        self.inner.flush().await;
        let (tx, rx) = oneshot::channel();
        let mut flush = Command::Flush(tx);
        // The flush waits for room in the queue; it is never dropped.
        loop {
            match self.tx.try_send(flush) {
                Ok(()) => break,
                Err(mpsc::TrySendError::Disconnected(_)) => return,
                Err(mpsc::TrySendError::Full(back)) => {
                    flush = back;
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        }
        let _ = rx.await;
    }
}
