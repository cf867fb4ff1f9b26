//! [`Feed`]: one subscription's streaming pull and what it holds.
//!
//! The stream is open while there is demand (a receive is waiting, messages are in
//! flight, or a receive returned less than [`IDLE`] ago); its loop is in `stream.rs`.
//! Without demand — the worker is down, say — the feed closes the stream once it is
//! *closable* (nothing it delivered is unsettled or waiting on a deadline set through it:
//! a retry delay, a deferred copy) and then hands back (nacks) what it buffered, so
//! nothing waits leased for a consumer that is not asking. Google's emulator returns the
//! messages of a stream closed before that only after the stream's ack deadline, whatever
//! ModifyAckDeadline said; Pub/Sub itself does not need the wait, and it costs nothing
//! there. Until then the buffer is handed back through the open stream. [`Feed::stop`]
//! (shutdown) closes the stream without waiting for that, so nothing more arrives, then
//! hands back the buffer; deliveries still running settle afterwards by ack id, which
//! works on a closed stream. Every close is a half-close that takes in what the server
//! was still sending (see `stream.rs`). The stream's server-side flow control is the subscription's room
//! ([`Feed::new`]'s `planned`, its `max_in_flight`, or what the receives ask for) and it
//! is re-opened to grow only when closable.
//!
//! Every received message is leased: buffered ones keep the stream's ack deadline, which
//! [`Feed::keep_alive`] renews; a receive takes from the buffer and sets the deadline to
//! the subscription's lease. A message whose `ferry.deliver_at` is still ahead is given
//! back at once with the remaining time as its deadline (so it returns when due).
//!
//! Ordering keys: a message is not handed out while another message of its key is in
//! flight or waiting for a retry (see [`KEY_HOLD`]); the key's later messages wait in the
//! buffer, in arrival order.
//!
//! A stream that fails or ends is re-opened with backoff; each interruption is reported
//! once through the next receive (ferry logs it as `receive.failed`), so consumption never
//! stops silently.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use gcloud_googleapis::pubsub::v1::{ReceivedMessage, StreamingPullRequest};
use tokio::{sync::Notify, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{
    attrs::{Carried, deadline_secs, split},
    client::{Api, SubInfo},
    stream::run,
};
use crate::backend::{BackendError, Failure, Receipt, Received};

/// How long after the last receive an idle stream stays open.
pub(super) const IDLE: Duration = Duration::from_secs(1);
/// How long after the latest deadline set through a stream it is still taken as busy:
/// the emulator redelivers an expired message up to about a second late.
const DEADLINE_SLACK: Duration = Duration::from_secs(2);
/// How long an ordering key stays held by a message handed back or retried, beyond its
/// delay, in case it never comes back to this process.
pub(super) const KEY_HOLD: Duration = Duration::from_secs(60);

/// A delivery handed to ferry, until it is settled.
#[derive(Debug, Clone)]
pub(super) struct Held {
    /// This copy's Pub/Sub message id.
    pub message_id: String,
    /// The ferry id.
    pub id: String,
    /// The body.
    pub payload: Bytes,
    /// The worker's attributes.
    pub user: BTreeMap<String, String>,
    /// The ordering key ("" for none).
    pub ordering_key: String,
    /// This delivery's attempt.
    pub attempt: u32,
    /// `ferry.dedup_id`.
    pub dedup_id: Option<String>,
    /// All attributes as JSON, kept when they were malformed.
    pub raw_attributes: Option<String>,
    /// The failure history so far.
    pub failure: Option<Failure>,
}

#[derive(Debug)]
struct Buffered {
    rm: ReceivedMessage,
    carried: Carried,
    extended_at: Instant,
}

impl Buffered {
    fn message_id(&self) -> &str {
        self.rm
            .message
            .as_ref()
            .map_or("", |m| m.message_id.as_str())
    }
    fn ordering_key(&self) -> &str {
        self.rm
            .message
            .as_ref()
            .map_or("", |m| m.ordering_key.as_str())
    }
    fn ferry_id(&self) -> String {
        self.carried
            .id
            .clone()
            .unwrap_or_else(|| self.message_id().to_owned())
    }
}

#[derive(Debug)]
struct KeyHold {
    id: String,
    until: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    buffer: VecDeque<Buffered>,
    held: HashMap<String, Held>,
    waiting: usize,
    last_demand: Option<Instant>,
    capacity: usize,
    lease_secs: i32,
    error: Option<String>,
    keys: HashMap<String, KeyHold>,
    /// Native mode: deliveries of a copy given back uncounted by this process.
    uncounted: HashMap<String, u32>,
    /// Failures of messages retried in place, by ferry id.
    failures: HashMap<String, Failure>,
    /// Without a dead-letter policy: counted retries done in place (ordering keys), by
    /// ferry id; in memory only.
    retried: HashMap<String, u32>,
    /// Until when a deadline set through the stream may still bring a message back.
    quiet_at: Option<Instant>,
    task: Option<(JoinHandle<()>, CancellationToken)>,
}

/// One subscription's stream and deliveries.
#[derive(Debug)]
pub(super) struct Feed {
    /// The subscription id.
    pub sub: String,
    /// Its topic and native dead-letter policy.
    pub info: SubInfo,
    /// The connection.
    pub api: Api,
    max_bytes: i64,
    state: Mutex<State>,
    arrived: Notify,
    demand: Notify,
}

impl Feed {
    /// The feed of subscription `sub`, its stream sized for `planned` messages in flight
    /// (0: for what the receives ask).
    pub fn new(api: Api, sub: &str, info: SubInfo, max_bytes: u64, planned: usize) -> Self {
        Self {
            sub: sub.to_owned(),
            info,
            api,
            max_bytes: i64::try_from(max_bytes).unwrap_or(i64::MAX),
            state: Mutex::new(State {
                capacity: planned,
                ..State::default()
            }),
            arrived: Notify::new(),
            demand: Notify::new(),
        }
    }

    /// Whether attempts come from Pub/Sub's `delivery_attempt` (a dead-letter policy).
    pub fn native(&self) -> bool {
        self.info.native_max_attempts.is_some()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Up to `max` messages leased for `lease`, waiting up to `wait` for the first.
    pub async fn receive(
        self: &Arc<Self>,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        let lease_secs = deadline_secs(lease).max(1);
        {
            let mut st = self.state();
            st.waiting += 1;
            st.capacity = st.capacity.max(st.held.len() + max);
            st.lease_secs = lease_secs;
            if st.task.as_ref().is_none_or(|(t, _)| t.is_finished()) {
                let stop = CancellationToken::new();
                let task = tokio::spawn(run(self.clone(), stop.clone()));
                st.task = Some((task, stop));
            }
        }
        self.demand.notify_waiters();
        let deadline = Instant::now() + wait;
        let native = self.native();
        let outcome = loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.state();
                let taken = st.take(&self.sub, max, native);
                if !taken.is_empty() {
                    break Ok(taken);
                }
                if let Some(e) = st.error.take() {
                    break Err(BackendError::Unavailable(e));
                }
            }
            if Instant::now() >= deadline {
                break Ok(Vec::new());
            }
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        };
        {
            let mut st = self.state();
            st.waiting -= 1;
            st.last_demand = Some(Instant::now());
        }
        let taken = outcome?;
        if taken.is_empty() {
            return Ok(taken);
        }
        let ack_ids = taken.iter().map(|r| r.receipt.0.clone()).collect();
        if let Err(e) = self.api.modack(&self.sub, ack_ids, lease_secs).await {
            // Not leased for the time asked: forget them; they return when the stream's
            // deadline lapses.
            for r in &taken {
                if let Some(h) = self.forget(&r.receipt.0) {
                    self.free_key(&h.ordering_key, &h.id);
                }
            }
            return Err(e);
        }
        Ok(taken)
    }

    /// Forgets a settled delivery; returns what was known about it.
    pub fn forget(&self, ack_id: &str) -> Option<Held> {
        self.state().held.remove(ack_id)
    }

    /// Frees `key` if `id` holds it.
    pub fn free_key(&self, key: &str, id: &str) {
        let mut st = self.state();
        if st.keys.get(key).is_some_and(|h| h.id == id) {
            st.keys.remove(key);
        }
        st.failures.remove(id);
        st.retried.remove(id);
    }

    /// Keeps `key` held by `id` (handed back or retried) for `delay` plus [`KEY_HOLD`].
    pub fn hold_key(&self, key: &str, id: &str, delay: Duration) {
        if key.is_empty() {
            return;
        }
        let until = Some(Instant::now() + delay + KEY_HOLD);
        self.state().keys.insert(
            key.to_owned(),
            KeyHold {
                id: id.to_owned(),
                until,
            },
        );
    }

    /// Native mode: the current delivery of copy `message_id` is given back uncounted.
    pub fn note_uncounted(&self, message_id: &str) {
        *self
            .state()
            .uncounted
            .entry(message_id.to_owned())
            .or_insert(0) += 1;
    }

    /// Native mode: copy `message_id` is gone (acked or replaced by a new copy).
    pub fn copy_gone(&self, message_id: &str) {
        self.state().uncounted.remove(message_id);
    }

    /// Remembers the failure of a message retried in place; without a dead-letter policy
    /// also counts the attempt (Pub/Sub's `delivery_attempt` counts it with one).
    pub fn remember_failure(&self, id: &str, failure: Failure) {
        let native = self.native();
        let mut st = self.state();
        st.failures.insert(id.to_owned(), failure);
        if !native {
            *st.retried.entry(id.to_owned()).or_insert(0) += 1;
        }
    }

    /// A deadline of `secs` (a delay, a deferred copy) is being set through the stream.
    pub fn pending_for(&self, secs: i32) {
        let at = Instant::now() + Duration::from_secs(secs.unsigned_abs().into()) + DEADLINE_SLACK;
        let mut st = self.state();
        st.quiet_at = Some(st.quiet_at.map_or(at, |q| q.max(at)));
    }

    /// Stops receiving (shutdown): closes the stream, so nothing more arrives, then hands
    /// back what it buffered (with what the stream was still sending).
    pub async fn stop(&self) {
        let task = self.state().task.take();
        if let Some((task, stop)) = task {
            stop.cancel();
            let _ = task.await;
        }
        self.give_back_buffer().await;
    }

    /// Waits until the stream is wanted; `false` when `stop` came first.
    pub async fn until_wanted(&self, stop: &CancellationToken) -> bool {
        loop {
            let woken = self.demand.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if stop.is_cancelled() {
                return false;
            }
            if self.wanted() {
                return true;
            }
            tokio::select! {
                () = woken => {}
                () = stop.cancelled() => return false,
            }
        }
    }

    /// The opening request of a new stream, with its room and ack deadline.
    pub fn stream_request(&self) -> (StreamingPullRequest, usize, i32) {
        let (room, secs) = {
            let st = self.state();
            (st.capacity.max(1), st.lease_secs.clamp(10, 600))
        };
        let request = StreamingPullRequest {
            subscription: self.api.sub_name(&self.sub),
            stream_ack_deadline_seconds: secs,
            max_outstanding_messages: i64::try_from(room).unwrap_or(i64::MAX),
            max_outstanding_bytes: self.max_bytes,
            ..StreamingPullRequest::default()
        };
        (request, room, secs)
    }

    /// How many messages the stream should have room for.
    pub fn capacity(&self) -> usize {
        self.state().capacity
    }

    /// Whether the stream is wanted: a receive waits, messages are in flight, or a
    /// receive returned less than [`IDLE`] ago.
    pub fn wanted(&self) -> bool {
        let st = self.state();
        st.waiting > 0 || !st.held.is_empty() || st.last_demand.is_some_and(|t| t.elapsed() < IDLE)
    }

    /// Whether the stream may close: no delivery from it is unsettled and no deadline set
    /// through it is pending (what it buffered is handed back after it closed).
    pub fn closable(&self) -> bool {
        let st = self.state();
        st.held.is_empty() && st.quiet_at.is_none_or(|t| Instant::now() >= t)
    }

    /// Reports a stream failure through the next receive.
    pub fn report(&self, error: String) {
        self.state().error = Some(error);
        self.arrived.notify_waiters();
    }

    /// Takes new deliveries from the stream into the buffer.
    pub async fn accept(&self, messages: Vec<ReceivedMessage>) {
        let now = SystemTime::now();
        let mut later: Vec<(String, i32)> = Vec::new();
        {
            let native = self.native();
            let mut st = self.state();
            for rm in messages {
                let Some(msg) = &rm.message else { continue };
                let carried = split(&msg.attributes);
                if let Some(at) = carried.deliver_at
                    && let Ok(ahead) = at.duration_since(now)
                    && ahead >= Duration::from_millis(5)
                {
                    if native {
                        *st.uncounted.entry(msg.message_id.clone()).or_insert(0) += 1;
                    }
                    later.push((rm.ack_id.clone(), deadline_secs(ahead)));
                    continue;
                }
                let id = msg.message_id.clone();
                st.buffer.retain(|b| b.message_id() != id);
                st.buffer.push_back(Buffered {
                    rm,
                    carried,
                    extended_at: Instant::now(),
                });
            }
        }
        self.arrived.notify_waiters();
        for (ack_id, secs) in later {
            self.pending_for(secs);
            // Failing here only means the copy comes back after the stream's deadline.
            let _ = self.api.modack(&self.sub, vec![ack_id], secs).await;
        }
    }

    /// Renews the stream deadline of buffered messages before it lapses.
    pub async fn keep_alive(&self, secs: i32) {
        let due = Duration::from_secs(u64::try_from(secs / 2).unwrap_or(5));
        let ack_ids: Vec<String> = {
            let mut st = self.state();
            st.buffer
                .iter_mut()
                .filter(|b| b.extended_at.elapsed() >= due)
                .map(|b| {
                    b.extended_at = Instant::now();
                    b.rm.ack_id.clone()
                })
                .collect()
        };
        if !ack_ids.is_empty() {
            let _ = self.api.modack(&self.sub, ack_ids, secs).await;
        }
    }

    /// Hands back everything buffered (not counted as an attempt).
    pub async fn give_back_buffer(&self) {
        let ack_ids: Vec<String> = {
            let native = self.native();
            let mut st = self.state();
            let drained: Vec<Buffered> = st.buffer.drain(..).collect();
            let mut ids = Vec::with_capacity(drained.len());
            for b in drained {
                if native {
                    *st.uncounted.entry(b.message_id().to_owned()).or_insert(0) += 1;
                }
                ids.push(b.rm.ack_id);
            }
            ids
        };
        if !ack_ids.is_empty() {
            let _ = self.api.modack(&self.sub, ack_ids, 0).await;
        }
    }
}

impl State {
    /// Takes up to `max` deliverable messages from the buffer and records them as held.
    fn take(&mut self, sub: &str, max: usize, native: bool) -> Vec<Received> {
        let now = Instant::now();
        self.keys.retain(|_, h| h.until.is_none_or(|u| u > now));
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.buffer.len() && out.len() < max {
            let b = &self.buffer[i];
            let key = b.ordering_key();
            if !key.is_empty() && self.keys.get(key).is_some_and(|h| h.id != b.ferry_id()) {
                i += 1;
                continue;
            }
            let Some(b) = self.buffer.remove(i) else {
                break;
            };
            out.push(self.hand_out(sub, b, native));
        }
        out
    }

    fn hand_out(&mut self, sub: &str, b: Buffered, native: bool) -> Received {
        let id = b.ferry_id();
        let Buffered { rm, carried, .. } = b;
        let msg = rm.message.unwrap_or_default();
        let before = carried.attempts_before;
        let attempt = if native {
            let delivered = u32::try_from(rm.delivery_attempt).unwrap_or(0).max(1);
            let given_back = self.uncounted.get(&msg.message_id).copied().unwrap_or(0);
            (before + delivered)
                .saturating_sub(given_back)
                .max(before + 1)
        } else {
            before + 1 + self.retried.get(&id).copied().unwrap_or(0)
        };
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
        let failures = self.failures.get(&id).cloned().or(carried.failure);
        let payload = Bytes::from(msg.data);
        self.held.insert(
            rm.ack_id.clone(),
            Held {
                message_id: msg.message_id,
                id: id.clone(),
                payload: payload.clone(),
                user: carried.user.clone(),
                ordering_key: msg.ordering_key,
                attempt,
                dedup_id: carried.dedup_id.clone(),
                raw_attributes,
                failure: failures.clone(),
            },
        );
        Received {
            id,
            queue: sub.to_owned(),
            payload,
            attributes: carried.user,
            malformed: carried.malformed,
            attempt,
            published_at: msg.publish_time.and_then(|t| SystemTime::try_from(t).ok()),
            dedup_id: carried.dedup_id,
            failures,
            receipt: Receipt(rm.ack_id),
        }
    }
}
