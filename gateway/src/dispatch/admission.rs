//! [`Admission`]: the limits a message must pass to start. In-flight slots are taken
//! *before* receiving (so nothing is received without room to start it); with a rate limit
//! a receive asks for no more than the limit's burst, and each message takes its token
//! just before it starts, so the limit holds between real starts whenever the messages
//! arrived. The per-realm limit is checked after receiving, and a message of a realm at its
//! limit is handed back with a short delay so that it never blocks other realms.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::SubscriptionConfig;

/// Room for one delivery; returned when dropped.
pub type Slot = OwnedSemaphorePermit;

/// The admission limits of one subscription.
#[derive(Debug)]
pub struct Admission {
    slots: Arc<Semaphore>,
    batch: usize,
    per_realm: Option<u32>,
    realms: Arc<Mutex<HashMap<String, u32>>>,
    rate: Option<Rate>,
}

/// The rate limit and its burst.
#[derive(Debug)]
struct Rate {
    limiter: DefaultDirectRateLimiter,
    burst: usize,
}

/// A realm's place, held for the duration of a delivery.
#[derive(Debug)]
pub struct RealmGuard {
    realm: String,
    realms: Arc<Mutex<HashMap<String, u32>>>,
}

impl Drop for RealmGuard {
    fn drop(&mut self) {
        if let Ok(mut realms) = self.realms.lock()
            && let Some(n) = realms.get_mut(&self.realm)
        {
            *n -= 1;
            if *n == 0 {
                realms.remove(&self.realm);
            }
        }
    }
}

fn rate_limiter(per_second: f64, batch: usize) -> Option<Rate> {
    let period = Duration::from_secs_f64(1.0 / per_second);
    // Allow bursts of a tenth of a second's worth (at least 1, at most one batch).
    let burst =
        ((per_second / 10.0).ceil() as u32).clamp(1, u32::try_from(batch).unwrap_or(1).max(1));
    let quota = Quota::with_period(period)?.allow_burst(NonZeroU32::new(burst)?);
    Some(Rate {
        limiter: RateLimiter::direct(quota),
        burst: usize::try_from(burst).unwrap_or(1),
    })
}

impl Admission {
    /// The limits of `config`.
    pub fn new(config: &SubscriptionConfig) -> Self {
        let max = usize::try_from(config.max_in_flight).unwrap_or(1);
        let batch = usize::try_from(config.batch_size).unwrap_or(1).min(max);
        let rate = config.rate_limit.and_then(|r| rate_limiter(r, batch));
        Self {
            slots: Arc::new(Semaphore::new(max)),
            // Received messages wait for their tokens leased: no more than one burst.
            batch: rate.as_ref().map_or(batch, |r| batch.min(r.burst)),
            per_realm: config.max_in_flight_per_realm,
            realms: Arc::default(),
            rate,
        }
    }

    /// Waits for room to start at least one message and returns up to a batch of slots.
    pub async fn reserve(&self) -> Vec<Slot> {
        let Ok(first) = self.slots.clone().acquire_owned().await else {
            return Vec::new();
        };
        let mut slots = vec![first];
        while slots.len() < self.batch {
            match self.slots.clone().try_acquire_owned() {
                Ok(slot) => slots.push(slot),
                Err(_) => break,
            }
        }
        slots
    }

    /// Waits until the rate limit lets one more message start (at once without a limit).
    pub async fn rate_token(&self) {
        if let Some(rate) = &self.rate {
            rate.limiter.until_ready().await;
        }
    }

    /// How many more deliveries `realm` may start now; `None` when there is no per-realm
    /// limit.
    pub fn realm_room(&self, realm: &str) -> Option<usize> {
        let max = self.per_realm?;
        let running = self
            .realms
            .lock()
            .ok()
            .and_then(|r| r.get(realm).copied())
            .unwrap_or(0);
        Some(usize::try_from(max.saturating_sub(running)).unwrap_or(0))
    }

    /// A place for `realm`, or `None` when the realm is at its limit.
    pub fn admit_realm(&self, realm: &str) -> Option<RealmGuard> {
        let mut realms = self.realms.lock().ok()?;
        let n = realms.entry(realm.to_owned()).or_insert(0);
        if realm.is_empty() || self.per_realm.is_none_or(|max| *n < max) {
            *n += 1;
            drop(realms);
            Some(RealmGuard {
                realm: realm.to_owned(),
                realms: self.realms.clone(),
            })
        } else {
            None
        }
    }
}
