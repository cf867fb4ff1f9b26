//! Where log records go. [`StdoutSink`] writes one JSON object per line to stdout from a
//! thread of its own, so emitting never blocks a delivery and never waits on a blocking
//! pool; an Elasticsearch sink plugs in behind the same trait.
//!
//! The writer thread serialises everything queued, writes it in one go, and then rests for
//! [`COALESCE`] before it looks again: under load, records leave in a few large writes
//! instead of one system call and one thread wake-up per line; when idle the thread sleeps
//! until the next record. A record is on stdout at most a few milliseconds after it was
//! emitted, and [`LogSink::flush`] still returns only once everything before it is written.

use std::{
    io::{BufWriter, Write},
    sync::mpsc,
    time::Duration,
};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::oneshot;

use super::Record;

/// How long the writer rests after a write, letting records gather for the next one.
const COALESCE: Duration = Duration::from_millis(2);

/// A destination for log records.
#[async_trait]
pub trait LogSink: Send + Sync + 'static {
    /// Queues one record (never blocks).
    fn write(&self, record: Value);
    /// Queues one record as built by telemetry; a sink that can serialise it directly
    /// overrides this to skip the [`Value`] in between.
    fn write_record(&self, record: Record) {
        self.write(record.into_value());
    }
    /// Returns once every record queued before the call is written.
    async fn flush(&self);
}

enum Command {
    Line(Value),
    Record(Record),
    Flush(oneshot::Sender<()>),
}

/// JSON lines to stdout (or any writer).
#[derive(Debug, Clone)]
pub struct StdoutSink {
    tx: mpsc::Sender<Command>,
}

impl StdoutSink {
    /// A sink writing to the process's stdout.
    pub fn new() -> Self {
        Self::to_writer(std::io::stdout())
    }

    /// A sink writing to `out`, from a thread of its own (ended when every clone of the
    /// sink is dropped, or when `out` fails).
    pub fn to_writer(out: impl Write + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel::<Command>();
        let spawned = std::thread::Builder::new()
            .name("ferry-log-writer".into())
            .spawn(move || write_lines(out, &rx));
        if let Err(e) = spawned {
            // Without a thread there is nowhere to write: say so once, on stderr.
            eprintln!("ferry: cannot start the log writer thread: {e}");
        }
        Self { tx }
    }
}

/// The writer thread's loop.
fn write_lines(out: impl Write, rx: &mpsc::Receiver<Command>) {
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    let mut waiting = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(cmd) = next.take().or_else(|| rx.try_recv().ok()) {
            let written = match cmd {
                Command::Line(v) => write_line(&mut out, &v),
                Command::Record(r) => write_line(&mut out, &r),
                Command::Flush(done) => {
                    waiting.push(done);
                    Ok(())
                }
            };
            if written.is_err() {
                return;
            }
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

fn write_line(out: &mut impl Write, line: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl LogSink for StdoutSink {
    fn write(&self, record: Value) {
        let _ = self.tx.send(Command::Line(record));
    }

    fn write_record(&self, record: Record) {
        let _ = self.tx.send(Command::Record(record));
    }

    async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

#[cfg(test)]
mod tests;
