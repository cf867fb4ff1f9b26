//! What the SQS backend keeps in memory: the messages it holds a lease on ([`Leases`], by
//! receipt handle, so that a hand-back can re-send a copy and a dead letter can keep the
//! raw attributes) and, per message, what SQS cannot store on a message being retried
//! ([`Ledger`]: the failure history and, on FIFO queues, the uncounted hand-backs). The
//! ledger is bounded; the oldest entries are forgotten first.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Instant, SystemTime},
};

use aws_sdk_sqs::types::MessageAttributeValue;
use bytes::Bytes;

use super::codec::Meta;
use crate::backend::Failure;

/// One leased message.
#[derive(Debug, Clone)]
pub(super) struct Leased {
    /// The queue URL.
    pub url: String,
    /// The ferry id.
    pub id: String,
    /// This delivery's attempt number.
    pub attempt: u32,
    /// The decoded payload.
    pub payload: Bytes,
    /// The decoded attributes.
    pub attributes: std::collections::BTreeMap<String, String>,
    /// The body as received.
    pub body: String,
    /// The attributes as received.
    pub raw: HashMap<String, MessageAttributeValue>,
    /// ferry's state as received.
    pub meta: Meta,
    /// Whether the attributes could not be read.
    pub malformed: bool,
    /// The FIFO message group, if any.
    pub group_id: Option<String>,
    /// The failure history known at receive.
    pub failure: Option<Failure>,
    /// When the message was first published.
    pub published_at: SystemTime,
    /// When this lease was taken.
    pub leased_at: Instant,
}

/// Leased messages by receipt handle (shared: a settle reads a lease without copying it).
#[derive(Debug, Default)]
pub(super) struct Leases {
    map: Mutex<HashMap<String, Arc<Leased>>>,
}

impl Leases {
    /// Remembers a lease. Leases older than SQS's 12-hour visibility maximum cannot be
    /// valid any more and are dropped on the way.
    pub fn insert(&self, receipt: String, leased: Leased) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= 4096 && map.len().is_power_of_two() {
                map.retain(|_, l| l.leased_at.elapsed() < super::config::SQS_MAX_VISIBILITY);
            }
            map.insert(receipt, Arc::new(leased));
        }
    }

    /// The lease of `receipt`, if held.
    pub fn get(&self, receipt: &str) -> Option<Arc<Leased>> {
        self.map.lock().ok()?.get(receipt).cloned()
    }

    /// Forgets the lease of `receipt` (settled, or lost).
    pub fn remove(&self, receipt: &str) -> Option<Arc<Leased>> {
        self.map.lock().ok()?.remove(receipt)
    }
}

/// What is remembered about one message between deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Entry {
    /// The failure history.
    pub failure: Option<Failure>,
    /// Receives that were handed back uncounted (FIFO queues only; standard queues carry
    /// this durably in the copy's `ferry.meta`).
    pub uncounted: u32,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, (Entry, u64)>,
    order: VecDeque<(String, u64)>,
    next: u64,
}

/// A bounded map of message id to [`Entry`].
#[derive(Debug)]
pub(super) struct Ledger {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Ledger {
    /// A ledger of at most `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::default(),
            capacity,
        }
    }

    /// What is remembered about `id`.
    pub fn get(&self, id: &str) -> Entry {
        self.inner
            .lock()
            .ok()
            .and_then(|i| i.map.get(id).map(|(e, _)| e.clone()))
            .unwrap_or_default()
    }

    /// Changes what is remembered about `id`.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut Entry)) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let inner = &mut *inner;
        if let Some((entry, _)) = inner.map.get_mut(id) {
            change(entry);
            return;
        }
        let mut entry = Entry::default();
        change(&mut entry);
        inner.next += 1;
        let generation = inner.next;
        inner.map.insert(id.to_owned(), (entry, generation));
        inner.order.push_back((id.to_owned(), generation));
        while inner.map.len() > self.capacity {
            let Some((old, g)) = inner.order.pop_front() else {
                break;
            };
            if inner
                .map
                .get(&old)
                .is_some_and(|(_, current)| *current == g)
            {
                inner.map.remove(&old);
            }
        }
        if inner.order.len() > 2 * self.capacity.max(16) {
            let map = &inner.map;
            inner
                .order
                .retain(|(id, g)| map.get(id).is_some_and(|(_, current)| current == g));
        }
    }

    /// Forgets `id` (acked or dead-lettered).
    pub fn forget(&self, id: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.map.remove(id);
        }
    }

    /// How many messages are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }
}
