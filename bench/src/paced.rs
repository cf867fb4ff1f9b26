//! `ferry-bench --rate N`: publishes the run's messages at N per second while ferry
//! consumes them, instead of loading them all first. A preloaded queue measures ferry at
//! saturation, where every receive brings a full batch and a message's wait is mostly the
//! batch ahead of it; paced, the receives come back with one or two messages, as they do
//! for most subscriptions most of the time, and the latency is what ferry adds to a
//! message that did not queue. On sqs and pubsub the messages go straight to the queue
//! server; on the embedded queue, whose receives are woken by publishes in ferry's own
//! process only, they go through ferry's gateway (`GatewayService.Publish`), as a
//! producer beside ferry would publish them, and ferry's CPU includes that work.

use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};

use ferry::backend::NewMessage;
use ferry_sdk::{GatewayClient, Outgoing};
use futures::{StreamExt as _, stream::FuturesUnordered};
use tokio::time::{Instant, MissedTickBehavior};

use crate::backends::BenchBackend;

/// Where the paced messages are published.
pub enum Publisher<'a> {
    /// Straight to the queue server.
    Backend(&'a BenchBackend),
    /// Through ferry's gateway.
    Gateway(GatewayClient),
}

impl Publisher<'_> {
    /// Connects to ferry's gateway at `addr` once it listens (within 30 s).
    pub async fn gateway(addr: &str) -> Publisher<'static> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match GatewayClient::connect(addr).await {
                Ok(client) => return Publisher::Gateway(client),
                Err(e) if Instant::now() > deadline => panic!("ferry's gateway at {addr}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    async fn publish(&self, queue: &str, k: usize, payload: &[u8]) -> Vec<String> {
        match self {
            Self::Backend(backend) => {
                let batch = (0..k)
                    .map(|_| NewMessage::new(queue, payload.to_vec()))
                    .collect();
                backend.publish(batch).await
            }
            Self::Gateway(client) => {
                let batch = (0..k)
                    .map(|_| Outgoing::new(queue, payload.to_vec()))
                    .collect();
                client.publish(batch).await.unwrap()
            }
        }
    }
}

/// The shortest gap between two publishes: at higher rates a publish carries several
/// messages (one `SendMessageBatch` of up to ten on SQS), at most ten, so the pacing
/// tops out at 10 000 messages per second.
const TICK: Duration = Duration::from_millis(1);

/// Publishes `n` messages of `size` bytes to `queue` at `rate` per second, each publish
/// on its own (several may be in flight), and returns when each message's publish call
/// returned, by message id.
pub async fn publish(
    publisher: &Publisher<'_>,
    queue: &str,
    n: usize,
    size: usize,
    rate: u32,
) -> HashMap<String, SystemTime> {
    let per_second = f64::from(rate.max(1));
    let gap = TICK.max(Duration::from_secs_f64(1.0 / per_second));
    let mut ticks = tokio::time::interval(gap);
    // Late ticks are not made up in a burst: the rate is kept, not the count per tick.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let payload = vec![b'x'; size];
    let started = Instant::now();
    let mut sent = 0usize;
    let mut published = HashMap::with_capacity(n);
    let mut in_flight = FuturesUnordered::new();
    while sent < n || !in_flight.is_empty() {
        tokio::select! {
            _ = ticks.tick(), if sent < n => {
                let due = (started.elapsed().as_secs_f64() * per_second).ceil() as usize;
                let k = due.min(n).saturating_sub(sent).clamp(1, 10).min(n - sent);
                sent += k;
                in_flight.push(publisher.publish(queue, k, &payload));
            }
            Some(ids) = in_flight.next() => {
                let at = SystemTime::now();
                for id in ids {
                    published.insert(id, at);
                }
            }
        }
    }
    published
}
