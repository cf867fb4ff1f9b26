//! [`Fleet`]: the sidecars the console knows, from their heartbeats, and how a fleet-wide
//! limit is divided among the live ones ([`share`]): 10 per realm over 4 sidecars is 3,
//! 3, 2, 2 (the first sidecars by id get the remainder), divided again whenever a sidecar
//! comes or goes, so the sum over the live sidecars never exceeds the limit.
//!
//! A sidecar is live while it beats: stale once it missed `stale_after` beats in a row
//! (or said it is draining), forgotten after `forget_after`. The registry is bounded
//! (`max_sidecars`): a new sidecar takes the place of the longest-silent stale one, and
//! is refused when every place is held by a live one. Pure state, no I/O: time is passed
//! in.

use std::{
    collections::HashMap,
    time::{Duration, Instant, SystemTime},
};

use super::config::{MaxSidecars, StaleAfter};
use crate::control::wire::Heartbeat;

/// A subscription of the fleet: the backend (the console's name for it) and the
/// subscription's name. Sidecars with the same key share its limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubKey {
    /// The backend's name (`[backends.<name>]`, or `<kind>~<hash>` when not configured).
    pub backend: String,
    /// The subscription's name.
    pub name: String,
}

impl std::fmt::Display for SubKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.backend, self.name)
    }
}

/// One sidecar as last heard.
#[derive(Debug, Clone)]
pub struct Sidecar {
    /// Its last heartbeat, without the counts (which went into the rollups).
    pub beat: Heartbeat,
    /// The console's name of its backend.
    pub backend: String,
    /// When its last heartbeat came.
    pub last_seen: Instant,
    /// The same, as wall-clock time.
    pub last_seen_at: SystemTime,
    /// When it was first heard.
    pub first_seen_at: SystemTime,
}

impl Sidecar {
    /// Whether it is live at `now`: beat within `stale_after` of its intervals, and not
    /// draining.
    pub fn is_live(&self, now: Instant, stale_after: u32) -> bool {
        let interval = Duration::from_millis(self.beat.interval_ms.max(100));
        !self.beat.draining
            && now.saturating_duration_since(self.last_seen) <= interval * stale_after
    }
}

/// A heartbeat the registry has no room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Every sidecar the console knows.
#[derive(Debug)]
pub struct Fleet {
    sidecars: HashMap<String, Sidecar>,
    max_sidecars: usize,
    stale_after: u32,
    forget_after: Duration,
}

impl Fleet {
    /// An empty fleet with these bounds.
    pub fn new(max_sidecars: MaxSidecars, stale_after: StaleAfter, forget_after: Duration) -> Self {
        Self {
            sidecars: HashMap::new(),
            max_sidecars: max_sidecars.usize(),
            stale_after: stale_after.get(),
            forget_after,
        }
    }

    /// Records `beat` (counts already taken out) from a sidecar of `backend` at `now`.
    pub fn record(
        &mut self,
        backend: String,
        beat: Heartbeat,
        now: Instant,
        wall: SystemTime,
    ) -> Result<(), Full> {
        if let Some(s) = self.sidecars.get_mut(&beat.sidecar) {
            s.beat = beat;
            s.backend = backend;
            s.last_seen = now;
            s.last_seen_at = wall;
            return Ok(());
        }
        if self.sidecars.len() >= self.max_sidecars {
            self.forget(now);
        }
        if self.sidecars.len() >= self.max_sidecars {
            let oldest_stale = self
                .sidecars
                .values()
                .filter(|s| !s.is_live(now, self.stale_after))
                .min_by_key(|s| s.last_seen)
                .map(|s| s.beat.sidecar.clone());
            match oldest_stale {
                Some(id) => {
                    self.sidecars.remove(&id);
                }
                None => return Err(Full),
            }
        }
        self.sidecars.insert(
            beat.sidecar.clone(),
            Sidecar {
                beat,
                backend,
                last_seen: now,
                last_seen_at: wall,
                first_seen_at: wall,
            },
        );
        Ok(())
    }

    /// Forgets the sidecars silent for longer than `forget_after`.
    pub fn forget(&mut self, now: Instant) {
        let forget_after = self.forget_after;
        self.sidecars
            .retain(|_, s| now.saturating_duration_since(s.last_seen) <= forget_after);
    }

    /// Whether `sidecar` is live at `now`.
    pub fn is_live(&self, sidecar: &Sidecar, now: Instant) -> bool {
        sidecar.is_live(now, self.stale_after)
    }

    /// Every sidecar.
    pub fn sidecars(&self) -> impl Iterator<Item = &Sidecar> {
        self.sidecars.values()
    }

    /// One sidecar.
    pub fn get(&self, id: &str) -> Option<&Sidecar> {
        self.sidecars.get(id)
    }

    /// The ids of the live sidecars of `key`, sorted (the order shares are given in).
    pub fn live_of(&self, key: &SubKey, now: Instant) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .sidecars
            .values()
            .filter(|s| {
                s.backend == key.backend
                    && s.is_live(now, self.stale_after)
                    && s.beat.subscriptions.iter().any(|r| r.name == key.name)
            })
            .map(|s| s.beat.sidecar.as_str())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// How many sidecars are tracked.
    pub fn len(&self) -> usize {
        self.sidecars.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.sidecars.is_empty()
    }
}

/// The share of `total` of the sidecar at `index` among `count` live sidecars: `total /
/// count`, plus one for the first `total % count`. A sidecar that is not among them
/// (`index >= count`) gets nothing.
pub fn share(total: u32, count: usize, index: usize) -> u32 {
    let Ok(count) = u32::try_from(count) else {
        return 0;
    };
    let Ok(index) = u32::try_from(index) else {
        return 0;
    };
    if count == 0 || index >= count {
        return 0;
    }
    total / count + u32::from(index < total % count)
}

/// The share of a rate: an equal part.
pub fn share_rate(total: f64, count: usize) -> f64 {
    if count == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = count as f64;
    total / n
}
