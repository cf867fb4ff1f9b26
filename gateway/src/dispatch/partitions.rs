//! [`Source`]: where a poller receives from — the subscription's queue, or, for a
//! partitioned subscription (`queue_prefix`), every queue whose name starts with the
//! prefix, one queue per realm (the realm is the rest of the name).
//!
//! A partitioned source re-lists the queues every `discovery_interval`, so a new realm's
//! queue is picked up without a restart. Each receive takes from one queue, starting after
//! the queue served last (round robin), skips realms already at `max_in_flight_per_realm`
//! and asks a realm for no more than its room, so one busy realm never holds others up
//! and nothing needs handing back. Queues are first tried without waiting; when none has
//! a message, the next one is long-polled for `receive_wait` (so an idle subscription
//! costs one request per queue and one long poll per `receive_wait`).

use std::time::Duration;

use tokio::time::Instant;

use super::SubscriptionContext;
use crate::{
    backend::{Backend, BackendError, Received},
    message::Inspected,
};

/// What a poller receives from.
#[derive(Debug)]
pub(super) enum Source {
    /// The subscription's queue.
    Queue,
    /// Every queue with the subscription's prefix.
    Partitioned(Partitions),
}

/// The state of a partitioned source.
#[derive(Debug)]
pub(super) struct Partitions {
    prefix: String,
    /// Discovered queues, sorted.
    queues: Vec<String>,
    /// The position to try first.
    next: usize,
    refreshed: Option<Instant>,
}

fn last_segment(queue: &str) -> &str {
    queue.rsplit('/').next().unwrap_or(queue)
}

impl Source {
    /// The source of poller number `index` of `sub`.
    pub(super) fn new(sub: &SubscriptionContext, index: usize) -> Self {
        match &sub.config.queue_prefix {
            None => Self::Queue,
            Some(prefix) => Self::Partitioned(Partitions {
                prefix: prefix.clone(),
                queues: Vec::new(),
                next: index,
                refreshed: None,
            }),
        }
    }

    /// Receives up to `max` messages.
    pub(super) async fn receive(
        &mut self,
        sub: &SubscriptionContext,
        max: usize,
    ) -> Result<Vec<Received>, BackendError> {
        match self {
            Self::Queue => {
                sub.backend
                    .receive(
                        &sub.queue,
                        max,
                        sub.config.lease.get(),
                        sub.config.receive_wait.get(),
                    )
                    .await
            }
            Self::Partitioned(p) => p.receive(sub, max).await,
        }
    }

    /// Sets the realm of a message of a partitioned source to its queue's suffix.
    pub(super) fn assign_realm(&self, msg: &Received, mut inspected: Inspected) -> Inspected {
        if let Self::Partitioned(p) = self
            && let Some(realm) = last_segment(&msg.queue).strip_prefix(p.prefix.as_str())
        {
            realm.clone_into(&mut inspected.realm);
        }
        inspected
    }
}

/// The realm queues of a partitioned subscription: every queue named `<prefix><realm>`,
/// sorted, except its error queue.
pub async fn realm_queues(
    backend: &dyn Backend,
    prefix: &str,
    error_queue: &str,
) -> Result<Vec<String>, BackendError> {
    let discovery = backend.discovery().ok_or_else(|| {
        BackendError::Other(format!(
            "the {} backend cannot list queues for queue_prefix",
            backend.kind()
        ))
    })?;
    let found = discovery.queues_with_prefix(prefix).await?;
    let error_queue = last_segment(error_queue);
    Ok(found
        .into_iter()
        .filter(|q| q.as_str() != error_queue && q.len() > prefix.len())
        .collect())
}

impl Partitions {
    async fn refresh(&mut self, sub: &SubscriptionContext) -> Result<(), BackendError> {
        let due = self
            .refreshed
            .is_none_or(|t| t.elapsed() >= sub.config.discovery_interval.get());
        if !due {
            return Ok(());
        }
        self.queues = realm_queues(sub.backend.as_ref(), &self.prefix, &sub.error_queue).await?;
        self.refreshed = Some(Instant::now());
        Ok(())
    }

    fn realm<'a>(&self, queue: &'a str) -> &'a str {
        queue.get(self.prefix.len()..).unwrap_or_default()
    }

    /// The positions to try, from `next` on, with the room of each realm.
    fn candidates(&self, sub: &SubscriptionContext, max: usize) -> Vec<(usize, usize)> {
        let n = self.queues.len();
        (0..n)
            .map(|step| (self.next + step) % n)
            .filter_map(|i| {
                let room = sub
                    .admission
                    .realm_room(self.realm(&self.queues[i]))
                    .map_or(max, |r| r.min(max));
                (room > 0).then_some((i, room))
            })
            .collect()
    }

    async fn receive(
        &mut self,
        sub: &SubscriptionContext,
        max: usize,
    ) -> Result<Vec<Received>, BackendError> {
        if let Err(e) = self.refresh(sub).await
            && self.queues.is_empty()
        {
            return Err(e);
        }
        let candidates = self.candidates(sub, max);
        if candidates.is_empty() {
            // No queue yet, or every realm at its limit.
            let pause = if self.queues.is_empty() {
                sub.config.receive_wait.get()
            } else {
                sub.config.realm_requeue_delay.get()
            };
            tokio::time::sleep(pause.max(Duration::from_millis(10))).await;
            return Ok(Vec::new());
        }
        for &(i, room) in &candidates {
            let batch = sub
                .backend
                .receive(
                    &self.queues[i],
                    room,
                    sub.config.lease.get(),
                    Duration::ZERO,
                )
                .await;
            match batch {
                Ok(batch) if batch.is_empty() => {}
                Ok(batch) => {
                    self.next = i + 1;
                    return Ok(batch);
                }
                // A realm's queue was deleted: forget it until the next discovery.
                Err(BackendError::Queue { .. }) => self.refreshed = None,
                Err(e) => return Err(e),
            }
        }
        let (i, room) = candidates[0];
        self.next = i + 1;
        let batch = sub
            .backend
            .receive(
                &self.queues[i],
                room,
                sub.config.lease.get(),
                sub.config.receive_wait.get(),
            )
            .await;
        if let Err(BackendError::Queue { .. }) = &batch {
            self.refreshed = None;
        }
        batch
    }
}
