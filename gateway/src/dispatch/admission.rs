//! [`Admission`]: the limits a message must pass to start. Room is taken *before*
//! receiving: an in-flight slot and, under a rate limit, the start token that goes with it,
//! so every message received can start at once and never waits unleased (or outside a
//! lease keeper) for a token. A receive asks for no more than the room it holds; room a
//! receive did not use is kept for the next one. The per-realm limit is checked after
//! receiving, and a message of a realm at its limit is handed back with a short delay so
//! that it never blocks other realms.
//!
//! The console's controls ([`Applied`]) come on top: a paused subscription receives
//! nothing, a paused realm's messages are handed back, and its shares of `max_in_flight`
//! (the semaphore is resized), `max_in_flight_per_realm` and `rate_limit` replace the
//! configured values while they are set.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    config::SubscriptionConfig,
    control::{Applied, Limiter, Refused, Running, limiter},
};

/// Room for one delivery (an in-flight slot, and its start token under a rate limit);
/// returned when dropped.
pub type Slot = OwnedSemaphorePermit;

/// The admission limits of one subscription.
#[derive(Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    batch: usize,
    per_realm: Option<u32>,
    realms: Arc<Mutex<HashMap<String, u32>>>,
    rate: Option<Limiter>,
    controls: Applied,
}

/// A realm's place, held for the duration of a delivery.
#[derive(Debug)]
pub struct RealmGuard {
    realm: String,
    realms: Arc<Mutex<HashMap<String, u32>>>,
}

impl Drop for RealmGuard {
    fn drop(&mut self) {
        let mut realms = self
            .realms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = realms.get_mut(&self.realm) {
            *n -= 1;
            if *n == 0 {
                realms.remove(&self.realm);
            }
        }
    }
}

impl Admission {
    /// The limits of `config`.
    pub fn new(config: &SubscriptionConfig) -> Self {
        Self::with_controls(config, Applied::none())
    }

    /// The limits of `config` under the console's `controls` (starts following them: needs
    /// a tokio runtime when a console is set).
    pub fn with_controls(config: &SubscriptionConfig, controls: Applied) -> Self {
        let max = config.max_in_flight.non_zero();
        let configured_batch = config.batch_size.non_zero().min(max);
        // A configured rate also bounds a receive to its burst.
        let (rate, batch) = match config.rate_limit.map(|r| limiter(r, configured_batch)) {
            Some((made, burst)) => (Some(Arc::new(made)), burst.get()),
            None => (None, configured_batch.get()),
        };
        let slots = Arc::new(Semaphore::new(max.get()));
        controls.start(&slots, max.get(), configured_batch);
        Self {
            slots,
            batch,
            per_realm: config.max_in_flight_per_realm.map(|n| n.get()),
            realms: Arc::default(),
            rate,
            controls,
        }
    }

    /// The most room one receive holds.
    pub fn batch(&self) -> usize {
        self.controls.batch().unwrap_or(self.batch)
    }

    /// The rate limiter in force: the console's, else the configured one.
    fn rate(&self) -> Option<Limiter> {
        self.controls.rate().or_else(|| self.rate.clone())
    }

    /// The per-realm limit in force: the console's share, else the configured one.
    fn per_realm(&self) -> Option<u32> {
        self.controls.per_realm(self.per_realm)
    }

    /// Waits while the console has the subscription paused.
    pub async fn running(&self) {
        self.controls.running().await;
    }

    /// Whether the console lowered `max_in_flight` and waits for the room held for a
    /// receive to be given back.
    pub fn shrinking(&self) -> bool {
        self.controls.shrinking()
    }

    /// Whether the console has the subscription paused.
    pub fn paused(&self) -> bool {
        self.controls.paused()
    }

    /// Waits for room to start at least one message (a slot, and its token under a rate
    /// limit), then adds what is free at once, up to a batch. Cancel-safe: dropped while
    /// waiting, it takes nothing.
    pub async fn reserve(&self) -> Vec<Slot> {
        let Ok(first) = self.slots.clone().acquire_owned().await else {
            return Vec::new();
        };
        if let Some(rate) = self.rate() {
            rate.until_ready().await;
        }
        let mut slots = vec![first];
        self.top_up(&mut slots);
        slots
    }

    /// Adds to `slots` the room that is free at once, up to a batch.
    pub fn top_up(&self, slots: &mut Vec<Slot>) {
        let (rate, batch) = (self.rate(), self.batch());
        while slots.len() < batch {
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                break;
            };
            if rate.as_ref().is_some_and(|r| r.check().is_err()) {
                break;
            }
            slots.push(slot);
        }
    }

    /// How many more deliveries `realm` may start now; `None` when there is no per-realm
    /// limit.
    pub fn realm_room(&self, realm: &str) -> Option<usize> {
        let max = self.per_realm()?;
        let running = self.realms().get(realm).copied().unwrap_or(0);
        Some(usize::try_from(max.saturating_sub(running)).unwrap_or(0))
    }

    /// A place for `realm`, or why not: the realm is at its limit, or the console paused it.
    pub fn admit_realm(&self, realm: &str) -> Result<RealmGuard, Refused> {
        if let Some(paused) = self.controls.realm_paused(realm) {
            return Err(paused);
        }
        let max = self.per_realm();
        let mut realms = self.realms();
        let running = realms.get(realm).copied().unwrap_or(0);
        if !realm.is_empty() && max.is_some_and(|max| running >= max) {
            return Err(Refused::Busy);
        }
        *realms.entry(realm.to_owned()).or_insert(0) += 1;
        drop(realms);
        Ok(RealmGuard {
            realm: realm.to_owned(),
            realms: self.realms.clone(),
        })
    }

    fn realms(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.realms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Running for Admission {
    fn running_by_realm(&self) -> Vec<(String, u32)> {
        self.realms().iter().map(|(r, n)| (r.clone(), *n)).collect()
    }
}
