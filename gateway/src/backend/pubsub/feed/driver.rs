//! The feed's driver: one task per consumed subscription that runs the stream tasks of the
//! subscription (`backend.pubsub.streams` of them) and of its retry subscription (one,
//! `stream.rs`), takes what they report into
//! the [`State`], steers them from the state's demand, renews the deadlines of buffered
//! deliveries and hands the buffer back when nobody asks for it. [`Shared`] is what the
//! driver and the receive API (`mod.rs`) share.
//!
//! Without demand — the worker is down, say — a stream is closed once it is *closable*
//! (nothing it delivered is unsettled or waiting on a deadline set through it: a retry
//! delay, a deferred copy) and then what it buffered is handed back (ModifyAckDeadline 0),
//! so nothing waits leased for a consumer that is not asking. Google's emulator returns
//! the messages of a stream closed before that only after the stream's ack deadline,
//! whatever ModifyAckDeadline said; Pub/Sub itself does not need the wait, and it costs
//! nothing there. Until then the buffer is handed back through the open stream. On stop
//! (shutdown) both streams are closed without waiting for that, so nothing more arrives,
//! and the buffer is handed back; deliveries still running settle afterwards by ack id,
//! which works on a closed stream.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime},
};

use tokio::{
    sync::{Notify, mpsc, watch},
    time::Instant,
};
use tokio_util::sync::CancellationToken;

use super::{
    super::{
        acks::Acks,
        client::Api,
        stream::{self, Control, Event},
    },
    state::{Source, State},
};

/// How often buffered leases are checked and idleness is looked at.
const TICK: Duration = Duration::from_millis(250);

/// What the driver and the receive API share.
#[derive(Debug)]
pub(in crate::backend::pubsub) struct Shared {
    /// The subscription and its retry subscription, by [`Source`].
    pub subs: [String; 2],
    /// The connection.
    pub api: Api,
    /// The ack batcher.
    pub acks: Arc<Acks>,
    /// `max_outstanding_bytes` of each stream.
    pub max_bytes: i64,
    /// Streams on the subscription (the retry subscription has one).
    pub streams: usize,
    /// The state.
    pub state: Mutex<State>,
    /// Woken when deliveries arrive or a failure is reported.
    pub arrived: Notify,
    /// Woken when a receive begins.
    pub demand: Notify,
}

impl Shared {
    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The subscription id of `source`.
    pub fn sub(&self, source: Source) -> &str {
        match source {
            Source::Main => &self.subs[0],
            Source::Retry => &self.subs[1],
        }
    }

    /// Hands `ack_ids` back at once (uncounted), in the background.
    fn give_back(self: &Arc<Self>, ack_ids: Vec<(Source, String)>) -> tokio::task::JoinHandle<()> {
        let shared = self.clone();
        tokio::spawn(async move {
            for source in Source::BOTH {
                let ids: Vec<String> = ack_ids
                    .iter()
                    .filter(|(s, _)| *s == source)
                    .map(|(_, id)| id.clone())
                    .collect();
                // Failing only means they come back after the stream's deadline.
                let _ = shared.acks.modack(shared.sub(source), ids, 0).await;
            }
        })
    }

    fn set_deadlines(self: &Arc<Self>, source: Source, ack_ids: Vec<(String, i32)>) {
        if ack_ids.is_empty() {
            return;
        }
        let mut by_secs: std::collections::BTreeMap<i32, Vec<String>> = Default::default();
        for (ack_id, secs) in ack_ids {
            by_secs.entry(secs).or_default().push(ack_id);
        }
        for (secs, ids) in by_secs {
            let shared = self.clone();
            // Failing only means they come back after the stream's deadline.
            tokio::spawn(async move {
                let _ = shared.acks.modack(shared.sub(source), ids, secs).await;
            });
        }
    }

    /// Takes in what the stream of `source` reported; while `stopping`, what a closed
    /// stream buffered stays for the final hand-back.
    fn take_in(self: &Arc<Self>, source: Source, event: Event, stopping: bool) {
        let now = Instant::now().into_std();
        match event {
            Event::Opened(secs) => self.state().stream_is(source, secs),
            Event::Arrived(messages) => {
                let later = self
                    .state()
                    .accept(source, messages, now, SystemTime::now());
                self.arrived.notify_waiters();
                self.set_deadlines(source, later);
            }
            Event::Closed(rest) => {
                let (later, back) = {
                    let mut st = self.state();
                    st.stream_is(source, 0);
                    let later = st.accept(source, rest, now, SystemTime::now());
                    // No demand, or re-opened to grow: hand back what nobody took.
                    let back = if stopping {
                        Vec::new()
                    } else {
                        st.drain_buffer(Some(source))
                    };
                    (later, back)
                };
                self.set_deadlines(source, later);
                self.give_back(back);
            }
            Event::Failed(error) => {
                {
                    let mut st = self.state();
                    st.stream_is(source, 0);
                    st.report(error);
                }
                self.arrived.notify_waiters();
            }
        }
    }

    /// What each stream should be now; on a tick also renews buffered deadlines and hands
    /// back the buffer of an unwanted stream that cannot close yet.
    fn steer(self: &Arc<Self>, controls: &[watch::Sender<Control>; 2], tick: bool) {
        let now = Instant::now().into_std();
        let mut renew: Vec<(Source, i32, Vec<String>)> = Vec::new();
        let mut back = Vec::new();
        {
            let mut st = self.state();
            let wanted = st.wanted(now);
            for source in Source::BOTH {
                let control = &controls[usize::from(source == Source::Retry)];
                let current = *control.borrow();
                let closable = st.closable(source, now);
                let next = match current {
                    Control::Open { room, secs } if wanted => {
                        if st.capacity() > room && closable {
                            Control::Closed
                        } else {
                            Control::Open { room, secs }
                        }
                    }
                    Control::Open { .. } if closable => Control::Closed,
                    Control::Open { .. } => {
                        if tick {
                            back.extend(st.drain_buffer(Some(source)));
                        }
                        current
                    }
                    Control::Closed if wanted => Control::Open {
                        room: st.capacity(),
                        secs: st.stream_deadline(),
                    },
                    other => other,
                };
                if next != current {
                    control.send_replace(next);
                }
                if tick && let Control::Open { secs, .. } = next {
                    renew.push((source, secs, st.keep_alive(source, secs, now)));
                }
            }
        }
        if !back.is_empty() {
            self.give_back(back);
        }
        for (source, secs, ids) in renew {
            self.set_deadlines(source, ids.into_iter().map(|id| (id, secs)).collect());
        }
    }
}

/// The driver of `shared`, until `stop`; then the streams are closed and the buffer handed
/// back before it returns.
pub(in crate::backend::pubsub) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let controls = [
        watch::Sender::new(Control::Closed),
        watch::Sender::new(Control::Closed),
    ];
    let (main_tx, mut main_rx) = mpsc::unbounded_channel();
    let (retry_tx, mut retry_rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for (source, tx, count) in [
        (Source::Main, main_tx, shared.streams),
        (Source::Retry, retry_tx, 1),
    ] {
        for _ in 0..count {
            let link = stream::Link {
                share: count,
                control: controls[usize::from(source == Source::Retry)].subscribe(),
                events: tx.clone(),
            };
            tasks.push(tokio::spawn(stream::run(
                shared.api.clone(),
                shared.sub(source).to_owned(),
                shared.max_bytes,
                link,
            )));
        }
    }
    let mut tick = tokio::time::interval(TICK);
    loop {
        let ticked = tokio::select! {
            () = stop.cancelled() => break,
            () = shared.demand.notified() => false,
            Some(e) = main_rx.recv() => { shared.take_in(Source::Main, e, false); false }
            Some(e) = retry_rx.recv() => { shared.take_in(Source::Retry, e, false); false }
            _ = tick.tick() => true,
        };
        shared.steer(&controls, ticked);
    }
    for control in &controls {
        control.send_replace(Control::Stop);
    }
    // What was in transit joins the buffer, which is then handed back.
    let mut open = [true, true];
    while open.iter().any(|o| *o) {
        tokio::select! {
            e = main_rx.recv(), if open[0] => match e {
                Some(e) => shared.take_in(Source::Main, e, true),
                None => open[0] = false,
            },
            e = retry_rx.recv(), if open[1] => match e {
                Some(e) => shared.take_in(Source::Retry, e, true),
                None => open[1] = false,
            },
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    let back = shared.state().drain_buffer(None);
    let _ = shared.give_back(back).await;
}
