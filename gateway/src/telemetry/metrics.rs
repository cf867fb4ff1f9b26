//! The Prometheus metrics, served on `/metrics` in the text format. Updated only by the
//! events in [`super::events`].

use std::{
    collections::HashSet,
    sync::{Mutex, PoisonError},
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use super::MessageContext;

/// The realm label of messages whose realm is not among the first `max_realms` seen.
pub const OTHER_REALM: &str = "_other";

/// The default of `metrics.max_realms`.
pub const DEFAULT_MAX_REALMS: usize = 100;

/// Labels of per-message metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    /// The subscription.
    pub subscription: String,
    /// The realm ("" when none).
    pub realm: String,
}

/// Labels of hand-backs.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandBackLabels {
    /// The subscription.
    pub subscription: String,
    /// Why: `worker_unavailable`, `realm_busy`, `shutdown`.
    pub reason: String,
}

/// Labels of a log sink's metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabels {
    /// `stdout` or `elasticsearch`.
    pub sink: &'static str,
}

/// Labels by subscription only.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SubscriptionLabels {
    /// The subscription.
    pub subscription: String,
}

fn handle_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
    ])
}

/// The realms that have series of their own: the first `max` seen.
struct RealmLabels {
    max: usize,
    seen: Mutex<HashSet<String>>,
}

impl RealmLabels {
    /// The label for `realm`: itself while there is room, else [`OTHER_REALM`].
    fn label(&self, realm: &str) -> String {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.contains(realm) {
            return realm.to_owned();
        }
        if seen.len() < self.max {
            seen.insert(realm.to_owned());
            return realm.to_owned();
        }
        OTHER_REALM.to_owned()
    }
}

/// All of ferry's metrics.
pub struct Metrics {
    registry: Registry,
    realms: RealmLabels,
    /// Messages received.
    pub received: Family<MessageLabels, Counter>,
    /// Messages done (acked).
    pub done: Family<MessageLabels, Counter>,
    /// Messages returned for a retry (attempt counted).
    pub retried: Family<MessageLabels, Counter>,
    /// Messages moved to the error queue.
    pub dead_lettered: Family<MessageLabels, Counter>,
    /// Messages handed back without counting an attempt.
    pub handed_back: Family<HandBackLabels, Counter>,
    /// Messages published (fan-out and gateway).
    pub published: Family<SubscriptionLabels, Counter>,
    /// `Handle` calls running now.
    pub in_flight: Family<MessageLabels, Gauge>,
    /// `Handle` call durations.
    pub handle_seconds: Family<MessageLabels, Histogram, fn() -> Histogram>,
    /// Lease extensions.
    pub lease_extensions: Family<SubscriptionLabels, Counter>,
    /// Failed backend operations.
    pub backend_errors: Family<SubscriptionLabels, Counter>,
    /// 1 while the worker reports SERVING.
    pub worker_serving: Gauge,
    /// Log sink (Elasticsearch) figures.
    pub logs: LogSinkMetrics,
    /// Counts per subscription × realm between console heartbeats (off without a console).
    pub tally: std::sync::Arc<crate::control::Tally>,
}

/// The Elasticsearch log sink's metrics (all zero with the stdout sink).
#[derive(Debug, Default)]
pub struct LogSinkMetrics {
    /// Log events Elasticsearch has (a replayed duplicate it refused as existing included).
    pub shipped: Counter,
    /// Bytes of bulk request bodies Elasticsearch answered.
    pub bytes_shipped: Counter,
    /// Log events Elasticsearch refused (written to the reject file).
    pub rejected: Counter,
    /// Log events dropped from the spool because it was over its budget.
    pub dropped: Counter,
    /// Bulk or setup requests that failed and are retried.
    pub request_failures: Counter,
    /// Log events dropped because a sink's queue was full, by sink.
    pub queue_dropped: Family<SinkLabels, Counter>,
    /// Log events in the spool that Elasticsearch has not confirmed.
    pub spool_events: Gauge,
    /// Bytes of the spool's files.
    pub spool_bytes: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered (prefix `ferry_`), with up to
    /// [`DEFAULT_MAX_REALMS`] realm label values.
    pub fn new() -> Self {
        Self::with_max_realms(DEFAULT_MAX_REALMS)
    }

    /// The labels of the per-message metrics of `ctx`: its subscription, and its realm
    /// while fewer than `max_realms` realms have been seen, else `_other`.
    pub fn labels(&self, ctx: &MessageContext) -> MessageLabels {
        MessageLabels {
            subscription: ctx.subscription.clone(),
            realm: self.realms.label(&ctx.realm),
        }
    }

    /// [`Metrics::new`] with series of their own for the first `max_realms` realms only.
    pub fn with_max_realms(max_realms: usize) -> Self {
        let mut registry = Registry::with_prefix("ferry");
        let m = Self {
            received: Family::default(),
            done: Family::default(),
            retried: Family::default(),
            dead_lettered: Family::default(),
            handed_back: Family::default(),
            published: Family::default(),
            in_flight: Family::default(),
            handle_seconds: Family::new_with_constructor(handle_histogram),
            lease_extensions: Family::default(),
            backend_errors: Family::default(),
            worker_serving: Gauge::default(),
            logs: LogSinkMetrics::default(),
            tally: std::sync::Arc::new(crate::control::Tally::new(max_realms)),
            registry: Registry::default(),
            realms: RealmLabels {
                max: max_realms,
                seen: Mutex::default(),
            },
        };
        registry.register("messages_received", "Messages received", m.received.clone());
        registry.register(
            "messages_done",
            "Messages processed and acked",
            m.done.clone(),
        );
        registry.register(
            "messages_retried",
            "Messages returned for a retry",
            m.retried.clone(),
        );
        registry.register(
            "messages_dead_lettered",
            "Messages moved to the error queue",
            m.dead_lettered.clone(),
        );
        registry.register(
            "messages_handed_back",
            "Messages handed back without counting an attempt",
            m.handed_back.clone(),
        );
        registry.register(
            "messages_published",
            "Messages published",
            m.published.clone(),
        );
        registry.register(
            "messages_in_flight",
            "Handle calls running",
            m.in_flight.clone(),
        );
        registry.register(
            "handle_duration_seconds",
            "Duration of Handle calls",
            m.handle_seconds.clone(),
        );
        registry.register(
            "lease_extensions",
            "Lease extensions",
            m.lease_extensions.clone(),
        );
        registry.register(
            "backend_errors",
            "Failed backend operations",
            m.backend_errors.clone(),
        );
        registry.register(
            "worker_serving",
            "1 while the worker reports SERVING",
            m.worker_serving.clone(),
        );
        let l = &m.logs;
        registry.register(
            "log_events_shipped",
            "Log events stored by Elasticsearch",
            l.shipped.clone(),
        );
        registry.register(
            "log_bytes_shipped",
            "Bytes of bulk request bodies answered by Elasticsearch",
            l.bytes_shipped.clone(),
        );
        registry.register(
            "log_events_rejected",
            "Log events refused by Elasticsearch (see the reject file)",
            l.rejected.clone(),
        );
        registry.register(
            "log_events_dropped",
            "Log events dropped from the spool over its budget",
            l.dropped.clone(),
        );
        registry.register(
            "log_queue_dropped",
            "Log events dropped because a sink's queue was full (stdout blocked, Elasticsearch sink behind)",
            l.queue_dropped.clone(),
        );
        registry.register(
            "log_request_failures",
            "Failed requests to Elasticsearch (retried)",
            l.request_failures.clone(),
        );
        registry.register(
            "log_spool_events",
            "Log events in the spool not yet confirmed by Elasticsearch",
            l.spool_events.clone(),
        );
        registry.register(
            "log_spool_bytes",
            "Bytes of the log spool's files",
            l.spool_bytes.clone(),
        );
        Self { registry, ..m }
    }

    /// The counter of log events sink `sink` dropped because its queue was full.
    pub fn log_queue_dropped(&self, sink: &'static str) -> Counter {
        self.logs
            .queue_dropped
            .get_or_create(&SinkLabels { sink })
            .clone()
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
