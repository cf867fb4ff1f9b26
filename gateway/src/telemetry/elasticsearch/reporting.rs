//! The shipper's reporting: what it tells stderr, the metrics and the log itself about
//! drops, rejections, outages and recoveries, and answering flushes.

use std::time::{Duration, Instant};

use super::{events, shipper::Shipper, spool::Entry};
use crate::telemetry::{Event, Line, Record};

impl Shipper {
    pub(super) fn note_appended(&mut self, dropped: std::io::Result<u64>) {
        match dropped {
            Ok(n) => {
                if n > 0 {
                    self.metrics.logs.dropped.inc_by(n);
                    self.unreported_drops += n;
                }
                self.note_io(Ok(()));
            }
            Err(e) => self.note_io(Err(e)),
        }
    }

    /// Reports a spool I/O error on stderr, once until the spool works again. An event
    /// that could not be appended is lost (the disk is full or gone); the sink keeps going.
    pub(super) fn note_io(&mut self, result: std::io::Result<()>) {
        match result {
            Err(e) if !self.io_error => {
                self.io_error = true;
                eprintln!(
                    "ferry: logs: the spool in {} failed: {e}",
                    self.spool.dir().display()
                );
            }
            Err(_) => {}
            Ok(()) => self.io_error = false,
        }
    }

    /// Writes one of the sink's own events into the spool (and stdout, if copied there).
    pub(super) fn emit(&mut self, event: impl Event) {
        event.count(&self.metrics);
        let mut record = Record::new();
        event.fill(&mut record);
        let line = record.encode(&self.origin);
        self.append_line(&line);
    }

    /// Writes `line` into the spool (and stdout, if copied there).
    pub(super) fn append_line(&mut self, line: &Line) {
        let mut entry = Vec::new();
        self.stamper.stamp(line, |e| entry = e);
        self.append(&entry);
    }

    pub(super) fn report_drops(&mut self, now_anyway: bool) {
        if self.unreported_drops == 0 {
            return;
        }
        let now = Instant::now();
        let quiet = self
            .last_drop_report
            .is_some_and(|t| now < t + Duration::from_secs(5));
        if quiet && !now_anyway {
            return;
        }
        self.last_drop_report = Some(now);
        // A report is an event too, and appending it to a full spool drops more: report
        // those as well (a few rounds settle it; what is left goes with the next report).
        for _ in 0..4 {
            let dropped = std::mem::take(&mut self.unreported_drops);
            if dropped == 0 {
                break;
            }
            eprintln!(
                "ferry: logs: the spool in {} is over its budget of {} bytes: dropped the {dropped} oldest log events",
                self.spool.dir().display(),
                self.cfg.spool_max_bytes
            );
            self.emit(events::SpoolDropped {
                dropped,
                budget: self.cfg.spool_max_bytes,
            });
        }
    }

    pub(super) fn reject(&mut self, entry: &Entry, status: u16, reason: &str) {
        if let Err(e) = self.rejects.write(entry, status, reason) {
            eprintln!(
                "ferry: logs: cannot write the reject file {}: {e}",
                self.rejects.path().display()
            );
        }
    }

    pub(super) fn report_rejected(&mut self, count: u64, reason: &str) {
        self.metrics.logs.rejected.inc_by(count);
        let file = self.rejects.path().display().to_string();
        eprintln!(
            "ferry: logs: Elasticsearch rejected {count} log events, written to {file}: {reason}"
        );
        self.emit(events::Rejected {
            count,
            reason,
            reject_file: &file,
        });
    }

    pub(super) fn failed(&mut self, reason: &str) {
        let now = Instant::now();
        self.failures = self.failures.saturating_add(1);
        self.metrics.logs.request_failures.inc();
        self.retry_at = now + self.cfg.retry.delay(self.failures);
        if self.failing_since.is_none() {
            self.failing_since = Some(now);
            eprintln!(
                "ferry: logs: Elasticsearch at {} is unavailable ({reason}); log events are kept in the spool {}",
                self.cfg.url,
                self.spool.dir().display()
            );
            let pending = self.spool.pending_events();
            let url = self.cfg.url.clone();
            self.emit(events::Unavailable {
                url: &url,
                error: reason,
                pending,
            });
        }
    }

    pub(super) fn succeeded(&mut self) {
        self.failures = 0;
        self.retry_at = Instant::now();
        if let Some(since) = self.failing_since.take() {
            let pending = self.spool.pending_events();
            let after = since.elapsed();
            eprintln!(
                "ferry: logs: Elasticsearch at {} answers again; {pending} log events to replay",
                self.cfg.url
            );
            let url = self.cfg.url.clone();
            self.emit(events::Recovered {
                url: &url,
                after,
                pending,
            });
        }
    }

    pub(super) fn answer_waiters(&mut self, now: Instant) {
        if self.waiters.is_empty() {
            return;
        }
        let acked = self.spool.acked();
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|w| acked >= w.target || now >= w.deadline);
        self.waiters = waiting;
        if ready.is_empty() {
            return;
        }
        self.report_drops(true);
        let synced = self.spool.sync();
        self.note_io(synced);
        for w in ready {
            let _ = w.done.send(());
        }
    }
}
