//! [`Console`]: the console's state — the fleet from heartbeats, the controls, the last
//! hour of counts in memory, the counts waiting to be written, the queue counts last read
//! — and what changes it: a heartbeat ([`Console::heartbeat`]), and the two background
//! tasks ([`Console::run_tasks`]) that write rollups and read queue counts.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{
        Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use tokio_util::sync::CancellationToken;

use super::{
    controls::FleetControls,
    fleet::{Fleet, Full, SubKey},
    queues::{Backends, QueueState, read_state},
    rollup::{Agg, Recent},
    store::{self, Store},
    story::StorySource,
};
use crate::control::wire::{Heartbeat, HeartbeatReply, RealmReport, SubscriptionReport};

/// The realm that stands for every realm past `max_realms`.
pub use crate::telemetry::metrics::OTHER_REALM;

/// Settings the console applies.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The operators' token.
    pub token: Option<String>,
    /// The sidecars' token.
    pub sidecar_token: Option<String>,
    /// Refuse every change.
    pub read_only: bool,
    /// Realms per subscription with rows of their own.
    pub max_realms: usize,
    /// The largest heartbeat body.
    pub max_heartbeat_bytes: usize,
    /// How long rollups are kept.
    pub retention: Duration,
    /// How often queue counts are read.
    pub queue_refresh: Duration,
}

/// The console.
pub struct Console {
    /// What it applies.
    pub settings: Settings,
    fleet: Mutex<Fleet>,
    controls: Mutex<BTreeMap<SubKey, FleetControls>>,
    recent: Mutex<HashMap<SubKey, Recent>>,
    pending: Mutex<HashMap<(SubKey, String, i64), Agg>>,
    realms: Mutex<HashMap<SubKey, HashSet<String>>>,
    queues: Mutex<HashMap<SubKey, QueueState>>,
    /// The backends queue state is read from.
    pub backends: Backends,
    /// The state file.
    pub store: Store,
    /// Where message stories come from.
    pub story: StorySource,
    refused: AtomicU64,
}

/// Why a heartbeat was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeatRefused {
    /// `max_sidecars` live sidecars are tracked already.
    Full,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The Unix minute of `t`.
pub fn minute_of(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs() / 60).unwrap_or(i64::MAX))
}

impl Console {
    /// A console with `settings`, its `fleet` bounds, its state file, backends and story
    /// source; the controls saved in the file apply again.
    pub async fn new(
        settings: Settings,
        fleet: Fleet,
        store: Store,
        backends: Backends,
        story: StorySource,
    ) -> Result<Self, String> {
        let controls = store.call(store::load_controls).await?;
        Ok(Self {
            settings,
            fleet: Mutex::new(fleet),
            controls: Mutex::new(controls),
            recent: Mutex::default(),
            pending: Mutex::default(),
            realms: Mutex::default(),
            queues: Mutex::default(),
            backends,
            store,
            story,
            refused: AtomicU64::new(0),
        })
    }

    /// Takes one heartbeat: records the sidecar, adds its counts, answers its controls.
    pub fn heartbeat(&self, mut beat: Heartbeat) -> Result<HeartbeatReply, BeatRefused> {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let backend = self.backends.resolve(&beat.backend);
        let counts: Vec<(String, Vec<RealmReport>)> = beat
            .subscriptions
            .iter_mut()
            .map(|s| {
                let realms = std::mem::take(&mut s.realms);
                // What stays with the sidecar: the calls running per realm.
                s.realms = realms
                    .iter()
                    .filter(|r| r.in_flight > 0)
                    .map(|r| RealmReport {
                        realm: r.realm.clone(),
                        in_flight: r.in_flight,
                        ..RealmReport::default()
                    })
                    .collect();
                (s.name.clone(), realms)
            })
            .collect();
        let sidecar = beat.sidecar.clone();
        let names: Vec<String> = beat.subscriptions.iter().map(|s| s.name.clone()).collect();
        if lock(&self.fleet)
            .record(backend.clone(), beat, now, wall)
            .is_err()
        {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(BeatRefused::Full);
        }
        self.add_counts(&backend, minute_of(wall), counts);
        let fleet = lock(&self.fleet);
        let controls = lock(&self.controls);
        let mut reply = HeartbeatReply::default();
        for name in names {
            let key = SubKey {
                backend: backend.clone(),
                name: name.clone(),
            };
            let Some(c) = controls.get(&key) else {
                continue;
            };
            let live = fleet.live_of(&key, now);
            let index = live
                .iter()
                .position(|id| *id == sidecar)
                .unwrap_or(live.len());
            reply
                .controls
                .insert(name, c.for_sidecar(index, live.len()));
        }
        Ok(reply)
    }

    /// Heartbeats refused for lack of room.
    pub fn refused_beats(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn add_counts(&self, backend: &str, minute: i64, counts: Vec<(String, Vec<RealmReport>)>) {
        let mut realms_seen = lock(&self.realms);
        let mut pending = lock(&self.pending);
        let mut recent = lock(&self.recent);
        for (name, realms) in counts {
            let key = SubKey {
                backend: backend.to_owned(),
                name,
            };
            let seen = realms_seen.entry(key.clone()).or_default();
            let mut sum = Agg::default();
            for r in realms {
                let agg = Agg::of(&r);
                if agg.settled() == 0 {
                    continue;
                }
                let realm = if seen.contains(&r.realm) || seen.len() < self.settings.max_realms {
                    seen.insert(r.realm.clone());
                    r.realm
                } else {
                    OTHER_REALM.to_owned()
                };
                sum.add(&agg);
                pending
                    .entry((key.clone(), realm, minute))
                    .or_default()
                    .add(&agg);
            }
            if sum.settled() > 0 {
                recent.entry(key).or_default().add(minute, &sum);
            }
        }
    }

    /// Runs `f` on the fleet.
    pub fn with_fleet<T>(&self, f: impl FnOnce(&Fleet) -> T) -> T {
        f(&lock(&self.fleet))
    }

    /// The controls of every subscription.
    pub fn controls(&self) -> BTreeMap<SubKey, FleetControls> {
        lock(&self.controls).clone()
    }

    /// Changes the controls of `key` with `change` and saves them; returns the new ones.
    pub async fn change_controls(
        &self,
        key: &SubKey,
        change: impl FnOnce(&mut FleetControls),
    ) -> Result<FleetControls, String> {
        let updated = {
            let mut all = lock(&self.controls);
            let c = all.entry(key.clone()).or_default();
            change(c);
            let updated = c.clone();
            if updated.is_empty() {
                all.remove(key);
            }
            updated
        };
        let (k, saved) = (key.clone(), updated.clone());
        self.store
            .call(move |c| store::save_controls(c, &k, &saved))
            .await?;
        Ok(updated)
    }

    /// The last hour of `key` in memory.
    pub fn recent(&self, key: &SubKey) -> Recent {
        lock(&self.recent).get(key).cloned().unwrap_or_default()
    }

    /// The queue counts of `key` as last read.
    pub fn queue_state(&self, key: &SubKey) -> Option<QueueState> {
        lock(&self.queues).get(key).cloned()
    }

    /// The freshest report of subscription `key` (its queues, limits), if a sidecar has it.
    pub fn report_of(&self, key: &SubKey) -> Option<SubscriptionReport> {
        let fleet = lock(&self.fleet);
        fleet
            .sidecars()
            .filter(|s| s.backend == key.backend)
            .filter_map(|s| {
                let r = s.beat.subscriptions.iter().find(|r| r.name == key.name)?;
                Some((s.last_seen, r))
            })
            .max_by_key(|(seen, _)| *seen)
            .map(|(_, r)| r.clone())
    }

    /// Writes the counts waiting, then forgets sidecars silent too long.
    pub async fn flush(&self) -> Result<(), String> {
        let rows: Vec<store::Row> = lock(&self.pending)
            .drain()
            .map(|((key, realm, minute), agg)| (key, realm, minute, agg))
            .collect();
        lock(&self.fleet).forget(Instant::now());
        if rows.is_empty() {
            return Ok(());
        }
        self.store
            .call(move |c| store::write_rollups(c, &rows))
            .await
    }

    /// Reads the queue counts of every subscription of the fleet on a configured backend.
    pub async fn refresh_queues(&self) {
        let mut keys: Vec<SubKey> = self.with_fleet(|f| {
            f.sidecars()
                .flat_map(|s| {
                    s.beat.subscriptions.iter().map(|r| SubKey {
                        backend: s.backend.clone(),
                        name: r.name.clone(),
                    })
                })
                .collect()
        });
        keys.sort();
        keys.dedup();
        for key in keys {
            let (Some(entry), Some(report)) =
                (self.backends.get(&key.backend), self.report_of(&key))
            else {
                continue;
            };
            let state = read_state(
                entry.backend.as_ref(),
                report.queue.as_deref(),
                report.queue_prefix.as_deref(),
                &report.error_queue,
            )
            .await;
            lock(&self.queues).insert(key, state);
        }
    }

    /// Deletes the rollups older than the retention at `now` (whole minutes: the minute
    /// exactly `retention` ago is kept); how many rows went.
    pub async fn prune(&self, now: SystemTime) -> Result<usize, String> {
        let keep = i64::try_from(self.settings.retention.as_secs() / 60).unwrap_or(i64::MAX);
        let before = minute_of(now).saturating_sub(keep);
        self.store.call(move |c| store::prune(c, before)).await
    }

    /// Writes rollups every 5 s (pruning past the retention at start and every hour) and reads queue
    /// counts every `queue_refresh`, until `stop`; then writes what is left.
    pub async fn run_tasks(&self, stop: CancellationToken) {
        let mut flush = tokio::time::interval(Duration::from_secs(5));
        let mut queues = tokio::time::interval(self.settings.queue_refresh);
        let mut prune = tokio::time::interval(Duration::from_secs(3600));
        for t in [&mut flush, &mut queues, &mut prune] {
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        loop {
            tokio::select! {
                _ = flush.tick() => {
                    if let Err(e) = self.flush().await {
                        eprintln!("ferry console: {e}");
                    }
                }
                _ = queues.tick() => self.refresh_queues().await,
                _ = prune.tick() => {
                    if let Err(e) = self.prune(SystemTime::now()).await {
                        eprintln!("ferry console: {e}");
                    }
                }
                () = stop.cancelled() => break,
            }
        }
        if let Err(e) = self.flush().await {
            eprintln!("ferry console: {e}");
        }
    }
}

impl From<Full> for BeatRefused {
    fn from(_: Full) -> Self {
        Self::Full
    }
}
