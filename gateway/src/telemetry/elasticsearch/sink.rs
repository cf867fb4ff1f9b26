//! [`ElasticsearchSink`]: the [`LogSink`] that ships to Elasticsearch.
//!
//! `write` gives the record a deterministic document id (`event.id`, `<process id>-<n>`)
//! and a sequence number (`event.sequence`, the emission order in this process), optionally
//! copies it to stdout, and hands the encoded line to the [`Shipper`](super::shipper) task,
//! which appends it to the disk spool and ships the spool with the bulk API. The shipper
//! runs on a thread and a runtime of its own: its file writes and fsyncs block. `flush`
//! returns once everything written before it is in Elasticsearch, or after
//! `shutdown_timeout` with the rest left in the spool for the next start.
//!
//! At most [`QUEUE`] lines wait for the shipper (a disk slower than the events, the
//! shipper busy): beyond that a line is dropped, counted at once in
//! `ferry_log_queue_dropped_total{sink="elasticsearch"}` and reported by the shipper in a
//! `logs.dropped` event, never queued without bound.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use super::{
    bulk,
    config::ElasticsearchConfig,
    shipper::{Command, Shipper},
    spool::Spool,
    stamp::Stamper,
};
use crate::telemetry::{
    Line, LogSink, Metrics, Origin,
    sink::{Drops, QUEUE, StdoutSink},
};

/// The name of the shipper's thread.
pub(super) const SHIPPER_THREAD: &str = "ferry-log-ship";

/// Ships log records to Elasticsearch through a disk spool (see the module docs).
#[derive(Debug)]
pub struct ElasticsearchSink {
    stamper: Arc<Stamper>,
    tx: mpsc::Sender<Command>,
    drops: Arc<Drops>,
}

/// A shipper built and not started yet, with the queue it will empty.
pub(super) struct Idle {
    shipper: Shipper,
    rx: mpsc::Receiver<Command>,
    drops: Arc<Drops>,
}

impl Idle {
    /// Runs the shipper on a thread and a runtime of its own: the spool's writes and fsyncs
    /// block, and must not hold a runtime thread that deliveries need. The thread ends when
    /// the sink is dropped.
    fn spawn(self) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("logs.elasticsearch: cannot start the shipper: {e}");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(fail)?;
        let Self { shipper, rx, drops } = self;
        std::thread::Builder::new()
            .name(SHIPPER_THREAD.to_owned())
            .spawn(move || runtime.block_on(shipper.run(rx, drops)))
            .map(drop)
            .map_err(fail)
    }
}

impl ElasticsearchSink {
    /// Opens the spool and starts shipping. Records also go to stdout when `stdout` is
    /// set. The sink's own events carry `origin`; its figures go to `metrics.logs`. Errors
    /// name the config key.
    pub fn start(
        cfg: &ElasticsearchConfig,
        origin: Origin,
        metrics: Arc<Metrics>,
        stdout: bool,
    ) -> Result<Self, String> {
        let (sink, idle) = Self::build(cfg, origin, metrics, stdout)?;
        idle.spawn()?;
        Ok(sink)
    }

    /// The sink and its shipper, not started.
    pub(super) fn build(
        cfg: &ElasticsearchConfig,
        origin: Origin,
        metrics: Arc<Metrics>,
        stdout: bool,
    ) -> Result<(Self, Idle), String> {
        let spool = Spool::open(&cfg.spool_dir, cfg.spool_max_bytes)
            .map_err(|e| format!("logs.elasticsearch.spool_dir: {e}"))?;
        let client = bulk::connect(cfg).map_err(|e| format!("logs.elasticsearch.{e}"))?;
        let stdout = stdout.then(|| StdoutSink::new(origin.clone(), metrics.clone()));
        let stamper = Arc::new(Stamper::new(stdout));
        let drops = Arc::new(Drops::new("elasticsearch", origin.clone(), metrics.clone()));
        let (tx, rx) = mpsc::channel(QUEUE);
        let shipper = Shipper::new(cfg.clone(), client, spool, stamper.clone(), origin, metrics);
        let idle = Idle {
            shipper,
            rx,
            drops: drops.clone(),
        };
        Ok((Self { stamper, tx, drops }, idle))
    }
}

#[async_trait]
impl LogSink for ElasticsearchSink {
    fn write(&self, record: Arc<Line>) {
        self.stamper.stamp(&record, |line| {
            if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(Command::Line(line)) {
                self.drops.dropped();
            }
        });
    }

    async fn flush(&self) {
        if let Some(out) = &self.stamper.stdout {
            out.flush().await;
        }
        let (tx, rx) = oneshot::channel();
        // The flush waits for room in the queue; it is never dropped.
        if self.tx.send(Command::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}
