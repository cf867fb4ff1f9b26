//! [`Tally`]: what each subscription × realm settled since the last heartbeat — done,
//! retried and dead-lettered counts, handling time and its histogram — counted on the
//! message hot path and taken (snapshot and reset) once per beat.
//!
//! Cost per settled message while a console is set: one uncontended read of a
//! reader-writer lock, two hash lookups (subscription, realm) and three relaxed atomic
//! additions; nothing is allocated after a realm's first message. With no console it is
//! one relaxed load of a flag. The realms of a subscription are bounded like the metrics'
//! (`metrics.max_realms`): the rest count as `_other`. A snapshot takes the lock for
//! writing once per beat and forgets the realms that had nothing to report, so realms that
//! come and go do not pin the bound.

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use super::wire::{BUCKET_COUNT, BUCKETS_MS, RealmReport};
use crate::telemetry::metrics::OTHER_REALM;

/// The counters of one subscription × realm.
#[derive(Debug, Default)]
struct Cell {
    done: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    handling_ms: AtomicU64,
    histogram: [AtomicU64; BUCKET_COUNT],
}

/// The bucket of a handling time.
fn bucket(d: Duration) -> usize {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    BUCKETS_MS.partition_point(|&upper| upper < ms)
}

impl Cell {
    fn handled(&self, d: Duration) {
        self.handling_ms
            .fetch_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX), Relaxed);
        self.histogram[bucket(d)].fetch_add(1, Relaxed);
    }

    /// Takes the counts (resetting them); `None` when there were none.
    fn take(&self, realm: &str) -> Option<RealmReport> {
        let report = RealmReport {
            realm: realm.to_owned(),
            in_flight: 0,
            done: self.done.swap(0, Relaxed),
            retried: self.retried.swap(0, Relaxed),
            dead_lettered: self.dead_lettered.swap(0, Relaxed),
            handling_ms: self.handling_ms.swap(0, Relaxed),
            histogram: self.histogram.iter().map(|b| b.swap(0, Relaxed)).collect(),
        };
        let empty = report.done == 0 && report.retried == 0 && report.dead_lettered == 0;
        (!empty).then(|| RealmReport {
            histogram: if report.histogram.iter().all(|&n| n == 0) {
                Vec::new()
            } else {
                report.histogram.clone()
            },
            ..report
        })
    }
}

type Realms = HashMap<Box<str>, Arc<Cell>>;

/// Counts per subscription × realm since the last [`Tally::take`].
#[derive(Debug)]
pub struct Tally {
    enabled: AtomicBool,
    max_realms: usize,
    subs: RwLock<HashMap<Box<str>, Realms>>,
}

/// What a settled message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Done and acked.
    Done,
    /// Returned for a retry.
    Retried,
    /// Moved to the error queue.
    DeadLettered,
}

impl Tally {
    /// A tally (off until [`Tally::enable`]) with at most `max_realms` realms per
    /// subscription.
    pub fn new(max_realms: NonZeroUsize) -> Self {
        Self {
            enabled: AtomicBool::new(false),
            max_realms: max_realms.get(),
            subs: RwLock::default(),
        }
    }

    /// Starts counting (a console is configured).
    pub fn enable(&self) {
        self.enabled.store(true, Relaxed);
    }

    /// Counts one settled message of `subscription` and `realm`; `took` is its handling
    /// time (`None` for a dead letter that never reached the worker's answer).
    pub fn settled(&self, subscription: &str, realm: &str, what: Settled, took: Option<Duration>) {
        if !self.enabled.load(Relaxed) {
            return;
        }
        let count = |cell: &Cell| {
            match what {
                Settled::Done => cell.done.fetch_add(1, Relaxed),
                Settled::Retried => cell.retried.fetch_add(1, Relaxed),
                Settled::DeadLettered => cell.dead_lettered.fetch_add(1, Relaxed),
            };
            if let Some(d) = took {
                cell.handled(d);
            }
        };
        {
            let subs = self.subs.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(cell) = subs.get(subscription).and_then(|r| r.get(realm)) {
                count(cell);
                return;
            }
        }
        let mut subs = self.subs.write().unwrap_or_else(PoisonError::into_inner);
        let realms = subs.entry(subscription.into()).or_default();
        let key: &str = if realms.contains_key(realm) || realms.len() < self.max_realms {
            realm
        } else {
            OTHER_REALM
        };
        count(realms.entry(key.into()).or_default());
    }

    /// Takes the counts of `subscription` since the last take, one report per realm that
    /// settled something; forgets the realms that did not.
    pub fn take(&self, subscription: &str) -> Vec<RealmReport> {
        let mut subs = self.subs.write().unwrap_or_else(PoisonError::into_inner);
        let Some(realms) = subs.get_mut(subscription) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        realms.retain(|realm, cell| match cell.take(realm) {
            Some(report) => {
                out.push(report);
                true
            }
            None => false,
        });
        out.sort_by(|a, b| a.realm.cmp(&b.realm));
        out
    }
}

/// Adds `more` into `into` (counts carried over from a beat the console did not answer).
pub fn merge(into: &mut Vec<RealmReport>, more: Vec<RealmReport>) {
    for m in more {
        match into.iter_mut().find(|r| r.realm == m.realm) {
            Some(r) => {
                r.done += m.done;
                r.retried += m.retried;
                r.dead_lettered += m.dead_lettered;
                r.handling_ms += m.handling_ms;
                if r.histogram.is_empty() {
                    r.histogram = m.histogram;
                } else {
                    for (a, b) in r.histogram.iter_mut().zip(m.histogram) {
                        *a += b;
                    }
                }
            }
            None => into.push(m),
        }
    }
}
