//! [`Applied`]: the console's controls of one subscription as dispatch consults them. The
//! poller waits in [`Applied::running`] while the subscription is paused; admission asks
//! [`Applied::realm_paused`], [`Applied::per_realm`] and [`Applied::rate`] per message or
//! per receive (atomics, and a lock only while some realm is paused), and a follower task
//! resizes the in-flight semaphore when `max_in_flight` is overridden.
//!
//! Without a console ([`Applied::none`]) every answer is the configured one and nothing
//! runs. With one, the sidecar keeps the last controls it was given while the console is
//! away (they change only when a beat is answered).

use std::{
    collections::BTreeSet,
    num::{NonZeroU32, NonZeroUsize},
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed},
    },
    time::Duration,
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, watch};

use super::wire::SubscriptionControls;
use crate::bounded::Rate;

/// No per-realm override.
const NONE: u32 = u32::MAX;

/// A rate limiter shared between the admission and the follower that replaces it.
pub type Limiter = Arc<DefaultDirectRateLimiter>;

#[derive(Debug)]
struct State {
    any_realm_paused: AtomicBool,
    paused_realms: RwLock<BTreeSet<String>>,
    per_realm: AtomicU32,
    rate_override: AtomicBool,
    rate: RwLock<Option<Limiter>>,
    batch: AtomicUsize,
    capacity: AtomicUsize,
    /// The follower waits for permits to take out (`max_in_flight` lowered).
    shrinking: AtomicBool,
}

/// The controls one subscription's dispatch consults.
#[derive(Debug, Clone)]
pub struct Applied {
    rx: Option<watch::Receiver<Arc<SubscriptionControls>>>,
    paused_realm_delay: Duration,
    state: Arc<State>,
}

/// Why a message was not admitted for its realm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The realm is at its limit.
    Busy,
    /// The console paused the realm; hand it back for this long.
    Paused(Duration),
}

impl Refused {
    /// The hand-back reason (`message.handed_back`'s `ferry.hand_back_reason`).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Busy => "realm_busy",
            Self::Paused(_) => "realm_paused",
        }
    }
}

/// A limiter of `rate` that allows bursts of a tenth of a second's worth (at least 1, at
/// most `batch`), and that burst: the configured rate's and the console's alike.
pub fn limiter(rate: Rate, batch: NonZeroUsize) -> (DefaultDirectRateLimiter, NonZeroUsize) {
    let tenth = (rate.per_second() / 10.0).ceil();
    // A rate is at most a million per second, so a tenth of it fits; it is at least 1.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let burst = NonZeroUsize::new(tenth as usize).map_or(NonZeroUsize::MIN, |b| b.min(batch));
    let burst_u32 = NonZeroU32::try_from(burst).unwrap_or(NonZeroU32::MAX);
    // A rate's period is at least a microsecond, never zero.
    let quota = Quota::with_period(rate.period())
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst_u32);
    (RateLimiter::direct(quota), burst)
}

impl Applied {
    /// No console: the configured limits only.
    pub fn none() -> Self {
        Self {
            rx: None,
            paused_realm_delay: Duration::ZERO,
            state: Arc::new(State {
                any_realm_paused: AtomicBool::new(false),
                paused_realms: RwLock::default(),
                per_realm: AtomicU32::new(NONE),
                rate_override: AtomicBool::new(false),
                rate: RwLock::new(None),
                batch: AtomicUsize::new(0),
                capacity: AtomicUsize::new(0),
                shrinking: AtomicBool::new(false),
            }),
        }
    }

    /// Controls that follow `rx`; a paused realm's messages are handed back for
    /// `paused_realm_delay`.
    pub fn following(
        rx: watch::Receiver<Arc<SubscriptionControls>>,
        paused_realm_delay: Duration,
    ) -> Self {
        Self {
            rx: Some(rx),
            paused_realm_delay,
            ..Self::none()
        }
    }

    /// Whether a lowered `max_in_flight` waits for permits: room held for a receive should
    /// be given back so that the follower can take it out.
    pub fn shrinking(&self) -> bool {
        self.state.shrinking.load(Relaxed)
    }

    /// Starts following the controls: applies the current ones and spawns the task that
    /// applies every change, resizing `slots` (which holds `configured_max` permits) for a
    /// `max_in_flight` override. `batch` is the configured most per receive. Needs a tokio
    /// runtime; does nothing without a console.
    pub fn start(&self, slots: &Arc<Semaphore>, configured_max: usize, batch: NonZeroUsize) {
        let Some(rx) = self.rx.clone() else {
            return;
        };
        self.state.capacity.store(configured_max, Relaxed);
        tokio::spawn(follow(
            rx,
            self.state.clone(),
            slots.clone(),
            configured_max,
            batch,
        ));
    }

    /// Waits while the console has the subscription paused (at once without a console).
    pub async fn running(&self) {
        if let Some(rx) = &self.rx {
            let mut rx = rx.clone();
            // An error means the controls are gone (ferry is stopping): run as configured.
            let _ = rx.wait_for(|c| !c.paused).await;
        }
    }

    /// Whether the console has the subscription paused now.
    pub fn paused(&self) -> bool {
        self.rx.as_ref().is_some_and(|rx| rx.borrow().paused)
    }

    /// `Some` when the console paused `realm` (hand its message back for that long).
    pub fn realm_paused(&self, realm: &str) -> Option<Refused> {
        if !self.state.any_realm_paused.load(Relaxed) {
            return None;
        }
        let paused = self
            .state
            .paused_realms
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        paused
            .contains(realm)
            .then_some(Refused::Paused(self.paused_realm_delay))
    }

    /// The per-realm limit: the console's share if it set one, else `configured`.
    pub fn per_realm(&self, configured: Option<u32>) -> Option<u32> {
        match self.state.per_realm.load(Relaxed) {
            NONE => configured,
            n => Some(n),
        }
    }

    /// The console's rate limiter, if it set a rate (else use the configured one).
    pub fn rate(&self) -> Option<Limiter> {
        if !self.state.rate_override.load(Relaxed) {
            return None;
        }
        self.state
            .rate
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The most room one receive holds under the console's rate, if it set one.
    pub fn batch(&self) -> Option<usize> {
        match self.state.batch.load(Relaxed) {
            0 => None,
            n => Some(n),
        }
    }

    /// The in-flight capacity applied now (the configured one without an override).
    pub fn capacity(&self) -> Option<usize> {
        self.rx.as_ref()?;
        Some(self.state.capacity.load(Relaxed))
    }

    /// The realms paused now, as applied.
    pub fn paused_realms(&self) -> Vec<String> {
        self.state
            .paused_realms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// Applies `c` to the atomics admission reads.
fn apply(state: &State, c: &SubscriptionControls, batch: NonZeroUsize) {
    {
        let mut paused = state
            .paused_realms
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *paused = c.paused_realms.iter().cloned().collect();
        state.any_realm_paused.store(!paused.is_empty(), Relaxed);
    }
    let per_realm = c.max_in_flight_per_realm.map_or(NONE, |n| n.min(NONE - 1));
    state.per_realm.store(per_realm, Relaxed);
    // The console refuses rates below 0.001 per second; a share is kept within the bounds.
    let rate = c
        .rate_limit
        .filter(|r| r.is_finite() && *r > 0.0)
        .and_then(|r| Rate::new(r.clamp(Rate::MIN, Rate::MAX)).ok());
    match rate.map(|rate| limiter(rate, batch)) {
        Some((made, burst)) => {
            *state.rate.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(made));
            state.batch.store(burst.get(), Relaxed);
            state.rate_override.store(true, Relaxed);
        }
        None => {
            state.rate_override.store(false, Relaxed);
            *state.rate.write().unwrap_or_else(PoisonError::into_inner) = None;
            state.batch.store(0, Relaxed);
        }
    }
}

/// Applies every change of the controls until they are gone. A `max_in_flight` override
/// below the current capacity takes permits out as running calls return them (new starts
/// wait meanwhile: tokio's semaphore is fair); one above adds permits at once.
async fn follow(
    mut rx: watch::Receiver<Arc<SubscriptionControls>>,
    state: Arc<State>,
    slots: Arc<Semaphore>,
    configured_max: usize,
    batch: NonZeroUsize,
) {
    let mut capacity = configured_max;
    loop {
        let c = rx.borrow_and_update().clone();
        apply(&state, &c, batch);
        let target = c
            .max_in_flight
            .map_or(configured_max, |n| usize::try_from(n).unwrap_or(usize::MAX))
            .min(Semaphore::MAX_PERMITS);
        if target > capacity {
            slots.add_permits(target - capacity);
            capacity = target;
        }
        state.capacity.store(capacity, Relaxed);
        state.shrinking.store(target < capacity, Relaxed);
        if target < capacity {
            let take = u32::try_from(capacity - target).unwrap_or(u32::MAX);
            tokio::select! {
                permits = slots.clone().acquire_many_owned(take) => {
                    if let Ok(p) = permits {
                        p.forget();
                        capacity = target;
                        state.capacity.store(capacity, Relaxed);
                        state.shrinking.store(false, Relaxed);
                    }
                    continue;
                }
                changed = rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    continue;
                }
            }
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}
