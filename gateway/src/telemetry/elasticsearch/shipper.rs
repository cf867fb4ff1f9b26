//! The shipper task: owns the spool, appends what the sink sends, and ships the spool in
//! order with one bulk request at a time.
//!
//! A batch goes out when `batch_max_events` or `batch_max_bytes` are waiting, when the
//! oldest waiting event is `flush_interval` old, or at once while a flush waits. Before the
//! first batch the templates are installed (`setup`). A failed request is retried after the
//! `retry` backoff with the same batch (minus what Elasticsearch already stored or rejected
//! for good); nothing later is sent meanwhile, so events reach Elasticsearch in spool order.
//! The spool is synced to disk every `flush_interval` and on flush.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use elasticsearch::Elasticsearch;
use tokio::sync::{mpsc, oneshot};

use super::{
    bulk::{self, Item, Outcome, RejectFile},
    config::ElasticsearchConfig,
    spool::{Entry, Pos, Spool},
    stamp::Stamper,
    template::{self, Installed},
};
use crate::telemetry::{Metrics, Origin, sink::Drops};

/// What the sink hands to the shipper task.
#[derive(Debug)]
pub(super) enum Command {
    /// One encoded spool line.
    Line(Vec<u8>),
    /// Answer once everything before is shipped (or the shutdown timeout passed).
    Flush(oneshot::Sender<()>),
}

type Task = Pin<Box<dyn Future<Output = Done> + Send>>;

/// What a finished request says.
enum Done {
    Setup(Result<Installed, String>),
    Bulk { outcome: Outcome, bytes: usize },
}

pub(super) struct InFlight {
    pub(super) entries: Vec<Entry>,
    pub(super) end: Pos,
}

pub(super) struct Waiter {
    pub(super) target: Pos,
    pub(super) deadline: Instant,
    pub(super) done: oneshot::Sender<()>,
}

/// The task behind an [`ElasticsearchSink`](super::ElasticsearchSink).
pub(super) struct Shipper {
    pub(super) cfg: ElasticsearchConfig,
    pub(super) client: Elasticsearch,
    pub(super) spool: Spool,
    pub(super) stamper: Arc<Stamper>,
    pub(super) origin: Origin,
    pub(super) metrics: Arc<Metrics>,
    pub(super) rejects: RejectFile,
    pub(super) ready: bool,
    pub(super) inflight: Option<InFlight>,
    task: Option<Task>,
    pub(super) failures: u32,
    pub(super) failing_since: Option<Instant>,
    pub(super) retry_at: Instant,
    pub(super) unread_since: Option<Instant>,
    pub(super) waiters: Vec<Waiter>,
    pub(super) last_sync: Instant,
    pub(super) unreported_drops: u64,
    pub(super) last_drop_report: Option<Instant>,
    pub(super) io_error: bool,
}

/// Whether a batch should go out now: events are waiting and a flush waits, a batch is
/// full by count or bytes, or the oldest waiting event (waiting since `since`) has waited
/// `flush_interval`.
pub(super) fn batch_due(
    cfg: &ElasticsearchConfig,
    events: u64,
    bytes: u64,
    since: Option<Instant>,
    flushing: bool,
    now: Instant,
) -> bool {
    events > 0
        && (flushing
            || events >= cfg.batch_max_events as u64
            || bytes >= cfg.batch_max_bytes as u64
            || since.is_none_or(|t| now >= t + cfg.flush_interval))
}

async fn finish(task: &mut Option<Task>) -> Done {
    match task {
        Some(t) => {
            let done = t.await;
            *task = None;
            done
        }
        None => std::future::pending().await,
    }
}

impl Shipper {
    pub(super) fn new(
        cfg: ElasticsearchConfig,
        client: Elasticsearch,
        spool: Spool,
        stamper: Arc<Stamper>,
        origin: Origin,
        metrics: Arc<Metrics>,
    ) -> Self {
        let now = Instant::now();
        Self {
            rejects: RejectFile::new(&cfg.reject_file),
            ready: !cfg.setup,
            unread_since: (spool.unread_events() > 0).then_some(now),
            cfg,
            client,
            spool,
            stamper,
            origin,
            metrics,
            inflight: None,
            task: None,
            failures: 0,
            failing_since: None,
            retry_at: now,
            waiters: Vec::new(),
            last_sync: now,
            unreported_drops: 0,
            last_drop_report: None,
            io_error: false,
        }
    }

    /// Runs until the sink is dropped.
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Command>, drops: Arc<Drops>) {
        let dropped = self.spool.enforce_budget();
        self.note_appended(dropped);
        loop {
            self.tick();
            let wake = self.next_wake();
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => {
                        self.on_command(cmd);
                        while let Ok(cmd) = rx.try_recv() {
                            self.on_command(cmd);
                        }
                        if let Some(report) = drops.report() {
                            self.append_line(&report);
                        }
                        // In the OS's hands: a crash of ferry loses none of it.
                        let flushed = self.spool.flush();
                        self.note_io(flushed);
                    }
                    None => break,
                },
                done = finish(&mut self.task) => self.on_done(done),
                () = tokio::time::sleep_until(wake.into()) => {}
            }
        }
        self.report_drops(true);
        let synced = self.spool.sync();
        self.note_io(synced);
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Line(line) => self.append(&line),
            Command::Flush(done) => {
                self.waiters.push(Waiter {
                    target: self.spool.end(),
                    deadline: Instant::now() + self.cfg.shutdown_timeout,
                    done,
                });
            }
        }
    }

    pub(super) fn append(&mut self, line: &[u8]) {
        let dropped = self.spool.append(line);
        self.note_appended(dropped);
        if self.unread_since.is_none() {
            self.unread_since = Some(Instant::now());
        }
    }

    fn due(&self, now: Instant) -> bool {
        batch_due(
            &self.cfg,
            self.spool.unread_events(),
            self.spool.unread_bytes(),
            self.unread_since,
            !self.waiters.is_empty(),
            now,
        )
    }

    fn next_wake(&self) -> Instant {
        let now = Instant::now();
        let mut wake = now + Duration::from_secs(3600);
        if self.task.is_none() {
            if !self.ready || self.inflight.is_some() {
                wake = wake.min(self.retry_at);
            } else if self.spool.unread_events() > 0 {
                let due = self
                    .unread_since
                    .map_or(now, |t| t + self.cfg.flush_interval);
                wake = wake.min(due.max(self.retry_at));
            }
        }
        for w in &self.waiters {
            wake = wake.min(w.deadline);
        }
        if self.unreported_drops > 0 {
            wake = wake.min(now + Duration::from_secs(1));
        }
        wake.min(self.last_sync + self.cfg.flush_interval).max(now)
    }

    fn tick(&mut self) {
        let now = Instant::now();
        self.report_drops(false);
        if now >= self.last_sync + self.cfg.flush_interval {
            let synced = self.spool.sync();
            self.note_io(synced);
            self.last_sync = now;
        }
        if self.task.is_none() && now >= self.retry_at {
            self.start_request(now);
        }
        self.answer_waiters(now);
        let logs = &self.metrics.logs;
        logs.spool_events
            .set(i64::try_from(self.spool.pending_events()).unwrap_or(i64::MAX));
        logs.spool_bytes
            .set(i64::try_from(self.spool.bytes()).unwrap_or(i64::MAX));
    }

    fn start_request(&mut self, now: Instant) {
        if !self.ready {
            let client = self.client.clone();
            let data_stream = self.cfg.data_stream.clone();
            self.task = Some(Box::pin(async move {
                Done::Setup(template::install(&client, &data_stream, false).await)
            }));
            return;
        }
        if self.inflight.is_none() && self.due(now) {
            match self
                .spool
                .read_batch(self.cfg.batch_max_events, self.cfg.batch_max_bytes)
            {
                Ok(batch) => {
                    if self.spool.unread_events() == 0 {
                        self.unread_since = None;
                    }
                    let (corrupt, entries): (Vec<_>, Vec<_>) =
                        batch.entries.into_iter().partition(|e| e.id.is_empty());
                    for entry in &corrupt {
                        self.reject(entry, 0, "corrupt spool line");
                    }
                    if !corrupt.is_empty() {
                        self.report_rejected(corrupt.len() as u64, "corrupt spool line");
                    }
                    self.inflight = Some(InFlight {
                        entries,
                        end: batch.end,
                    });
                }
                Err(e) => self.note_io(Err(e)),
            }
        }
        let Some(inflight) = &self.inflight else {
            return;
        };
        if inflight.entries.is_empty() {
            let end = inflight.end;
            self.inflight = None;
            let committed = self.spool.commit(end);
            self.note_io(committed);
            return;
        }
        let body = bulk::body(&inflight.entries);
        let count = inflight.entries.len();
        let client = self.client.clone();
        let data_stream = self.cfg.data_stream.clone();
        let timeout = self.cfg.request_timeout;
        self.task = Some(Box::pin(async move {
            let bytes = body.len();
            let outcome = bulk::send(&client, &data_stream, body, count, timeout).await;
            Done::Bulk { outcome, bytes }
        }));
    }

    fn on_done(&mut self, done: Done) {
        match done {
            Done::Setup(Ok(installed)) => {
                if matches!(installed, Installed::Written(..)) {
                    eprintln!("ferry: logs: {installed}");
                }
                self.ready = true;
                self.succeeded();
            }
            Done::Setup(Err(e)) => self.failed(&format!("installing the index template: {e}")),
            Done::Bulk { outcome, bytes } => self.on_bulk(outcome, bytes),
        }
    }

    fn on_bulk(&mut self, outcome: Outcome, bytes: usize) {
        let items = match outcome {
            Outcome::Failed(reason) => return self.failed(&reason),
            Outcome::Items(items) => items,
        };
        self.metrics.logs.bytes_shipped.inc_by(bytes as u64);
        let Some(inflight) = self.inflight.take() else {
            return;
        };
        let (mut keep, mut stored, mut rejected) = (Vec::new(), 0u64, 0u64);
        let (mut retry_reason, mut reject_reason) = (None, None);
        for (entry, item) in inflight.entries.into_iter().zip(items) {
            match item {
                Item::Stored | Item::Duplicate => stored += 1,
                Item::Retry(reason) => {
                    retry_reason.get_or_insert(reason);
                    keep.push(entry);
                }
                Item::Rejected { status, reason } => {
                    self.reject(&entry, status, &reason);
                    rejected += 1;
                    reject_reason.get_or_insert(reason);
                }
            }
        }
        self.metrics.logs.shipped.inc_by(stored);
        if let Some(reason) = reject_reason {
            self.report_rejected(rejected, &reason);
        }
        if keep.is_empty() {
            let committed = self.spool.commit(inflight.end);
            self.note_io(committed);
            self.succeeded();
        } else {
            let reason = format!(
                "{} documents refused for now: {}",
                keep.len(),
                retry_reason.unwrap_or_default()
            );
            self.inflight = Some(InFlight {
                entries: keep,
                end: inflight.end,
            });
            self.failed(&reason);
        }
    }
}
