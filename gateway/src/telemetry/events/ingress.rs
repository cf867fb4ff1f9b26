//! The webhook ingress's events: one per request, `ingress.accepted` (the queue holds it;
//! the message id, and whether it was a provider's repeated delivery) or
//! `ingress.rejected` (the status and a reason code). Both count the request by route and
//! status and observe its latency. Neither ever carries a secret, a signature or the body.

use std::time::Duration;

use crate::telemetry::{
    Event, Metrics, Record,
    metrics::{IngressLabels, RouteLabels},
};

/// The `route` label of a request that matched no route.
pub const NO_ROUTE: &str = "_unmatched";

fn count(m: &Metrics, route: &str, status: u16, duration: Duration) {
    let route = if route.is_empty() { NO_ROUTE } else { route };
    m.ingress_requests
        .get_or_create(&IngressLabels {
            route: route.to_owned(),
            status,
        })
        .inc();
    m.ingress_seconds
        .get_or_create(&RouteLabels {
            route: route.to_owned(),
        })
        .observe(duration.as_secs_f64());
}

/// A request the queue now holds.
#[derive(Debug)]
pub struct IngressAccepted<'a> {
    /// The route.
    pub route: &'a str,
    /// The queue.
    pub queue: &'a str,
    /// The message id (the original one for a repeated delivery).
    pub message_id: &'a str,
    /// The answer's status.
    pub status: u16,
    /// The realm ("" when none).
    pub realm: &'a str,
    /// The de-duplication id, if any.
    pub dedup_id: Option<&'a str>,
    /// A repeated delivery: answered with the original id, nothing enqueued.
    pub duplicate: bool,
    /// The trace id of the message.
    pub trace_id: &'a str,
    /// From the request's arrival to the answer.
    pub duration: Duration,
    /// Something that went wrong without failing the request (the de-duplication record).
    pub warning: Option<String>,
}

impl Event for IngressAccepted<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("ingress.accepted")
            .outcome("success")
            .duration(self.duration);
        r.set("ferry.route", self.route)
            .set("ferry.queue", self.queue)
            .set("ferry.message_id", self.message_id)
            .set("http.response.status_code", self.status)
            .set("ferry.duplicate", self.duplicate);
        if !self.realm.is_empty() {
            r.set("ferry.realm", self.realm);
        }
        if let Some(d) = self.dedup_id {
            r.set("ferry.dedup_id", d);
        }
        if !self.trace_id.is_empty() {
            r.set("trace.id", self.trace_id);
        }
        if let Some(w) = &self.warning {
            r.level("warn").error(w.as_str());
        }
        r.message(if self.duplicate {
            format!(
                "repeated delivery on {}: answered with the original id",
                self.route
            )
        } else {
            format!("accepted on {} into {}", self.route, self.queue)
        });
    }
    fn count(&self, m: &Metrics) {
        count(m, self.route, self.status, self.duration);
    }
}

/// A request refused.
#[derive(Debug)]
pub struct IngressRejected<'a> {
    /// The route ("" when none matched).
    pub route: &'a str,
    /// The request's method.
    pub method: &'a str,
    /// The request's path (at most 256 characters).
    pub path: &'a str,
    /// The answer's status.
    pub status: u16,
    /// A reason code: `not_found`, `method_not_allowed`, `unsupported_media_type`,
    /// `payload_too_large`, `body_timeout`, `unreadable_body`, `signature`, `not_json`,
    /// `schema`, `invalid`, `rate_limited`, `busy`, `backend_unavailable`.
    pub reason: &'static str,
    /// More about the reason, for the log (never a secret, a signature or a body).
    pub detail: &'a str,
    /// From the request's arrival to the answer.
    pub duration: Duration,
}

impl Event for IngressRejected<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        let level = if self.status >= 500 { "error" } else { "warn" };
        r.action("ingress.rejected")
            .outcome("failure")
            .level(level)
            .duration(self.duration);
        if !self.route.is_empty() {
            r.set("ferry.route", self.route);
        }
        r.set("http.request.method", self.method)
            .set("url.path", self.path)
            .set("http.response.status_code", self.status)
            .set("ferry.reject_reason", self.reason);
        if !self.detail.is_empty() {
            r.error(self.detail);
        }
        r.message(format!("rejected with {} ({})", self.status, self.reason));
    }
    fn count(&self, m: &Metrics) {
        count(m, self.route, self.status, self.duration);
    }
}
