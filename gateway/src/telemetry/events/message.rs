//! The events of one delivery's steps (received, done, retried, dead-lettered, handed
//! back, published, settle failures, lease extensions) and of failed receives.

use std::time::{Duration, SystemTime};

use crate::control::Settled;
use crate::telemetry::{
    Event, MessageContext, Metrics, Record,
    metrics::{HandBackLabels, SubscriptionLabels},
};

fn sub(s: &str) -> SubscriptionLabels {
    SubscriptionLabels {
        subscription: s.to_owned(),
    }
}

/// A delivery starts. Stamped with the time the receive that brought the message
/// returned, not when the record was written: a batch's later messages wait for the earlier
/// ones to be handed out, and that wait is part of the time ferry adds.
#[derive(Debug)]
pub struct Received<'a> {
    /// The message.
    pub ctx: &'a MessageContext,
    /// When the receive returned the message.
    pub at: SystemTime,
}

impl Event for Received<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.time(self.at)
            .action("message.received")
            .context(self.ctx)
            .message("message received");
    }
    fn count(&self, m: &Metrics) {
        m.series(self.ctx).received.inc();
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
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("message.done")
            .outcome("success")
            .context(self.ctx)
            .duration(self.duration);
        r.set("ferry.published", self.published)
            .message("message done");
    }
    fn count(&self, m: &Metrics) {
        let (sub, realm) = (&self.ctx.subscription, &self.ctx.realm);
        m.tally
            .settled(sub, realm, Settled::Done, Some(self.duration));
        let series = m.series(self.ctx);
        series.done.inc();
        series.handle_seconds.observe(self.duration.as_secs_f64());
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
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
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
        let (sub, realm) = (&self.ctx.subscription, &self.ctx.realm);
        m.tally
            .settled(sub, realm, Settled::Retried, Some(self.duration));
        let series = m.series(self.ctx);
        series.retried.inc();
        series.handle_seconds.observe(self.duration.as_secs_f64());
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
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
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
        let (sub, realm) = (&self.ctx.subscription, &self.ctx.realm);
        m.tally.settled(sub, realm, Settled::DeadLettered, None);
        m.series(self.ctx).dead_lettered.inc();
    }
}

/// Returned without counting the attempt.
#[derive(Debug)]
pub struct HandedBack<'a> {
    /// The message.
    pub ctx: &'a MessageContext,
    /// `worker_unavailable`, `realm_busy`, `realm_paused` (by the console) or `shutdown`.
    pub reason: &'a str,
    /// When it comes back.
    pub delay: Duration,
}

impl Event for HandedBack<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        let level = if matches!(self.reason, "realm_busy" | "realm_paused") {
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
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
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
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
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
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
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

/// A receive failed.
#[derive(Debug)]
pub struct ReceiveFailed<'a> {
    /// The subscription.
    pub subscription: &'a str,
    /// The error.
    pub error: String,
}

impl Event for ReceiveFailed<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
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
