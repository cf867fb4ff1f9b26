//! [`Acks`]: Acknowledge and ModifyAckDeadline calls, batched per subscription, as
//! Google's client libraries batch them. A request goes at once while no call of its
//! subscription is out; otherwise it waits at most the settle window
//! (`backend.pubsub.settle_window`), or until a call comes back, for others to share its
//! call. A call carries up to [`BATCH`] ack ids, and ModifyAckDeadline groups them by
//! deadline. The caller gets the
//! result of the call that carried its ack ids: an ack is only reported done when Pub/Sub
//! confirmed it. A batch refused as a whole for an argument (a malformed or foreign ack id)
//! is sent again one request at a time, so one bad ack id fails only its own caller.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use super::client::Api;
use crate::backend::BackendError;

/// Ack ids per call (Google's clients send at most 2 500; a request must stay under
/// 512 KiB).
pub(super) const BATCH: usize = 1000;

type Reply = oneshot::Sender<Result<(), BackendError>>;

/// What to do with some ack ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Ack,
    Deadline(i32),
}

#[derive(Debug)]
struct Request {
    op: Op,
    ack_ids: Vec<String>,
    reply: Reply,
}

/// Batches acks and deadline changes per subscription.
#[derive(Debug)]
pub(super) struct Acks {
    api: Api,
    window: Duration,
    lanes: Mutex<HashMap<String, mpsc::UnboundedSender<Request>>>,
}

impl Acks {
    /// A batcher on `api` that waits up to `window` for a batch to fill.
    pub fn new(api: Api, window: Duration) -> Self {
        Self {
            api,
            window,
            lanes: Mutex::default(),
        }
    }

    /// Acknowledges `ack_ids` of subscription `sub`.
    pub async fn ack(&self, sub: &str, ack_ids: Vec<String>) -> Result<(), BackendError> {
        self.submit(sub, Op::Ack, ack_ids).await
    }

    /// Sets the ack deadline of `ack_ids` of subscription `sub` to `secs` from now (0
    /// hands them back at once).
    pub async fn modack(
        &self,
        sub: &str,
        ack_ids: Vec<String>,
        secs: i32,
    ) -> Result<(), BackendError> {
        self.submit(sub, Op::Deadline(secs.clamp(0, 600)), ack_ids)
            .await
    }

    fn start_lane(&self, sub: &str) -> mpsc::UnboundedSender<Request> {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(lane(self.api.clone(), sub.to_owned(), self.window, rx));
        tx
    }

    async fn submit(&self, sub: &str, op: Op, ack_ids: Vec<String>) -> Result<(), BackendError> {
        if ack_ids.is_empty() {
            return Ok(());
        }
        let (reply, result) = oneshot::channel();
        let request = Request { op, ack_ids, reply };
        {
            let mut lanes = self
                .lanes
                .lock()
                .map_err(|_| BackendError::Other("ack batcher lock poisoned".into()))?;
            let sender = lanes
                .entry(sub.to_owned())
                .or_insert_with(|| self.start_lane(sub));
            if let Err(mpsc::error::SendError(request)) = sender.send(request) {
                // The lane's task ended (its runtime is gone): start a new one.
                let fresh = self.start_lane(sub);
                let _ = fresh.send(request);
                *sender = fresh;
            }
        }
        result
            .await
            .unwrap_or_else(|_| Err(BackendError::Other("the ack batch was dropped".into())))
    }
}

/// Collects the requests of one subscription into calls and sends them: at once while no
/// call of the lane is out, else when the window has passed, a call came back or a batch
/// is full (so a quiet subscription pays no window, a busy one shares calls).
async fn lane(api: Api, sub: String, window: Duration, mut rx: mpsc::UnboundedReceiver<Request>) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<()>();
    let mut out = 0usize;
    loop {
        let first = tokio::select! {
            r = rx.recv() => match r {
                Some(r) => r,
                None => return,
            },
            Some(()) = done_rx.recv() => {
                out -= 1;
                continue;
            }
        };
        let mut batches: HashMap<Op, (usize, Vec<Request>)> = HashMap::new();
        let mut full = add(&mut batches, first);
        while !full && let Ok(r) = rx.try_recv() {
            full = add(&mut batches, r);
        }
        let deadline = Instant::now() + window;
        while !full && out > 0 {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(r) => full = add(&mut batches, r),
                    None => break,
                },
                Some(()) = done_rx.recv() => out -= 1,
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        for (op, (_, requests)) in batches {
            out += 1;
            let done = done_tx.clone();
            let (api, sub) = (api.clone(), sub.clone());
            tokio::spawn(async move {
                send(api, sub, op, requests).await;
                let _ = done.send(());
            });
        }
    }
}

/// Adds `r` to its batch; whether that batch is full.
fn add(batches: &mut HashMap<Op, (usize, Vec<Request>)>, r: Request) -> bool {
    let (count, requests) = batches.entry(r.op).or_default();
    *count += r.ack_ids.len();
    requests.push(r);
    *count >= BATCH
}

async fn send(api: Api, sub: String, op: Op, requests: Vec<Request>) {
    let ack_ids: Vec<String> = requests
        .iter()
        .flat_map(|r| r.ack_ids.iter().cloned())
        .collect();
    let result = call(&api, &sub, op, ack_ids).await;
    match result {
        Err(BackendError::Queue { .. }) if requests.len() > 1 => {
            for r in requests {
                let one = call(&api, &sub, op, r.ack_ids).await;
                let _ = r.reply.send(one);
            }
        }
        result => {
            for r in requests {
                let _ = r.reply.send(copy_result(&result));
            }
        }
    }
}

async fn call(api: &Api, sub: &str, op: Op, ack_ids: Vec<String>) -> Result<(), BackendError> {
    match op {
        Op::Ack => api.ack(sub, ack_ids).await,
        Op::Deadline(secs) => api.modack(sub, ack_ids, secs).await,
    }
}

fn copy_result(r: &Result<(), BackendError>) -> Result<(), BackendError> {
    match r {
        Ok(()) => Ok(()),
        Err(BackendError::LeaseLost(s)) => Err(BackendError::LeaseLost(s.clone())),
        Err(BackendError::Queue { queue, reason }) => Err(BackendError::Queue {
            queue: queue.clone(),
            reason: reason.clone(),
        }),
        Err(BackendError::Unavailable(s)) => Err(BackendError::Unavailable(s.clone())),
        Err(BackendError::Other(s)) => Err(BackendError::Other(s.clone())),
    }
}
