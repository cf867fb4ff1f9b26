//! [`Agg`]: what a subscription × realm settled in one minute (done, retried,
//! dead-lettered, handling time and its histogram), summed from heartbeats; percentiles
//! from the histogram ([`Agg::percentile`]); and [`Recent`], the last hour per
//! subscription in memory, which the overview reads without touching SQLite.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::control::wire::{BUCKET_COUNT, BUCKETS_MS, RealmReport};

/// The minutes [`Recent`] keeps.
pub const RECENT_MINUTES: usize = 60;

/// Counts of one minute (or any span).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Agg {
    /// Done.
    pub done: u64,
    /// Retried.
    pub retried: u64,
    /// Dead-lettered.
    pub dead_lettered: u64,
    /// Milliseconds in `Handle`.
    pub handling_ms: u64,
    /// Handling times by bucket.
    pub histogram: [u64; BUCKET_COUNT],
}

impl Agg {
    /// The counts of one realm report.
    pub fn of(r: &RealmReport) -> Self {
        let mut histogram = [0; BUCKET_COUNT];
        for (slot, n) in histogram.iter_mut().zip(&r.histogram) {
            *slot = *n;
        }
        Self {
            done: r.done,
            retried: r.retried,
            dead_lettered: r.dead_lettered,
            handling_ms: r.handling_ms,
            histogram,
        }
    }

    /// Adds `other`.
    pub fn add(&mut self, other: &Self) {
        self.done += other.done;
        self.retried += other.retried;
        self.dead_lettered += other.dead_lettered;
        self.handling_ms += other.handling_ms;
        for (a, b) in self.histogram.iter_mut().zip(other.histogram) {
            *a += b;
        }
    }

    /// Settled messages.
    pub fn settled(&self) -> u64 {
        self.done + self.retried + self.dead_lettered
    }

    /// Retried and dead-lettered over settled; `None` when nothing settled.
    pub fn failure_rate(&self) -> Option<f64> {
        let settled = self.settled();
        #[allow(clippy::cast_precision_loss)]
        (settled > 0).then(|| (self.retried + self.dead_lettered) as f64 / settled as f64)
    }

    /// The `q` quantile (0..1) of the handling time in milliseconds, interpolated within
    /// its bucket; the last bucket reports its lower bound. `None` without data.
    #[allow(clippy::cast_precision_loss)]
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let total: u64 = self.histogram.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut seen = 0u64;
        for (i, &n) in self.histogram.iter().enumerate() {
            if n == 0 {
                continue;
            }
            if (seen + n) as f64 >= rank {
                let lower = if i == 0 {
                    0.0
                } else {
                    BUCKETS_MS[i - 1] as f64
                };
                let Some(&upper) = BUCKETS_MS.get(i) else {
                    return Some(lower);
                };
                let within = (rank - seen as f64) / n as f64;
                return Some(lower + within.clamp(0.0, 1.0) * (upper as f64 - lower));
            }
            seen += n;
        }
        BUCKETS_MS.last().map(|&l| l as f64)
    }
}

/// The last [`RECENT_MINUTES`] minutes of one subscription, all realms summed, by
/// minute (Unix minutes).
#[derive(Debug, Clone, Default)]
pub struct Recent {
    minutes: VecDeque<(i64, Agg)>,
}

impl Recent {
    /// Adds `agg` to `minute`.
    pub fn add(&mut self, minute: i64, agg: &Agg) {
        match self.minutes.iter_mut().find(|(m, _)| *m == minute) {
            Some((_, a)) => a.add(agg),
            None => {
                self.minutes.push_back((minute, *agg));
                self.minutes.make_contiguous().sort_by_key(|(m, _)| *m);
            }
        }
        while self.minutes.len() > RECENT_MINUTES {
            self.minutes.pop_front();
        }
    }

    /// The sum over the minutes from `since` (inclusive).
    pub fn since(&self, since: i64) -> Agg {
        let mut sum = Agg::default();
        for (_, a) in self.minutes.iter().filter(|(m, _)| *m >= since) {
            sum.add(a);
        }
        sum
    }

    /// Done per minute for the [`RECENT_MINUTES`] minutes up to `now` (oldest first).
    pub fn done_per_minute(&self, now: i64) -> Vec<u64> {
        let by: BTreeMap<i64, u64> = self.minutes.iter().map(|(m, a)| (*m, a.done)).collect();
        let first = now - i64::try_from(RECENT_MINUTES).unwrap_or(60) + 1;
        (first..=now)
            .map(|m| by.get(&m).copied().unwrap_or(0))
            .collect()
    }
}
