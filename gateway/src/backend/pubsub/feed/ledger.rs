//! [`Ledger`]: what the Pub/Sub feed remembers about a message between its deliveries and
//! cannot carry on the message itself — deliveries it gave back uncounted, failures and
//! in-place retries — bounded, so that messages settled by another replica (whose entries
//! this process never clears) cannot grow it for ever. The oldest entries are forgotten
//! first; forgetting one only costs the accuracy the SQS backend's ledger loses the same
//! way (an attempt counted once more, a first failure time taken from a later failure).

use std::collections::{HashMap, VecDeque};

use crate::backend::Failure;

/// What is remembered about one message (by its ferry id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Entry {
    /// The Pub/Sub message id (this copy) that `uncounted` refers to.
    pub copy: String,
    /// Deliveries of `copy` that did not reach the worker or were handed back uncounted
    /// (subtracted from `delivery_attempt` under a dead-letter policy).
    pub uncounted: u32,
    /// Counted retries done in place without a dead-letter policy (ordering keys).
    pub retried: u32,
    /// The failure history of a message retried in place.
    pub failure: Option<Failure>,
}

/// A bounded map of ferry id to [`Entry`], oldest forgotten first.
#[derive(Debug)]
pub(super) struct Ledger {
    map: HashMap<String, (Entry, u64)>,
    order: VecDeque<(String, u64)>,
    next: u64,
    capacity: usize,
}

impl Ledger {
    /// A ledger of at most `capacity` messages (0 remembers nothing).
    pub fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
            capacity,
        }
    }

    /// What is remembered about `id`, if anything.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.map.get(id).map(|(e, _)| e)
    }

    /// Deliveries of copy `message_id` of `id` given back uncounted.
    pub fn uncounted(&self, id: &str, message_id: &str) -> u32 {
        self.get(id)
            .filter(|e| e.copy == message_id)
            .map_or(0, |e| e.uncounted)
    }

    /// Adds `n` uncounted deliveries of copy `message_id` of `id` (a new copy starts over).
    pub fn add_uncounted(&mut self, id: &str, message_id: &str, n: u32) {
        self.update(id, |e| {
            if e.copy != message_id {
                e.copy = message_id.to_owned();
                e.uncounted = 0;
            }
            e.uncounted = e.uncounted.saturating_add(n);
        });
    }

    /// Changes what is remembered about `id` (a new entry counts as the newest).
    pub fn update(&mut self, id: &str, change: impl FnOnce(&mut Entry)) {
        if self.capacity == 0 {
            return;
        }
        if let Some((entry, _)) = self.map.get_mut(id) {
            change(entry);
            return;
        }
        let mut entry = Entry::default();
        change(&mut entry);
        self.next += 1;
        self.map.insert(id.to_owned(), (entry, self.next));
        self.order.push_back((id.to_owned(), self.next));
        while self.map.len() > self.capacity {
            let Some((old, generation)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|(_, g)| *g == generation) {
                self.map.remove(&old);
            }
        }
        if self.order.len() > 2 * self.capacity.max(16) {
            let map = &self.map;
            self.order
                .retain(|(id, g)| map.get(id).is_some_and(|(_, current)| current == g));
        }
    }

    /// Forgets `id` (acked or dead-lettered).
    pub fn forget(&mut self, id: &str) {
        self.map.remove(id);
    }

    /// How many messages are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}
