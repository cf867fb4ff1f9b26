//! Where log records go. [`StdoutSink`] writes one JSON object per line to stdout from a
//! thread of its own, so emitting never blocks a delivery and never waits on a blocking
//! pool; an Elasticsearch sink plugs in behind the same trait.
//!
//! The writer thread serialises everything queued, writes it in one go, and then rests for
//! [`COALESCE`] before it looks again: under load, records leave in a few large writes
//! instead of one system call and one thread wake-up per line; when idle the thread sleeps
//! until the next record. A record is on stdout at most a few milliseconds after it was
//! emitted, and [`LogSink::flush`] still returns only once everything before it is written.
//!
//! **Bounded.** At most [`QUEUE`] records wait for the writer. When stdout does not take
//! them (a stuck log collector, a full pipe) and the queue is full, further records are
//! dropped, never queued without bound: each is counted at once in
//! `ferry_log_queue_dropped_total{sink="stdout"}`, and once stdout moves again the writer
//! reports how many with one `logs.dropped` record. Never silent growth, never silent loss.

use std::{
    io::{BufWriter, Write},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    time::Duration,
};

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::{Line, Metrics, Origin, Record};

/// How long the writer rests after a write, letting records gather for the next one.
const COALESCE: Duration = Duration::from_millis(2);

/// The most records waiting for the writer thread (a few MiB).
pub const QUEUE: usize = 4096;

/// A destination for log records.
#[async_trait]
pub trait LogSink: Send + Sync + 'static {
    /// Queues one record, encoded once and shared with the other sinks (never blocks).
    fn write(&self, line: Arc<Line>);
    /// Returns once every record queued before the call is written.
    async fn flush(&self);
}

enum Command {
    Line(Arc<Line>),
    Flush(oneshot::Sender<()>),
}

/// Records dropped because the queue was full: counted at once, reported later.
#[derive(Debug)]
pub struct Drops {
    /// The sink's name in the metric's `sink` label.
    sink: &'static str,
    metrics: Arc<Metrics>,
    unreported: AtomicU64,
    origin: Origin,
}

impl Drops {
    /// Drops of sink `sink`, counted into `metrics`, reported as records from `origin`.
    pub fn new(sink: &'static str, origin: Origin, metrics: Arc<Metrics>) -> Self {
        Self {
            sink,
            metrics,
            unreported: AtomicU64::new(0),
            origin,
        }
    }

    /// Counts one dropped record.
    pub fn dropped(&self) {
        self.metrics.log_queue_dropped(self.sink).inc();
        self.unreported.fetch_add(1, Ordering::Relaxed);
    }

    /// The `logs.dropped` record for the drops not reported yet, if there are any.
    pub fn report(&self) -> Option<Line> {
        let n = self.unreported.swap(0, Ordering::Relaxed);
        (n > 0).then(|| {
            let mut r = Record::new();
            r.action("logs.dropped")
                .level("warn")
                .set("ferry.logs.dropped", n)
                .set("ferry.logs.sink", self.sink)
                .message(format!(
                    "dropped {n} log events: the {} writer was not keeping up (its queue of {QUEUE} was full)",
                    self.sink
                ));
            r.encode(&self.origin)
        })
    }
}

/// JSON lines to stdout (or any writer).
#[derive(Debug, Clone)]
pub struct StdoutSink {
    tx: mpsc::SyncSender<Command>,
    drops: Arc<Drops>,
}

impl StdoutSink {
    /// A sink writing to the process's stdout; drops are counted into `metrics` and
    /// reported as records from `origin`.
    pub fn new(origin: Origin, metrics: Arc<Metrics>) -> Self {
        Self::to_writer(std::io::stdout(), origin, metrics)
    }

    /// A sink writing to `out`, from a thread of its own (ended when every clone of the
    /// sink is dropped, or when `out` fails).
    pub fn to_writer(
        out: impl Write + Send + 'static,
        origin: Origin,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (tx, rx) = mpsc::sync_channel::<Command>(QUEUE);
        let drops = Arc::new(Drops::new("stdout", origin, metrics));
        let reports = drops.clone();
        let spawned = std::thread::Builder::new()
            .name("ferry-log-writer".into())
            .spawn(move || write_lines(out, &rx, &reports));
        if let Err(e) = spawned {
            // Without a thread there is nowhere to write: say so once, on stderr.
            eprintln!("ferry: cannot start the log writer thread: {e}");
        }
        Self { tx, drops }
    }

    fn queue(&self, cmd: Command) {
        match self.tx.try_send(cmd) {
            Ok(()) | Err(mpsc::TrySendError::Disconnected(_)) => {}
            Err(mpsc::TrySendError::Full(_)) => self.drops.dropped(),
        }
    }
}

/// The writer thread's loop.
fn write_lines(out: impl Write, rx: &mpsc::Receiver<Command>, drops: &Drops) {
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    let mut waiting = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(cmd) = next.take().or_else(|| rx.try_recv().ok()) {
            let written = match cmd {
                Command::Line(line) => write_line(&mut out, &line),
                Command::Flush(done) => {
                    waiting.push(done);
                    Ok(())
                }
            };
            if written.is_err() {
                return;
            }
        }
        if let Some(report) = drops.report()
            && write_line(&mut out, &report).is_err()
        {
            return;
        }
        if out.flush().is_err() {
            return;
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        std::thread::sleep(COALESCE);
    }
}

fn write_line(out: &mut impl Write, line: &Line) -> std::io::Result<()> {
    out.write_all(line.json().as_bytes())?;
    out.write_all(b"\n")
}

#[async_trait]
impl LogSink for StdoutSink {
    fn write(&self, line: Arc<Line>) {
        self.queue(Command::Line(line));
    }

    async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        let mut flush = Command::Flush(tx);
        // The flush waits for room in the queue; it is never dropped.
        loop {
            match self.tx.try_send(flush) {
                Ok(()) => break,
                Err(mpsc::TrySendError::Disconnected(_)) => return,
                Err(mpsc::TrySendError::Full(back)) => {
                    flush = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
        let _ = rx.await;
    }
}

#[cfg(test)]
mod tests;
