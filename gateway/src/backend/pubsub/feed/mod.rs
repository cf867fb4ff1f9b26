//! [`Feed`]: the receive API of one consumed subscription and of its retry subscription,
//! and what the settle side tells it about each delivery. The state it keeps is the pure
//! [`state::State`]; the streams and everything they deliver are run by the
//! [`driver`], which is started by the first receive and keeps each stream open while
//! there is demand (a receive is waiting, messages are in flight, or a receive returned
//! less than [`state::IDLE`] ago).
//!
//! Every received message is leased: buffered ones keep the stream's ack deadline, which
//! the driver renews; a receive takes from the buffer and sets the deadline to the
//! subscription's lease (unless the stream's deadline is that lease and the delivery has
//! just arrived, so it has the whole of it). A message whose `ferry.deliver_at` is still
//! ahead is given back at once with the remaining time as its deadline (so it returns
//! when due).
//!
//! Ordering keys: a message is not handed out while another message of its key is in
//! flight or waiting for a retry (see [`state::KEY_HOLD`]); the key's later messages wait
//! in the buffer, in arrival order.
//!
//! A stream that fails or ends is re-opened with backoff; each interruption is reported
//! once through the next receive (ferry logs it as `receive.failed`), so consumption never
//! stops silently.

mod delivery;
mod driver;
mod ledger;
pub(super) mod state;

#[cfg(test)]
mod tests;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{sync::Notify, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use self::{
    driver::Shared,
    state::{Held, Source, State},
};
use super::{acks::Acks, attrs::deadline_secs, client::Api};
use crate::backend::{BackendError, Failure, Received};

/// How a feed is set up.
#[derive(Debug, Clone)]
pub(super) struct FeedSetup {
    /// The subscription and its retry subscription.
    pub subs: [String; 2],
    /// Whether each has a dead-letter policy.
    pub native: [bool; 2],
    /// The topic ferry publishes its copies to (the retry subscription's).
    pub retry_topic: String,
    /// `max_outstanding_bytes` of each stream.
    pub max_bytes: u64,
    /// Streams on the subscription (the retry subscription has one).
    pub streams: std::num::NonZeroUsize,
    /// Messages in flight planned (0: what the receives ask).
    pub planned: usize,
    /// How many messages' attempts are remembered.
    pub memory: usize,
}

/// One subscription's streams and deliveries.
#[derive(Debug)]
pub(super) struct Feed {
    /// The topic ferry publishes its copies to.
    pub retry_topic: String,
    shared: Arc<Shared>,
    driver: Mutex<Option<(JoinHandle<()>, CancellationToken)>>,
}

impl Feed {
    /// The feed of `setup`, settling through `acks`.
    pub fn new(api: Api, acks: Arc<Acks>, setup: FeedSetup) -> Self {
        let shared = Shared {
            subs: setup.subs,
            api,
            acks,
            max_bytes: i64::try_from(setup.max_bytes).unwrap_or(i64::MAX),
            streams: setup.streams.get(),
            state: Mutex::new(State::new(setup.native, setup.planned, setup.memory)),
            arrived: Notify::new(),
            demand: Notify::new(),
        };
        Self {
            retry_topic: setup.retry_topic,
            shared: Arc::new(shared),
            driver: Mutex::default(),
        }
    }

    /// The subscription id of `source`.
    pub fn sub(&self, source: Source) -> &str {
        self.shared.sub(source)
    }

    /// Whether deliveries of `source` count attempts with `delivery_attempt`.
    pub fn native(&self, source: Source) -> bool {
        self.shared.state().native(source)
    }

    fn ensure_driver(&self) {
        let mut driver = self
            .driver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if driver.as_ref().is_none_or(|(t, _)| t.is_finished()) {
            let stop = CancellationToken::new();
            let task = tokio::spawn(driver::run(self.shared.clone(), stop.clone()));
            *driver = Some((task, stop));
        }
    }

    /// Up to `max` messages leased for `lease`, waiting up to `wait` for the first.
    pub async fn receive(
        &self,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        let lease_secs = deadline_secs(lease).max(1);
        self.shared.state().begin_receive(max, lease_secs);
        self.ensure_driver();
        self.shared.demand.notify_one();
        let deadline = Instant::now() + wait;
        let sub = self.sub(Source::Main).to_owned();
        let outcome = loop {
            let notified = self.shared.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.shared.state();
                let taken = st.take(&sub, max, Instant::now().into_std());
                if !taken.received.is_empty() {
                    break Ok(taken);
                }
                if let Some(e) = st.take_error() {
                    break Err(BackendError::Unavailable(e));
                }
            }
            if Instant::now() >= deadline {
                break Ok(state::Taken::default());
            }
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        };
        self.shared.state().end_receive(Instant::now().into_std());
        let taken = outcome?;
        for source in Source::BOTH {
            let ack_ids: Vec<String> = taken
                .to_lease
                .iter()
                .filter(|(s, _)| *s == source)
                .map(|(_, id)| id.clone())
                .collect();
            let set = self
                .shared
                .acks
                .modack(self.sub(source), ack_ids, lease_secs)
                .await;
            if let Err(e) = set {
                // Not leased for the time asked: forget them; they return when the
                // stream's deadline lapses.
                let mut st = self.shared.state();
                for r in &taken.received {
                    if let Some(h) = st.forget(&r.receipt.0) {
                        st.lost(&h);
                    }
                }
                return Err(e);
            }
        }
        Ok(taken.received)
    }

    /// Forgets a delivery being settled; returns what was known about it.
    pub fn forget(&self, receipt: &str) -> Option<Held> {
        self.shared.state().forget(receipt)
    }

    /// `held` is gone for good (acked, dead-lettered).
    pub fn finished(&self, held: &Held) {
        self.shared.state().finished(held);
    }

    /// `held` failed and is retried in place after `delay`.
    pub fn retried_in_place(&self, held: &Held, failure: Failure, delay: Duration) {
        self.shared
            .state()
            .retried_in_place(held, failure, delay, Instant::now().into_std());
    }

    /// `held` is handed back in place after `delay`, uncounted.
    pub fn handed_back_in_place(&self, held: &Held, delay: Duration) {
        self.shared
            .state()
            .handed_back_in_place(held, delay, Instant::now().into_std());
    }

    /// `held` was replaced by a copy on the retry subscription, due after `delay`.
    pub fn replaced_by_copy(&self, held: &Held, delay: Duration) {
        self.shared
            .state()
            .replaced_by_copy(held, delay, Instant::now().into_std());
    }

    /// Stops receiving (shutdown): closes the streams, so nothing more arrives, then hands
    /// back what they buffered (with what they were still sending).
    pub async fn stop(&self) {
        let driver = self
            .driver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some((task, stop)) = driver {
            stop.cancel();
            let _ = task.await;
        }
    }
}
