//! The Prometheus metrics, served on `/metrics` in the text format. Updated only by the
//! events in [`super::events`].

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroUsize,
    sync::{Arc, Mutex, PoisonError, RwLock},
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use super::MessageContext;

/// The realm label of messages whose realm is not among the first `max_realms` seen.
pub const OTHER_REALM: &str = "_other";

/// How many realms may get series of their own (`metrics.max_realms`).
pub type MaxRealms = crate::bounded::Count<1, 10_000>;

/// The default of `metrics.max_realms`.
pub const DEFAULT_MAX_REALMS: MaxRealms = MaxRealms::of(100);

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

/// Labels of `ferry_build_info`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// The ferry version.
    pub version: &'static str,
    /// The cargo features ferry was built with (`embedded,sqs,...`).
    pub features: &'static str,
}

/// The features of this build, for `ferry_build_info`.
fn features() -> &'static str {
    const ALL: [(&str, bool); 5] = [
        ("embedded", cfg!(feature = "embedded")),
        ("sqs", cfg!(feature = "sqs")),
        ("pubsub", cfg!(feature = "pubsub")),
        ("elasticsearch", cfg!(feature = "elasticsearch")),
        ("failpoints", cfg!(feature = "failpoints")),
    ];
    static FEATURES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FEATURES.get_or_init(|| {
        ALL.iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(",")
    })
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

/// Labels of the ingress's request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IngressLabels {
    /// The route (`_unmatched` for a path no route serves).
    pub route: String,
    /// The answer's status code.
    pub status: u16,
}

/// Labels by ingress route only.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route.
    pub route: String,
}

fn ingress_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
    ])
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

/// The per-message series of one subscription × realm label, resolved once and then
/// updated with atomics only (no label strings, no family lookup per event).
#[derive(Debug, Clone)]
pub struct MessageSeries {
    /// `ferry_messages_received_total`.
    pub received: Counter,
    /// `ferry_messages_done_total`.
    pub done: Counter,
    /// `ferry_messages_retried_total`.
    pub retried: Counter,
    /// `ferry_messages_dead_lettered_total`.
    pub dead_lettered: Counter,
    /// `ferry_messages_in_flight`.
    pub in_flight: Gauge,
    /// `ferry_handle_duration_seconds`.
    pub handle_seconds: Histogram,
}

/// The resolved series by subscription, then realm label (bounded: the realm labels are).
type SeriesCache = RwLock<HashMap<String, HashMap<String, Arc<MessageSeries>>>>;

/// All of ferry's metrics.
pub struct Metrics {
    registry: Registry,
    realms: RealmLabels,
    series: SeriesCache,
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
    /// Times ferry's runtime ran no task for a second (`runtime.stalled`).
    pub runtime_stalls: Counter,
    /// Ingress requests answered, by route and status.
    pub ingress_requests: Family<IngressLabels, Counter>,
    /// Ingress request latency (arrival to answer), by route.
    pub ingress_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
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
        Self::with_max_realms(DEFAULT_MAX_REALMS.non_zero())
    }

    /// The labels of the per-message metrics of `ctx`: its subscription, and its realm
    /// while fewer than `max_realms` realms have been seen, else `_other`.
    pub fn labels(&self, ctx: &MessageContext) -> MessageLabels {
        MessageLabels {
            subscription: ctx.subscription.clone(),
            realm: self.realms.label(&ctx.realm),
        }
    }

    /// The per-message series of `ctx`'s subscription and realm: the one `ctx` carries,
    /// else looked up (and created once).
    pub fn series(&self, ctx: &MessageContext) -> Arc<MessageSeries> {
        if let Some(s) = &ctx.series {
            return s.clone();
        }
        self.series_for(&ctx.subscription, &ctx.realm)
    }

    /// The per-message series of `subscription` and `realm`.
    pub fn series_for(&self, subscription: &str, realm: &str) -> Arc<MessageSeries> {
        {
            let cache = self.series.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(s) = cache.get(subscription).and_then(|by| by.get(realm)) {
                return s.clone();
            }
        }
        let labels = MessageLabels {
            subscription: subscription.to_owned(),
            realm: self.realms.label(realm),
        };
        let series = Arc::new(MessageSeries {
            received: self.received.get_or_create(&labels).clone(),
            done: self.done.get_or_create(&labels).clone(),
            retried: self.retried.get_or_create(&labels).clone(),
            dead_lettered: self.dead_lettered.get_or_create(&labels).clone(),
            in_flight: self.in_flight.get_or_create(&labels).clone(),
            handle_seconds: self.handle_seconds.get_or_create(&labels).clone(),
        });
        let mut cache = self.series.write().unwrap_or_else(PoisonError::into_inner);
        let by_realm = cache.entry(subscription.to_owned()).or_default();
        // Realms beyond the label cap share the `_other` series but are not cached by
        // name, so the cache stays as bounded as the labels.
        if labels.realm == realm || by_realm.len() < self.realms.max {
            by_realm.insert(realm.to_owned(), series.clone());
        }
        series
    }

    /// [`Metrics::new`] with series of their own for the first `max_realms` realms only.
    pub fn with_max_realms(max_realms: NonZeroUsize) -> Self {
        // ferry's own metrics are `ferry_*`; the standard process metrics are not.
        let mut root = Registry::default();
        let registry = root.sub_registry_with_prefix("ferry");
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
            runtime_stalls: Counter::default(),
            ingress_requests: Family::default(),
            ingress_seconds: Family::new_with_constructor(ingress_histogram),
            logs: LogSinkMetrics::default(),
            tally: std::sync::Arc::new(crate::control::Tally::new(max_realms)),
            registry: Registry::default(),
            realms: RealmLabels {
                max: max_realms.get(),
                seen: Mutex::default(),
            },
            series: SeriesCache::default(),
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
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: super::record::FERRY_VERSION,
                features: features(),
            })
            .set(1);
        registry.register("build_info", "The ferry build (always 1)", build);
        registry.register(
            "worker_serving",
            "1 while the worker reports SERVING",
            m.worker_serving.clone(),
        );
        registry.register(
            "runtime_stalls",
            "Times ferry's runtime ran no task for a second (something blocked its thread)",
            m.runtime_stalls.clone(),
        );
        registry.register(
            "ingress_requests",
            "Webhook ingress requests answered, by route and status",
            m.ingress_requests.clone(),
        );
        registry.register(
            "ingress_request_duration_seconds",
            "Webhook ingress latency from the request's arrival to its answer",
            m.ingress_seconds.clone(),
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
        root.register_collector(Box::new(super::process::ProcessCollector));
        Self {
            registry: root,
            ..m
        }
    }

    /// Creates the series of subscription `name` at zero (realm "", every hand-back
    /// reason), so they are on `/metrics` before they first move.
    pub fn register_subscription(&self, name: &str) {
        drop(self.series_for(name, ""));
        for reason in ["worker_unavailable", "realm_busy", "shutdown", "overflow"] {
            drop(self.handed_back.get_or_create(&HandBackLabels {
                subscription: name.to_owned(),
                reason: reason.to_owned(),
            }));
        }
        let sub = SubscriptionLabels {
            subscription: name.to_owned(),
        };
        drop(self.published.get_or_create(&sub));
        drop(self.lease_extensions.get_or_create(&sub));
        drop(self.backend_errors.get_or_create(&sub));
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
