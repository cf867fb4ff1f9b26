//! What the API answers, built from the console's state: the overview rows
//! ([`subscriptions`]), one subscription in detail ([`subscription`]), one realm across
//! the fleet ([`realm`]), the sidecars ([`sidecars`]).

use std::{
    collections::BTreeMap,
    time::{Instant, SystemTime},
};

use serde::Serialize;

use super::{
    Console, controls::FleetControls, fleet::SubKey, queues::QueueState, rollup::Agg,
    state::minute_of, store,
};
use crate::control::wire::{Limits, SubscriptionReport};

/// One subscription of the fleet, as the overview shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionRow {
    /// The console's name of its backend.
    pub backend: String,
    /// The backend's kind.
    pub backend_kind: String,
    /// The subscription.
    pub name: String,
    /// The queue (or `prefix*`).
    pub queue: String,
    /// The error queue.
    pub error_queue: String,
    /// The services (`service` of the sidecars).
    pub services: Vec<String>,
    /// Live sidecars.
    pub sidecars_live: usize,
    /// Stale sidecars.
    pub sidecars_stale: usize,
    /// Live sidecars whose worker is serving.
    pub workers_serving: usize,
    /// `running`, `paused`, `degraded` (a live sidecar's worker is not serving) or `stale`
    /// (no live sidecar).
    pub state: &'static str,
    /// Calls running now, over the live sidecars.
    pub in_flight: u64,
    /// Queue counts as last read.
    pub queue_state: Option<QueueState>,
    /// Done per second over the last two minutes.
    pub done_per_second: f64,
    /// Retried + dead-lettered over settled, last 5 minutes.
    pub failure_rate: Option<f64>,
    /// Handling time p50, last 5 minutes (ms).
    pub p50_ms: Option<f64>,
    /// Handling time p95, last 5 minutes (ms).
    pub p95_ms: Option<f64>,
    /// Done per minute, the last hour (oldest first).
    pub sparkline: Vec<u64>,
    /// Configured limits summed over the live sidecars.
    pub configured: Limits,
    /// Applied limits summed over the live sidecars.
    pub effective: Limits,
    /// The operators' controls.
    pub controls: FleetControls,
}

fn sum_limits<'a>(all: impl Iterator<Item = &'a Limits>) -> Limits {
    let mut sum = Limits::default();
    for l in all {
        sum.max_in_flight += l.max_in_flight;
        if let Some(n) = l.max_in_flight_per_realm {
            *sum.max_in_flight_per_realm.get_or_insert(0) += n;
        }
        if let Some(r) = l.rate_limit {
            *sum.rate_limit.get_or_insert(0.0) += r;
        }
    }
    sum
}

/// What the overview needs of one sidecar of one subscription (no realm lists: the
/// overview is built without copying the fleet's reports).
#[derive(Debug, Clone)]
struct Member {
    live: bool,
    last_seen: Instant,
    service: String,
    kind: String,
    serving: bool,
    report: SubscriptionReport,
    in_flight: u64,
}

/// Every subscription of the fleet, sorted by backend and name.
pub fn subscriptions(console: &Console) -> Vec<SubscriptionRow> {
    let now = Instant::now();
    let minute = minute_of(SystemTime::now());
    let controls = console.controls();
    let mut groups: BTreeMap<SubKey, Vec<Member>> = BTreeMap::new();
    console.with_fleet(|fleet| {
        for s in fleet.sidecars() {
            let live = fleet.is_live(s, now);
            for r in &s.beat.subscriptions {
                groups
                    .entry(SubKey {
                        backend: s.backend.clone(),
                        name: r.name.clone(),
                    })
                    .or_default()
                    .push(Member {
                        live,
                        last_seen: s.last_seen,
                        service: s.beat.service.clone(),
                        kind: s.beat.backend.kind.clone(),
                        serving: s.beat.worker_serving,
                        in_flight: r.realms.iter().map(|x| u64::from(x.in_flight)).sum(),
                        report: SubscriptionReport {
                            realms: Vec::new(),
                            paused_realms: Vec::new(),
                            ..r.clone()
                        },
                    });
            }
        }
    });
    groups
        .into_iter()
        .map(|(key, members)| row(console, &key, &members, controls.get(&key), minute))
        .collect()
}

fn row(
    console: &Console,
    key: &SubKey,
    members: &[Member],
    controls: Option<&FleetControls>,
    minute: i64,
) -> SubscriptionRow {
    let freshest = members.iter().max_by_key(|m| m.last_seen);
    let first = freshest.map(|m| m.report.clone()).unwrap_or_default();
    let live: Vec<&Member> = members.iter().filter(|m| m.live).collect();
    let mut services: Vec<String> = members.iter().map(|m| m.service.clone()).collect();
    services.sort();
    services.dedup();
    let serving = live.iter().filter(|m| m.serving).count();
    let controls = controls.cloned().unwrap_or_default();
    let state = if live.is_empty() {
        "stale"
    } else if controls.paused.is_some() {
        "paused"
    } else if serving < live.len() {
        "degraded"
    } else {
        "running"
    };
    let recent = console.recent(key);
    let last5 = recent.since(minute - 4);
    let last2 = recent.since(minute - 1);
    let now_s = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // The window: the whole previous minute and the current one so far.
    #[allow(clippy::cast_precision_loss)]
    let window = (60 + now_s % 60).max(1) as f64;
    #[allow(clippy::cast_precision_loss)]
    let done_per_second = last2.done as f64 / window;
    SubscriptionRow {
        backend: key.backend.clone(),
        backend_kind: freshest.map(|m| m.kind.clone()).unwrap_or_default(),
        name: key.name.clone(),
        queue: first
            .queue_prefix
            .as_ref()
            .map(|p| format!("{p}*"))
            .or(first.queue.clone())
            .unwrap_or_default(),
        error_queue: first.error_queue.clone(),
        services,
        sidecars_live: live.len(),
        sidecars_stale: members.len() - live.len(),
        workers_serving: serving,
        state,
        in_flight: live.iter().map(|m| m.in_flight).sum(),
        queue_state: console.queue_state(key),
        done_per_second,
        failure_rate: last5.failure_rate(),
        p50_ms: last5.percentile(0.5),
        p95_ms: last5.percentile(0.95),
        sparkline: recent.done_per_minute(minute),
        configured: sum_limits(live.iter().map(|m| &m.report.configured)),
        effective: sum_limits(live.iter().map(|m| &m.report.effective)),
        controls,
    }
}

/// One realm of a subscription.
#[derive(Debug, Clone, Serialize)]
pub struct RealmRow {
    /// The realm.
    pub realm: String,
    /// Calls running now over the live sidecars.
    pub in_flight: u64,
    /// Counts over the window.
    #[serde(flatten)]
    pub agg: Agg,
    /// Its share of the subscription's handling time over the window.
    pub share: f64,
    /// p50 / p95 (ms).
    pub p50_ms: Option<f64>,
    /// p95 (ms).
    pub p95_ms: Option<f64>,
    /// Paused by an operator.
    pub paused: bool,
}

/// One sidecar of a subscription.
#[derive(Debug, Clone, Serialize)]
pub struct SidecarRow {
    /// Its id.
    pub sidecar: String,
    /// Host and pid.
    pub host: String,
    /// Pid.
    pub pid: u32,
    /// Service and version.
    pub service: String,
    /// `service_version`.
    pub service_version: Option<String>,
    /// Ferry's version.
    pub ferry_version: String,
    /// The console's name of its backend.
    pub backend: String,
    /// Live.
    pub live: bool,
    /// Draining.
    pub draining: bool,
    /// Worker serving.
    pub worker_serving: bool,
    /// Last beat (Unix ms).
    pub last_seen_ms: i64,
    /// Its subscriptions: name, running calls, applied limits, paused as applied.
    pub subscriptions: Vec<SidecarSubscription>,
}

/// One subscription on one sidecar.
#[derive(Debug, Clone, Serialize)]
pub struct SidecarSubscription {
    /// The name.
    pub name: String,
    /// Calls running.
    pub in_flight: u64,
    /// Limits applied.
    pub effective: Limits,
    /// Configured limits.
    pub configured: Limits,
    /// Paused as applied.
    pub paused: bool,
    /// Paused realms as applied.
    pub paused_realms: Vec<String>,
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Every sidecar (of `key` only, when given), live first, then by service and host.
pub fn sidecars(console: &Console, key: Option<&SubKey>) -> Vec<SidecarRow> {
    let now = Instant::now();
    let mut rows: Vec<SidecarRow> = console.with_fleet(|fleet| {
        fleet
            .sidecars()
            .filter(|s| {
                key.is_none_or(|k| {
                    s.backend == k.backend && s.beat.subscriptions.iter().any(|r| r.name == k.name)
                })
            })
            .map(|s| SidecarRow {
                sidecar: s.beat.sidecar.clone(),
                host: s.beat.host.clone(),
                pid: s.beat.pid,
                service: s.beat.service.clone(),
                service_version: s.beat.service_version.clone(),
                ferry_version: s.beat.ferry_version.clone(),
                backend: s.backend.clone(),
                live: fleet.is_live(s, now),
                draining: s.beat.draining,
                worker_serving: s.beat.worker_serving,
                last_seen_ms: ms(s.last_seen_at),
                subscriptions: s
                    .beat
                    .subscriptions
                    .iter()
                    .filter(|r| key.is_none_or(|k| k.name == r.name))
                    .map(|r| SidecarSubscription {
                        name: r.name.clone(),
                        in_flight: r.realms.iter().map(|x| u64::from(x.in_flight)).sum(),
                        effective: r.effective,
                        configured: r.configured,
                        paused: r.paused,
                        paused_realms: r.paused_realms.clone(),
                    })
                    .collect(),
            })
            .collect()
    });
    rows.sort_by(|a, b| {
        (!a.live, &a.service, &a.host, &a.sidecar).cmp(&(!b.live, &b.service, &b.host, &b.sidecar))
    });
    rows
}

/// One subscription in detail.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionDetail {
    /// The overview row.
    #[serde(flatten)]
    pub row: SubscriptionRow,
    /// The window in minutes.
    pub minutes: i64,
    /// Its realms, most handling time first.
    pub realms: Vec<RealmRow>,
    /// Done per minute per realm (the 8 heaviest, the rest summed as `(others)`).
    pub series: Series,
    /// Its sidecars.
    pub sidecars: Vec<SidecarRow>,
}

/// Per-minute series for a chart.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Series {
    /// The minutes (Unix seconds of each minute's start).
    pub times: Vec<i64>,
    /// One line per realm: its name and a value per minute.
    pub lines: Vec<(String, Vec<u64>)>,
}

/// The heaviest realms that get a line of their own in a chart.
const CHART_REALMS: usize = 8;

/// Subscription `key` over the last `minutes`; `None` when no sidecar has it.
pub async fn subscription(
    console: &Console,
    key: &SubKey,
    minutes: i64,
) -> Result<Option<SubscriptionDetail>, String> {
    let Some(row) = subscriptions(console)
        .into_iter()
        .find(|r| r.backend == key.backend && r.name == key.name)
    else {
        return Ok(None);
    };
    let now_minute = minute_of(SystemTime::now());
    let since = now_minute - minutes + 1;
    let (k1, k2) = (key.clone(), key.clone());
    let totals = console
        .store
        .call(move |c| store::realm_totals(c, &k1, since))
        .await?;
    let points = console
        .store
        .call(move |c| store::realm_series(c, &k2, since))
        .await?;
    let mut in_flight: BTreeMap<String, u64> = BTreeMap::new();
    console.with_fleet(|fleet| {
        let now = Instant::now();
        for s in fleet
            .sidecars()
            .filter(|s| s.backend == key.backend && fleet.is_live(s, now))
        {
            for r in s.beat.subscriptions.iter().filter(|r| r.name == key.name) {
                for realm in &r.realms {
                    *in_flight.entry(realm.realm.clone()).or_default() +=
                        u64::from(realm.in_flight);
                }
            }
        }
    });
    let total_ms: u64 = totals.iter().map(|(_, a)| a.handling_ms).sum();
    let mut realms: Vec<RealmRow> = totals
        .iter()
        .map(|(realm, a)| RealmRow {
            realm: realm.clone(),
            in_flight: in_flight.remove(realm).unwrap_or(0),
            agg: *a,
            #[allow(clippy::cast_precision_loss)]
            share: if total_ms == 0 {
                0.0
            } else {
                a.handling_ms as f64 / total_ms as f64
            },
            p50_ms: a.percentile(0.5),
            p95_ms: a.percentile(0.95),
            paused: row.controls.paused_realms.contains_key(realm),
        })
        .collect();
    // Realms running now that settled nothing in the window, and paused ones.
    let mut idle: Vec<String> = in_flight.keys().cloned().collect();
    idle.extend(row.controls.paused_realms.keys().cloned());
    idle.sort();
    idle.dedup();
    for realm in idle {
        if realms.iter().any(|r| r.realm == realm) {
            continue;
        }
        realms.push(RealmRow {
            in_flight: in_flight.get(&realm).copied().unwrap_or(0),
            agg: Agg::default(),
            share: 0.0,
            p50_ms: None,
            p95_ms: None,
            paused: row.controls.paused_realms.contains_key(&realm),
            realm,
        });
    }
    let heavy: Vec<String> = realms
        .iter()
        .take(CHART_REALMS)
        .map(|r| r.realm.clone())
        .collect();
    let times: Vec<i64> = (since..=now_minute).map(|m| m * 60).collect();
    let width = times.len();
    let mut lines: Vec<(String, Vec<u64>)> =
        heavy.iter().map(|r| (r.clone(), vec![0; width])).collect();
    let mut others = vec![0; width];
    let mut has_others = false;
    for (minute, realm, done) in points {
        let Ok(i) = usize::try_from(minute - since) else {
            continue;
        };
        if i >= width {
            continue;
        }
        match heavy.iter().position(|r| *r == realm) {
            Some(line) => lines[line].1[i] += done,
            None => {
                others[i] += done;
                has_others = true;
            }
        }
    }
    if has_others {
        lines.push(("(others)".to_owned(), others));
    }
    Ok(Some(SubscriptionDetail {
        sidecars: sidecars(console, Some(key)),
        row,
        minutes,
        realms,
        series: Series { times, lines },
    }))
}

/// One realm across the fleet.
#[derive(Debug, Clone, Serialize)]
pub struct RealmDetail {
    /// The realm.
    pub realm: String,
    /// The window in minutes.
    pub minutes: i64,
    /// Per subscription: counts, running now, paused.
    pub subscriptions: Vec<RealmInSubscription>,
}

/// One realm on one subscription.
#[derive(Debug, Clone, Serialize)]
pub struct RealmInSubscription {
    /// The backend.
    pub backend: String,
    /// The subscription.
    pub name: String,
    /// Counts over the window.
    #[serde(flatten)]
    pub agg: Agg,
    /// Calls running now.
    pub in_flight: u64,
    /// p95 (ms).
    pub p95_ms: Option<f64>,
    /// Paused on this subscription.
    pub paused: bool,
}

/// Realm `realm` across every subscription over the last `minutes`.
pub async fn realm(console: &Console, realm: &str, minutes: i64) -> Result<RealmDetail, String> {
    let since = minute_of(SystemTime::now()) - minutes + 1;
    let r = realm.to_owned();
    let totals = console
        .store
        .call(move |c| store::realm_across(c, &r, since))
        .await?;
    let controls = console.controls();
    let mut running: BTreeMap<SubKey, u64> = BTreeMap::new();
    console.with_fleet(|fleet| {
        let now = Instant::now();
        for s in fleet.sidecars().filter(|s| fleet.is_live(s, now)) {
            for sub in &s.beat.subscriptions {
                for x in sub.realms.iter().filter(|x| x.realm == realm) {
                    *running
                        .entry(SubKey {
                            backend: s.backend.clone(),
                            name: sub.name.clone(),
                        })
                        .or_default() += u64::from(x.in_flight);
                }
            }
        }
    });
    let mut keys: Vec<(SubKey, Agg)> = totals;
    for key in running.keys() {
        if !keys.iter().any(|(k, _)| k == key) {
            keys.push((key.clone(), Agg::default()));
        }
    }
    for (key, c) in &controls {
        if c.paused_realms.contains_key(realm) && !keys.iter().any(|(k, _)| k == key) {
            keys.push((key.clone(), Agg::default()));
        }
    }
    Ok(RealmDetail {
        realm: realm.to_owned(),
        minutes,
        subscriptions: keys
            .into_iter()
            .map(|(key, agg)| RealmInSubscription {
                in_flight: running.get(&key).copied().unwrap_or(0),
                p95_ms: agg.percentile(0.95),
                paused: controls
                    .get(&key)
                    .is_some_and(|c| c.paused_realms.contains_key(realm)),
                backend: key.backend,
                name: key.name,
                agg,
            })
            .collect(),
    })
}
