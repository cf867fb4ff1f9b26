//! [`State`]: what one subscription's feed holds, as a pure, synchronous state machine —
//! the buffer of deliveries not yet handed out, the deliveries handed out and not yet
//! settled, the ordering keys held, the [`Ledger`] of attempts, and the demand that
//! decides whether the streams are wanted. No I/O happens here: methods take the current
//! time and return the ack ids on which the caller must act, so every rule is unit-tested
//! without the emulator (`tests.rs`).
//!
//! A feed consumes two subscriptions: the configured one ([`Source::Main`]) and its retry
//! subscription ([`Source::Retry`]), where ferry's own copies (retries, hand-backs,
//! redriven letters) arrive. A receipt names which one a delivery came from.
//!
//! Attempts: under a dead-letter policy a delivery's attempt is Pub/Sub's
//! `delivery_attempt` (plus `ferry.attempts` carried by a copy) minus the deliveries the
//! worker never got: those given back uncounted, and those that arrived again while the
//! earlier delivery still waited in the buffer (Pub/Sub redelivers an ordering key's later
//! messages when one of them is retried). Without a policy it is `ferry.attempts` + 1 plus
//! the retries done in place (ordering keys), counted in the ledger.

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use gcloud_googleapis::pubsub::v1::ReceivedMessage;

pub(in crate::backend::pubsub) use super::delivery::{Held, Source, Taken};
use super::{
    super::attrs::{deadline_secs, split},
    delivery::{Buffered, attempt, ferry_id},
    ledger::Ledger,
};
use crate::backend::{Failure, Receipt, Received};

/// How long after the last receive an idle stream stays open.
pub(in crate::backend::pubsub) const IDLE: Duration = Duration::from_secs(1);
/// How long after the latest deadline set through a stream it is still taken as busy:
/// the emulator redelivers an expired message up to about a second late.
const DEADLINE_SLACK: Duration = Duration::from_secs(2);
/// How long an ordering key stays held by a message handed back or retried, beyond its
/// delay, in case it never comes back to this process.
pub(in crate::backend::pubsub) const KEY_HOLD: Duration = Duration::from_secs(60);
/// A delivery whose `ferry.deliver_at` is less than this ahead is handed out at once.
const DUE_SLACK: Duration = Duration::from_millis(5);

#[derive(Debug)]
struct KeyHold {
    id: String,
    until: Option<Instant>,
}

/// One feed's state.
#[derive(Debug)]
pub(in crate::backend::pubsub) struct State {
    /// Whether each subscription has a dead-letter policy (attempts from
    /// `delivery_attempt`).
    native: [bool; 2],
    buffer: VecDeque<Buffered>,
    /// The message ids in `buffer`.
    buffered: HashSet<String>,
    held: HashMap<String, Held>,
    keys: HashMap<String, KeyHold>,
    ledger: Ledger,
    waiting: usize,
    last_demand: Option<Instant>,
    capacity: usize,
    lease_secs: i32,
    error: Option<String>,
    /// Until when a deadline set through each stream may still bring a message back.
    quiet_at: [Option<Instant>; 2],
    /// The ack deadline of each open stream (0 while closed).
    stream_secs: [i32; 2],
}

impl State {
    /// The state of a feed whose subscriptions have a dead-letter policy as `native` says
    /// (main, retry), sized for `planned` messages in flight (0: for what the receives
    /// ask), remembering at most `memory` messages' attempts.
    pub fn new(native: [bool; 2], planned: usize, memory: usize) -> Self {
        Self {
            native,
            buffer: VecDeque::new(),
            buffered: HashSet::new(),
            held: HashMap::new(),
            keys: HashMap::new(),
            ledger: Ledger::new(memory),
            waiting: 0,
            last_demand: None,
            capacity: planned,
            lease_secs: 0,
            error: None,
            quiet_at: [None; 2],
            stream_secs: [0; 2],
        }
    }

    /// Whether deliveries of `source` count attempts with `delivery_attempt`.
    pub fn native(&self, source: Source) -> bool {
        self.native[source.index()]
    }

    /// A receive of up to `max` messages leased for `lease_secs` begins.
    pub fn begin_receive(&mut self, max: usize, lease_secs: i32) {
        self.waiting += 1;
        self.capacity = self.capacity.max(self.held.len() + max);
        self.lease_secs = lease_secs;
    }

    /// A receive ended.
    pub fn end_receive(&mut self, now: Instant) {
        self.waiting = self.waiting.saturating_sub(1);
        self.last_demand = Some(now);
    }

    /// A stream failure to report through the next receive.
    pub fn report(&mut self, error: String) {
        self.error = Some(error);
    }

    /// The failure to report, once.
    pub fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }

    /// How many messages the streams should have room for.
    pub fn capacity(&self) -> usize {
        self.capacity.max(1)
    }

    /// The ack deadline for a stream opened now.
    pub fn stream_deadline(&self) -> i32 {
        self.lease_secs.clamp(10, 600)
    }

    /// The stream of `source` opened with ack deadline `secs` (0: it closed).
    pub fn stream_is(&mut self, source: Source, secs: i32) {
        self.stream_secs[source.index()] = secs;
    }

    /// Whether the streams are wanted: a receive waits, messages are in flight, or a
    /// receive returned less than [`IDLE`] ago.
    pub fn wanted(&self, now: Instant) -> bool {
        self.waiting > 0
            || !self.held.is_empty()
            || self
                .last_demand
                .is_some_and(|t| now.saturating_duration_since(t) < IDLE)
    }

    /// Whether the stream of `source` may close: nothing it delivered is unsettled and no
    /// deadline set through it is pending (what it buffered is handed back after it
    /// closed).
    pub fn closable(&self, source: Source, now: Instant) -> bool {
        !self.held.values().any(|h| h.source == source)
            && self.quiet_at[source.index()].is_none_or(|t| now >= t)
    }

    /// A deadline of `secs` (a delay, a deferred copy) is being set through the stream of
    /// `source`.
    pub fn pending_for(&mut self, source: Source, secs: i32, now: Instant) {
        let at = now + Duration::from_secs(secs.unsigned_abs().into()) + DEADLINE_SLACK;
        let q = &mut self.quiet_at[source.index()];
        *q = Some(q.map_or(at, |q| q.max(at)));
    }

    /// Takes new deliveries of `source` into the buffer; returns those not due yet, with
    /// the deadline (seconds) that brings each back when due.
    pub fn accept(
        &mut self,
        source: Source,
        messages: Vec<ReceivedMessage>,
        now: Instant,
        wall: SystemTime,
    ) -> Vec<(String, i32)> {
        let native = self.native(source);
        let mut later = Vec::new();
        for rm in messages {
            let Some(msg) = &rm.message else { continue };
            let carried = split(&msg.attributes);
            let message_id = msg.message_id.clone();
            let id = ferry_id(&carried, &message_id);
            if let Some(at) = carried.deliver_at
                && let Ok(ahead) = at.duration_since(wall)
                && ahead >= DUE_SLACK
            {
                if native {
                    self.ledger.add_uncounted(&id, &message_id, 1);
                }
                let secs = deadline_secs(ahead);
                self.pending_for(source, secs, now);
                later.push((rm.ack_id.clone(), secs));
                continue;
            }
            if !self.buffered.insert(message_id.clone())
                && let Some(pos) = self
                    .buffer
                    .iter()
                    .position(|b| b.message_id() == message_id)
                && let Some(old) = self.buffer.remove(pos)
                && native
            {
                // Delivered again while the earlier delivery waited here: the worker never
                // got that one (an ordering key's redelivery after a retry of an earlier
                // message of the key).
                let rise = rm.delivery_attempt.saturating_sub(old.rm.delivery_attempt);
                if let Ok(rise) = u32::try_from(rise)
                    && rise > 0
                {
                    self.ledger.add_uncounted(&id, &message_id, rise);
                }
            }
            self.buffer.push_back(Buffered {
                source,
                rm,
                carried,
                extended_at: now,
            });
        }
        later
    }

    /// Takes up to `max` deliverable messages of `sub` from the buffer and holds them.
    pub fn take(&mut self, sub: &str, max: usize, now: Instant) -> Taken {
        self.keys.retain(|_, h| h.until.is_none_or(|u| u > now));
        let mut taken = Taken::default();
        let mut i = 0;
        while i < self.buffer.len() && taken.received.len() < max {
            let b = &self.buffer[i];
            let key = b.ordering_key();
            if !key.is_empty() && self.keys.get(key).is_some_and(|h| h.id != b.ferry_id()) {
                i += 1;
                continue;
            }
            let Some(b) = self.buffer.remove(i) else {
                break;
            };
            self.buffered.remove(b.message_id());
            // Dispatch extends a lease every third of it: a delivery with two thirds of the
            // lease left on a stream whose deadline is the lease needs no new deadline.
            let fresh = self.stream_secs[b.source.index()] == self.lease_secs
                && now.saturating_duration_since(b.extended_at) < third(self.lease_secs);
            if !fresh {
                taken.to_lease.push((b.source, b.rm.ack_id.clone()));
            }
            taken.received.push(self.hand_out(sub, b));
        }
        taken
    }

    fn hand_out(&mut self, sub: &str, b: Buffered) -> Received {
        let id = b.ferry_id();
        let Buffered {
            source,
            rm,
            carried,
            ..
        } = b;
        let msg = rm.message.unwrap_or_default();
        let before = carried.attempts_before;
        let attempt = attempt(
            self.native(source),
            before,
            rm.delivery_attempt,
            self.ledger.uncounted(&id, &msg.message_id),
            self.ledger.get(&id).map_or(0, |e| e.retried),
        );
        if !msg.ordering_key.is_empty() {
            self.keys.insert(
                msg.ordering_key.clone(),
                KeyHold {
                    id: id.clone(),
                    until: None,
                },
            );
        }
        let raw_attributes = carried.malformed.as_ref().map(|_| {
            let sorted: BTreeMap<_, _> = msg.attributes.iter().collect();
            serde_json::to_string(&sorted).unwrap_or_default()
        });
        let failures = self
            .ledger
            .get(&id)
            .and_then(|e| e.failure.clone())
            .or(carried.failure);
        let published_at = carried
            .published_at
            .or_else(|| msg.publish_time.and_then(|t| SystemTime::try_from(t).ok()));
        let payload = Bytes::from(msg.data);
        let receipt = source.receipt(&rm.ack_id);
        self.held.insert(
            receipt.clone(),
            Held {
                source,
                ack_id: rm.ack_id,
                message_id: msg.message_id,
                id: id.clone(),
                payload: payload.clone(),
                user: carried.user.clone(),
                ordering_key: msg.ordering_key,
                attempt,
                dedup_id: carried.dedup_id.clone(),
                raw_attributes,
                failure: failures.clone(),
                published_at,
            },
        );
        Received {
            id,
            queue: sub.to_owned(),
            payload,
            attributes: carried.user,
            malformed: carried.malformed,
            attempt,
            published_at,
            dedup_id: carried.dedup_id,
            failures,
            receipt: Receipt(receipt),
        }
    }

    /// Forgets a delivery being settled; returns what was known about it.
    pub fn forget(&mut self, receipt: &str) -> Option<Held> {
        self.held.remove(receipt)
    }

    /// `held` is gone for good (acked, dead-lettered): its key is free, its memory
    /// dropped.
    pub fn finished(&mut self, held: &Held) {
        self.free_key(&held.ordering_key, &held.id);
        self.ledger.forget(&held.id);
    }

    /// A lease could not be set on `held`: it returns when the stream's deadline lapses.
    pub fn lost(&mut self, held: &Held) {
        self.free_key(&held.ordering_key, &held.id);
    }

    fn free_key(&mut self, key: &str, id: &str) {
        if self.keys.get(key).is_some_and(|h| h.id == id) {
            self.keys.remove(key);
        }
    }

    /// Keeps `key` held by `id` (handed back or retried) for `delay` plus [`KEY_HOLD`].
    fn hold_key(&mut self, key: &str, id: &str, delay: Duration, now: Instant) {
        if key.is_empty() {
            return;
        }
        self.keys.insert(
            key.to_owned(),
            KeyHold {
                id: id.to_owned(),
                until: Some(now + delay + KEY_HOLD),
            },
        );
    }

    /// `held` failed and comes back in place after `delay` (ModifyAckDeadline): its
    /// failure is remembered and, without a dead-letter policy, its attempt counted.
    pub fn retried_in_place(
        &mut self,
        held: &Held,
        failure: Failure,
        delay: Duration,
        now: Instant,
    ) {
        self.hold_key(&held.ordering_key, &held.id, delay, now);
        let counted_here = !self.native(held.source);
        self.ledger.update(&held.id, |e| {
            e.failure = Some(failure);
            if counted_here {
                e.retried += 1;
            }
        });
        self.pending_for(held.source, deadline_secs(delay), now);
    }

    /// `held` is handed back in place after `delay`, uncounted.
    pub fn handed_back_in_place(&mut self, held: &Held, delay: Duration, now: Instant) {
        self.hold_key(&held.ordering_key, &held.id, delay, now);
        if self.native(held.source) {
            self.ledger.add_uncounted(&held.id, &held.message_id, 1);
        }
        self.pending_for(held.source, deadline_secs(delay), now);
    }

    /// `held` was replaced by a copy (on the retry subscription) due after `delay`, which
    /// carries its count and failures itself.
    pub fn replaced_by_copy(&mut self, held: &Held, delay: Duration, now: Instant) {
        self.hold_key(&held.ordering_key, &held.id, delay, now);
        self.ledger.forget(&held.id);
    }

    /// Empties the buffer (of `source` only, if given): the ack ids to hand back, which
    /// are not counted as attempts.
    pub fn drain_buffer(&mut self, source: Option<Source>) -> Vec<(Source, String)> {
        let mut out = Vec::new();
        let mut kept = VecDeque::new();
        for b in std::mem::take(&mut self.buffer) {
            if source.is_some_and(|s| s != b.source) {
                kept.push_back(b);
                continue;
            }
            self.buffered.remove(b.message_id());
            if self.native(b.source) {
                self.ledger.add_uncounted(&b.ferry_id(), b.message_id(), 1);
            }
            out.push((b.source, b.rm.ack_id));
        }
        self.buffer = kept;
        out
    }

    /// Buffered deliveries of `source` with a third of their stream deadline of `secs`
    /// gone: their ack ids, now counted as renewed (so a buffered delivery keeps two thirds
    /// of its deadline, which a hand-out relies on).
    pub fn keep_alive(&mut self, source: Source, secs: i32, now: Instant) -> Vec<String> {
        let due = third(secs);
        self.buffer
            .iter_mut()
            .filter(|b| b.source == source && now.saturating_duration_since(b.extended_at) >= due)
            .map(|b| {
                b.extended_at = now;
                b.rm.ack_id.clone()
            })
            .collect()
    }

    /// How many messages the ledger remembers.
    #[cfg(test)]
    pub fn remembered(&self) -> usize {
        self.ledger.len()
    }

    /// How many deliveries wait in the buffer.
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }
}

/// A third of `secs` seconds, less the driver's tick and a call's time.
fn third(secs: i32) -> Duration {
    Duration::from_millis(u64::try_from(secs).unwrap_or(0) * 1000 / 3)
        .saturating_sub(Duration::from_secs(1))
}
