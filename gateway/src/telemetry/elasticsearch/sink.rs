//! [`ElasticsearchSink`]: the [`LogSink`] that ships to Elasticsearch.
//!
//! `write` gives the record a deterministic document id (`event.id`, `<process id>-<n>`)
//! and a sequence number (`event.sequence`, the emission order in this process), optionally
//! copies it to stdout, and hands the encoded line to the [`Shipper`](super::shipper) task,
//! which appends it to the disk spool and ships the spool with the bulk API. `flush`
//! returns once everything written before it is in Elasticsearch, or after
//! `shutdown_timeout` with the rest left in the spool for the next start.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{bulk, config::ElasticsearchConfig, shipper::Shipper, spool::Entry, spool::Spool};
use crate::telemetry::{LogSink, Metrics, Origin, sink::StdoutSink};

/// What the sink hands to the shipper task.
#[derive(Debug)]
pub(super) enum Command {
    /// One encoded spool line.
    Line(Vec<u8>),
    /// Answer once everything before is shipped (or the shutdown timeout passed).
    Flush(oneshot::Sender<()>),
}

/// Gives records their id and sequence number, in one order for the spool and stdout.
#[derive(Debug)]
pub(super) struct Stamper {
    process: String,
    next: Mutex<u64>,
    stdout: Option<StdoutSink>,
}

impl Stamper {
    fn new(stdout: Option<StdoutSink>) -> Self {
        Self {
            process: format!("{:016x}", rand::random::<u64>()),
            next: Mutex::new(0),
            stdout,
        }
    }

    /// Stamps `record` and passes its spool line to `deliver`, under one lock so that lines
    /// arrive in sequence order.
    pub(super) fn stamp(&self, mut record: Value, deliver: impl FnOnce(Vec<u8>)) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let seq = *next;
        *next += 1;
        let id = format!("{}-{seq}", self.process);
        if let Value::Object(map) = &mut record {
            map.insert("event.id".into(), id.as_str().into());
            map.insert("event.sequence".into(), seq.into());
        }
        let doc = serde_json::to_vec(&record).unwrap_or_default();
        if let Some(out) = &self.stdout {
            out.write(record);
        }
        deliver(Entry::encode(&id, &doc));
    }
}

/// Ships log records to Elasticsearch through a disk spool (see the module docs).
#[derive(Debug)]
pub struct ElasticsearchSink {
    stamper: Arc<Stamper>,
    tx: mpsc::UnboundedSender<Command>,
}

impl ElasticsearchSink {
    /// Opens the spool and starts shipping (needs a Tokio runtime). Records also go to
    /// stdout when `stdout` is set. The sink's own events carry `origin`; its figures go to
    /// `metrics.logs`. Errors name the config key.
    pub fn start(
        cfg: &ElasticsearchConfig,
        origin: Origin,
        metrics: Arc<Metrics>,
        stdout: bool,
    ) -> Result<Self, String> {
        let spool = Spool::open(&cfg.spool_dir, cfg.spool_max_bytes)
            .map_err(|e| format!("logs.elasticsearch.spool_dir: {e}"))?;
        let client = bulk::connect(cfg).map_err(|e| format!("logs.elasticsearch.{e}"))?;
        let stamper = Arc::new(Stamper::new(stdout.then(StdoutSink::new)));
        let (tx, rx) = mpsc::unbounded_channel();
        let shipper = Shipper::new(cfg.clone(), client, spool, stamper.clone(), origin, metrics);
        tokio::spawn(shipper.run(rx));
        Ok(Self { stamper, tx })
    }
}

#[async_trait]
impl LogSink for ElasticsearchSink {
    fn write(&self, record: Value) {
        self.stamper.stamp(record, |line| {
            let _ = self.tx.send(Command::Line(line));
        });
    }

    async fn flush(&self) {
        if let Some(out) = &self.stamper.stdout {
            out.flush().await;
        }
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}
