//! The baseline of `--backend pubsub --baseline`: a direct consumer written with
//! gcloud-pubsub, the way a team would without ferry. It uses the crate's own streaming
//! pull (`Subscription::subscribe`) with the same ack deadline and number of streams, each
//! asking for `max_in_flight` messages outstanding (ferry divides that among its streams;
//! the emulator enforces neither), holds at most `max_in_flight` messages at once, calls the same no-op handler (records the
//! start time, reads the attributes and `delivery_attempt`) in-process instead of over
//! gRPC, and acknowledges in batches the way ferry does: at once while no Acknowledge is
//! out, else waiting at most `window` (or until one comes back) for others, up to 1 000
//! ack ids per Acknowledge. A message's slot is free once its ack is confirmed, as in
//! ferry.
//! ferry's throughput divided by this one is the ratio the Pub/Sub backend is held to.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use futures::StreamExt;
use gcloud_pubsub::{
    client::Client,
    subscriber::SubscriberConfig,
    subscription::{SubscribeConfig, Subscription},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// Ack ids per Acknowledge (ferry's batch size too).
const BATCH: usize = 1000;

/// What the baseline measured.
pub struct Baseline {
    /// From opening the stream to the last confirmed ack.
    pub elapsed: Duration,
}

/// The handler: the same work as the benchmark's no-op worker.
fn handle(
    starts: &Mutex<HashMap<String, SystemTime>>,
    m: &gcloud_pubsub::subscriber::ReceivedMessage,
) {
    let _ = (m.message.attributes.len(), m.delivery_attempt());
    starts
        .lock()
        .unwrap()
        .entry(m.message.message_id.clone())
        .or_insert_with(SystemTime::now);
}

/// Consumes `n` messages from subscription `sub`, acks batched within `window`.
pub async fn consume(
    client: &Client,
    sub: &str,
    n: usize,
    max_in_flight: usize,
    ack_deadline: i32,
    window: Duration,
    streams: usize,
) -> Baseline {
    let subscription = client.subscription(sub);
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let starts: Arc<Mutex<HashMap<String, SystemTime>>> = Arc::default();
    let (acks, rx) = mpsc::unbounded_channel();
    let started = Instant::now();
    let acker = tokio::spawn(acknowledge(subscription.clone(), rx, n, window));
    let config = SubscribeConfig::default().with_subscriber_config(SubscriberConfig {
        stream_ack_deadline_seconds: ack_deadline,
        max_outstanding_messages: i64::try_from(max_in_flight).unwrap_or(i64::MAX),
        ..SubscriberConfig::default()
    });
    let mut opened = Vec::new();
    for _ in 0..streams.max(1) {
        opened.push(subscription.subscribe(Some(config.clone())).await.unwrap());
    }
    let mut stream = futures::stream::select_all(opened);
    let mut received = 0;
    while received < n {
        let permit = slots.clone().acquire_owned().await.unwrap();
        let Some(m) = stream.next().await else { break };
        received += 1;
        let (acks, starts) = (acks.clone(), starts.clone());
        tokio::spawn(async move {
            handle(&starts, &m);
            let _ = acks.send((m.ack_id().to_owned(), permit));
        });
    }
    acker.await.unwrap();
    let elapsed = started.elapsed();
    for s in stream.into_iter() {
        s.dispose().await;
    }
    Baseline { elapsed }
}

/// Sends the acks of `rx` in batches until `n` are confirmed, the way ferry batches them
/// (`gateway/src/backend/pubsub/acks.rs`): at once while no Acknowledge is out, else when
/// `window` has passed, one came back or the batch is full.
async fn acknowledge(
    subscription: Subscription,
    mut rx: mpsc::UnboundedReceiver<(String, OwnedSemaphorePermit)>,
    n: usize,
    window: Duration,
) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<usize>();
    let mut confirmed = 0;
    let mut out = 0usize;
    while confirmed < n {
        let first = tokio::select! {
            first = rx.recv() => match first {
                Some(a) => a,
                None => break,
            },
            Some(count) = done_rx.recv() => {
                out -= 1;
                confirmed += count;
                continue;
            }
        };
        let mut batch = vec![first];
        while batch.len() < BATCH
            && let Ok(a) = rx.try_recv()
        {
            batch.push(a);
        }
        let deadline = tokio::time::Instant::now() + window;
        while batch.len() < BATCH && out > 0 {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(a) => batch.push(a),
                    None => break,
                },
                Some(count) = done_rx.recv() => {
                    out -= 1;
                    confirmed += count;
                }
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        out += 1;
        let (subscription, done) = (subscription.clone(), done_tx.clone());
        tokio::spawn(async move {
            let (ids, permits): (Vec<String>, Vec<OwnedSemaphorePermit>) =
                batch.into_iter().unzip();
            let count = ids.len();
            subscription.ack(ids).await.expect("acknowledging");
            drop(permits);
            let _ = done.send(count);
        });
    }
    while confirmed < n {
        match done_rx.recv().await {
            Some(count) => confirmed += count,
            None => break,
        }
    }
}
