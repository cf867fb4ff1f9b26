//! The events ferry emits, one struct per step. Each writes one record (`event.action` is
//! the name in the table) and counts itself.
//!
//! | `event.action` | when |
//! |---|---|
//! | `ferry.started` / `ferry.stopped` | process start (with bound addresses) / end of drain |
//! | `message.received` | a delivery starts |
//! | `message.done` | the worker answered done; follow-ups published; input acked |
//! | `message.retried` | returned to the queue with a delay, attempt counted |
//! | `message.dead_lettered` | moved to the error queue with its story |
//! | `message.handed_back` | returned without counting the attempt (worker down, realm busy, shutdown) |
//! | `message.published` | a follow-up message was published |
//! | `message.settle_failed` | ack / release / dead-letter failed (the message comes back) |
//! | `worker.log` | a log line from the worker |
//! | `worker.health` | the worker's health changed |
//! | `worker.started` / `worker.exited` | the child worker process started / exited |
//! | `worker.output` | a line the child worker wrote to its stdout or stderr |
//! | `receive.failed` | a receive from the backend failed |

use std::{collections::BTreeMap, time::Duration};

use super::{
    Event, MessageContext, Metrics, Record,
    metrics::{HandBackLabels, SubscriptionLabels},
};

fn sub(s: &str) -> SubscriptionLabels {
    SubscriptionLabels {
        subscription: s.to_owned(),
    }
}

/// Ferry is up; the addresses are the bound ones (port 0 resolved).
#[derive(Debug)]
pub struct Started<'a> {
    /// Backend kind.
    pub backend: &'a str,
    /// The gateway API address, if served.
    pub gateway: Option<String>,
    /// The admin address, if served.
    pub admin: Option<String>,
    /// Subscription names.
    pub subscriptions: Vec<String>,
}

impl Event for Started<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("ferry.started")
            .message(format!("ferry started on the {} backend", self.backend));
        r.set("ferry.backend", self.backend);
        r.set(
            "ferry.gateway.address",
            self.gateway.clone().unwrap_or_default(),
        );
        r.set(
            "ferry.admin.address",
            self.admin.clone().unwrap_or_default(),
        );
        r.set("ferry.subscriptions", self.subscriptions.clone());
    }
}

/// Ferry drained and is exiting.
#[derive(Debug)]
pub struct Stopped {
    /// Deliveries handed back because the grace period ran out.
    pub handed_back: u64,
    /// What stopped ferry, when it was not the signal (a server or the child worker).
    pub error: Option<String>,
}

impl Event for Stopped {
    fn fill(&self, r: &mut Record) {
        r.action("ferry.stopped").message(format!(
            "ferry stopped; {} in-flight messages handed back",
            self.handed_back
        ));
        if let Some(e) = &self.error {
            r.level("error").error(e.as_str());
        }
    }
}

/// A delivery starts.
#[derive(Debug)]
pub struct Received<'a>(pub &'a MessageContext);

impl Event for Received<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("message.received")
            .context(self.0)
            .message("message received");
    }
    fn count(&self, m: &Metrics) {
        m.received.get_or_create(&m.labels(self.0)).inc();
    }
}

/// Done and acked.
#[derive(Debug)]
pub struct Done<'a> {
    /// The message.
    pub ctx: &'a MessageContext,
    /// Time spent in `Handle`.
    pub duration: Duration,
    /// Follow-up messages published.
    pub published: usize,
}

impl Event for Done<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("message.done")
            .outcome("success")
            .context(self.ctx)
            .duration(self.duration);
        r.set("ferry.published", self.published)
            .message("message done");
    }
    fn count(&self, m: &Metrics) {
        m.done.get_or_create(&m.labels(self.ctx)).inc();
        m.handle_seconds
            .get_or_create(&m.labels(self.ctx))
            .observe(self.duration.as_secs_f64());
    }
}

/// Returned for a retry, attempt counted.
#[derive(Debug)]
pub struct Retried<'a> {
    /// The message.
    pub ctx: &'a MessageContext,
    /// Time spent in `Handle` (zero when the call never ran).
    pub duration: Duration,
    /// When it comes back.
    pub delay: Duration,
    /// Why.
    pub error: &'a str,
}

impl Event for Retried<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("message.retried")
            .outcome("failure")
            .level("warn")
            .context(self.ctx)
            .duration(self.duration);
        r.error(self.error).set(
            "ferry.retry_delay_ms",
            u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX),
        );
        r.message(format!(
            "retry in {}: {}",
            humantime::format_duration(self.delay),
            self.error
        ));
    }
    fn count(&self, m: &Metrics) {
        m.retried.get_or_create(&m.labels(self.ctx)).inc();
        m.handle_seconds
            .get_or_create(&m.labels(self.ctx))
            .observe(self.duration.as_secs_f64());
    }
}

/// Moved to the error queue.
#[derive(Debug)]
pub struct DeadLettered<'a> {
    /// The message.
    pub ctx: &'a MessageContext,
    /// The error queue.
    pub error_queue: &'a str,
    /// `max_attempts`, `worker`, `status` or `malformed`.
    pub reason: &'a str,
    /// The last error.
    pub error: &'a str,
}

impl Event for DeadLettered<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("message.dead_lettered")
            .outcome("failure")
            .level("error")
            .context(self.ctx)
            .error(self.error);
        r.set("ferry.error_queue", self.error_queue)
            .set("ferry.dead_letter_reason", self.reason);
        r.message(format!(
            "dead-lettered to {} ({}): {}",
            self.error_queue, self.reason, self.error
        ));
    }
    fn count(&self, m: &Metrics) {
        m.dead_lettered.get_or_create(&m.labels(self.ctx)).inc();
    }
}

/// Returned without counting the attempt.
#[derive(Debug)]
pub struct HandedBack<'a> {
    /// The message.
    pub ctx: &'a MessageContext,
    /// `worker_unavailable`, `realm_busy` or `shutdown`.
    pub reason: &'a str,
    /// When it comes back.
    pub delay: Duration,
}

impl Event for HandedBack<'_> {
    fn fill(&self, r: &mut Record) {
        let level = if self.reason == "realm_busy" {
            "debug"
        } else {
            "warn"
        };
        r.action("message.handed_back")
            .outcome("unknown")
            .level(level)
            .context(self.ctx);
        r.set("ferry.hand_back_reason", self.reason)
            .message(format!("handed back ({})", self.reason));
    }
    fn count(&self, m: &Metrics) {
        let l = HandBackLabels {
            subscription: self.ctx.subscription.clone(),
            reason: self.reason.to_owned(),
        };
        m.handed_back.get_or_create(&l).inc();
    }
}

/// A message was published (a worker's follow-up, or through the gateway API).
#[derive(Debug)]
pub struct Published<'a> {
    /// The message that produced it (None for the gateway API).
    pub ctx: Option<&'a MessageContext>,
    /// The destination queue.
    pub destination: &'a str,
    /// The new message's id.
    pub id: &'a str,
    /// Its de-duplication id.
    pub dedup_id: Option<&'a str>,
}

impl Event for Published<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("message.published").outcome("success");
        if let Some(ctx) = self.ctx {
            r.context(ctx);
        }
        r.set("ferry.destination", self.destination)
            .set("ferry.published_id", self.id);
        if let Some(d) = self.dedup_id {
            r.set("ferry.dedup_id", d);
        }
        r.message(format!("published to {}", self.destination));
    }
    fn count(&self, m: &Metrics) {
        let s = self
            .ctx
            .map(|c| c.subscription.as_str())
            .unwrap_or("gateway");
        m.published.get_or_create(&sub(s)).inc();
    }
}

/// A settle operation failed; the message will come back when its lease expires.
#[derive(Debug)]
pub struct SettleFailed<'a> {
    /// The message.
    pub ctx: &'a MessageContext,
    /// `ack`, `release`, `dead_letter`, `publish` or `extend`.
    pub operation: &'a str,
    /// The backend error.
    pub error: String,
}

impl Event for SettleFailed<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("message.settle_failed")
            .outcome("failure")
            .level("error")
            .context(self.ctx)
            .error(self.error.clone());
        r.set("ferry.operation", self.operation)
            .message(format!("{} failed: {}", self.operation, self.error));
    }
    fn count(&self, m: &Metrics) {
        m.backend_errors
            .get_or_create(&sub(&self.ctx.subscription))
            .inc();
    }
}

/// A lease was extended (counted, not logged: it would be noise).
#[derive(Debug)]
pub struct LeaseExtended<'a>(pub &'a MessageContext);

impl Event for LeaseExtended<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("lease.extended").level("debug").context(self.0);
    }
    fn count(&self, m: &Metrics) {
        m.lease_extensions
            .get_or_create(&sub(&self.0.subscription))
            .inc();
    }
    fn logged(&self) -> bool {
        false
    }
}

/// A log line from the worker.
#[derive(Debug)]
pub struct WorkerLog<'a> {
    /// The message it is about, if any.
    pub ctx: Option<&'a MessageContext>,
    /// `debug`, `info`, `warn` or `error`.
    pub level: &'a str,
    /// The text.
    pub message: &'a str,
    /// Extra fields, written as `labels.<key>`.
    pub fields: &'a BTreeMap<String, String>,
    /// The worker's own timestamp, if given.
    pub time: Option<std::time::SystemTime>,
}

impl Event for WorkerLog<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("worker.log")
            .level(self.level)
            .message(self.message);
        if let Some(ctx) = self.ctx {
            r.context(ctx);
        }
        if let Some(t) = self.time {
            r.time(t);
        }
        for (k, v) in self.fields {
            r.set(format!("labels.{k}"), v.as_str());
        }
    }
}

/// The worker's health changed.
#[derive(Debug)]
pub struct WorkerHealth<'a> {
    /// Whether it is serving now.
    pub serving: bool,
    /// The status or error seen.
    pub detail: &'a str,
}

impl Event for WorkerHealth<'_> {
    fn fill(&self, r: &mut Record) {
        let (level, text) = if self.serving {
            ("info", "worker is serving")
        } else {
            ("warn", "worker is not serving")
        };
        r.action("worker.health")
            .level(level)
            .message(format!("{text}: {}", self.detail));
        r.set("ferry.worker.serving", self.serving);
    }
    fn count(&self, m: &Metrics) {
        m.worker_serving.set(i64::from(self.serving));
    }
}

/// The child worker process started.
#[derive(Debug)]
pub struct WorkerStarted {
    /// Its pid.
    pub pid: u32,
}

impl Event for WorkerStarted {
    fn fill(&self, r: &mut Record) {
        r.action("worker.started")
            .message(format!("worker process {} started", self.pid))
            .set("process.pid", self.pid);
    }
}

/// The child worker process exited.
#[derive(Debug)]
pub struct WorkerExited {
    /// How it exited.
    pub status: String,
    /// When it is restarted (None during shutdown).
    pub restart_in: Option<Duration>,
}

impl Event for WorkerExited {
    fn fill(&self, r: &mut Record) {
        let text = match self.restart_in {
            Some(d) => format!(
                "worker exited ({}); restarting in {}",
                self.status,
                humantime::format_duration(d)
            ),
            None => format!("worker exited ({})", self.status),
        };
        r.action("worker.exited")
            .level(if self.restart_in.is_some() {
                "error"
            } else {
                "info"
            })
            .message(text);
    }
}

/// A line the child worker wrote to its stdout or stderr.
#[derive(Debug)]
pub struct WorkerOutput<'a> {
    /// `stdout` or `stderr`.
    pub stream: &'static str,
    /// The line, without its newline.
    pub line: &'a str,
}

impl Event for WorkerOutput<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("worker.output")
            .level(if self.stream == "stderr" {
                "warn"
            } else {
                "info"
            })
            .message(self.line);
        r.set("ferry.worker.stream", self.stream);
    }
}

/// A receive failed.
#[derive(Debug)]
pub struct ReceiveFailed<'a> {
    /// The subscription.
    pub subscription: &'a str,
    /// The error.
    pub error: String,
}

impl Event for ReceiveFailed<'_> {
    fn fill(&self, r: &mut Record) {
        r.action("receive.failed")
            .outcome("failure")
            .level("error")
            .error(self.error.clone());
        r.set("ferry.subscription", self.subscription)
            .message(format!("receive failed: {}", self.error));
    }
    fn count(&self, m: &Metrics) {
        m.backend_errors
            .get_or_create(&sub(self.subscription))
            .inc();
    }
}
