//! Where log records go. [`StdoutSink`] writes one JSON object per line to stdout from a
//! background task, so emitting never blocks a delivery; an Elasticsearch sink plugs in
//! behind the same trait.

use async_trait::async_trait;
use serde_json::Value;
use tokio::{
    io::{AsyncWrite, AsyncWriteExt, BufWriter},
    sync::{mpsc, oneshot},
};

/// A destination for log records.
#[async_trait]
pub trait LogSink: Send + Sync + 'static {
    /// Queues one record (never blocks).
    fn write(&self, record: Value);
    /// Returns once every record queued before the call is written.
    async fn flush(&self);
}

enum Command {
    Line(Value),
    Flush(oneshot::Sender<()>),
}

/// JSON lines to stdout (or any writer).
#[derive(Debug, Clone)]
pub struct StdoutSink {
    tx: mpsc::UnboundedSender<Command>,
}

impl StdoutSink {
    /// A sink writing to the process's stdout. Needs a Tokio runtime.
    pub fn new() -> Self {
        Self::to_writer(tokio::io::stdout())
    }

    /// A sink writing to `out`. Needs a Tokio runtime.
    pub fn to_writer(out: impl AsyncWrite + Unpin + Send + 'static) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Command>();
        tokio::spawn(async move {
            let mut out = BufWriter::new(out);
            while let Some(cmd) = rx.recv().await {
                let mut pending = Some(cmd);
                // Write everything that is queued, then flush once.
                while let Some(cmd) = pending.take().or_else(|| rx.try_recv().ok()) {
                    match cmd {
                        Command::Line(v) => {
                            let mut line = serde_json::to_vec(&v).unwrap_or_default();
                            line.push(b'\n');
                            if out.write_all(&line).await.is_err() {
                                return;
                            }
                        }
                        Command::Flush(done) => {
                            let _ = out.flush().await;
                            let _ = done.send(());
                        }
                    }
                }
                let _ = out.flush().await;
            }
        });
        Self { tx }
    }
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

    async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}
