//! [`PubsubBackend`]: the [`Backend`] trait over Pub/Sub. A ferry queue is a subscription
//! (receive, settle) or a topic (publish, error queue); each consumed subscription has a
//! [`Feed`] with the streaming pulls of the subscription and of its retry subscription,
//! opened on the first receive. Acks and deadline changes go through the batcher
//! ([`Acks`]).

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use gcloud_googleapis::pubsub::v1::PubsubMessage;

use super::{
    PubsubConfig,
    acks::Acks,
    attrs::{self, Carry, carry},
    client::Api,
    feed::{Feed, FeedSetup, state::Source},
    monitoring::Monitoring,
};
use crate::backend::{
    Backend, BackendError, DeadLetterAdmin, DeadLetterStory, Failure, NewMessage, Preflight,
    QueuePlan, Receipt, Received, STORY_PREFIX, SampledStats,
};

/// Google Cloud Pub/Sub (or its emulator).
#[derive(Clone)]
pub struct PubsubBackend {
    pub(super) api: Api,
    pub(super) acks: Arc<Acks>,
    pub(super) config: PubsubConfig,
    feeds: Arc<Mutex<HashMap<String, Arc<Feed>>>>,
    /// The `max_in_flight` announced per subscription ([`Backend::plan_receive`]).
    planned: Arc<Mutex<HashMap<String, usize>>>,
    /// The error topics known to have their subscription (made at start-up by
    /// [`Backend::provision`], or on the first dead letter into a topic no subscription
    /// named). Held while one is made, so a burst of first dead letters waits for that
    /// creation to finish: one told "already exists" while another's creation was still
    /// under way could publish before the subscription was attached to the topic, and its
    /// letter was lost (seen on the emulator).
    pub(super) error_subs: Arc<tokio::sync::Mutex<HashSet<String>>>,
    /// Where queue depths are read, if anywhere.
    pub(super) monitoring: Option<Arc<Monitoring>>,
}

impl std::fmt::Debug for PubsubBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubsubBackend")
            .field("project", &self.config.project)
            .finish_non_exhaustive()
    }
}

impl PubsubBackend {
    /// Connects to the project in `config` (the emulator when one is configured).
    pub async fn open(config: &PubsubConfig) -> Result<Self, BackendError> {
        let api = Api::connect(config).await?;
        let monitoring = Monitoring::new(config).await?.map(Arc::new);
        Ok(Self {
            acks: Arc::new(Acks::new(api.clone(), config.settle_window.get())),
            api,
            config: config.clone(),
            feeds: Arc::default(),
            planned: Arc::default(),
            error_subs: Arc::default(),
            monitoring,
        })
    }

    pub(super) fn existing_feed(&self, queue: &str) -> Option<Arc<Feed>> {
        self.feeds.lock().ok()?.get(queue).cloned()
    }

    /// The subscription id of `source` for ferry queue `queue`.
    pub(super) fn sub_of(&self, queue: &str, source: Source) -> String {
        match source {
            Source::Main => queue.to_owned(),
            Source::Retry => self.config.retry_id(queue),
        }
    }

    async fn feed(&self, queue: &str) -> Result<Arc<Feed>, BackendError> {
        if let Some(f) = self.existing_feed(queue) {
            return Ok(f);
        }
        let info = self
            .api
            .sub_info(queue)
            .await?
            .ok_or_else(|| BackendError::Queue {
                queue: queue.to_owned(),
                reason: "no such Pub/Sub subscription".into(),
            })?;
        let retry = self.config.retry_id(queue);
        let retry_info = self
            .api
            .sub_info(&retry)
            .await?
            .ok_or_else(|| BackendError::Queue {
                queue: retry.clone(),
                reason: format!("the retry subscription of `{queue}` does not exist"),
            })?;
        let planned = self
            .planned
            .lock()
            .ok()
            .and_then(|p| p.get(queue).copied())
            .unwrap_or(0);
        let setup = FeedSetup {
            subs: [queue.to_owned(), retry],
            native: [
                info.native_max_attempts.is_some(),
                retry_info.native_max_attempts.is_some(),
            ],
            retry_topic: retry_info.topic,
            max_bytes: u64::from(self.config.max_outstanding_bytes.get()),
            streams: self.config.streams.non_zero(),
            planned,
            memory: self.config.attempt_memory.usize(),
        };
        let feed = Arc::new(Feed::new(self.api.clone(), self.acks.clone(), setup));
        let mut feeds = self
            .feeds
            .lock()
            .map_err(|_| BackendError::Other("feed map poisoned".into()))?;
        Ok(feeds.entry(queue.to_owned()).or_insert(feed).clone())
    }

    /// Makes sure the error topic `topic` has its subscription of the same id (created on
    /// demand, with the topic if needed), so dead letters are kept and can be listed.
    pub(super) async fn ensure_error_subscription(&self, topic: &str) -> Result<(), BackendError> {
        let mut known = self.error_subs.lock().await;
        if known.contains(topic) {
            return Ok(());
        }
        match self.api.sub_info(topic).await? {
            Some(info) if info.topic == topic => {}
            Some(info) => {
                return Err(BackendError::Queue {
                    queue: topic.to_owned(),
                    reason: format!(
                        "the subscription `{topic}` reads topic `{}`, not the error topic `{topic}`",
                        info.topic
                    ),
                });
            }
            None => {
                self.api.ensure_topic(topic).await?;
                let settings = gcloud_pubsub::subscription::SubscriptionConfig {
                    ack_deadline_seconds: 60,
                    ..Default::default()
                };
                self.api.ensure_subscription(topic, topic, settings).await?;
            }
        }
        known.insert(topic.to_owned());
        Ok(())
    }
}

/// A Pub/Sub message from a [`NewMessage`].
fn outgoing(m: NewMessage) -> PubsubMessage {
    let mut attributes: HashMap<String, String> = m.attributes.into_iter().collect();
    if let Some(d) = m.dedup_id {
        attributes.insert(attrs::DEDUP_ID.to_owned(), d);
    }
    if let Some(t) = m.deliver_at {
        attributes.insert(attrs::DELIVER_AT.to_owned(), attrs::to_ms(t).to_string());
    }
    PubsubMessage {
        data: m.payload.to_vec(),
        attributes,
        ordering_key: m.ordering_key.unwrap_or_default(),
        ..PubsubMessage::default()
    }
}

#[async_trait]
impl Backend for PubsubBackend {
    fn kind(&self) -> &'static str {
        "pubsub"
    }

    /// 7 days: Pub/Sub's default message retention. A message waiting for a later delivery
    /// time stays in its subscription, and is gone after the retention period.
    fn horizon(&self) -> Duration {
        Duration::from_secs(7 * 24 * 3600)
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        self.feed(queue).await?.receive(max, lease, wait).await
    }

    async fn extend(
        &self,
        queue: &str,
        receipt: &Receipt,
        lease: Duration,
    ) -> Result<(), BackendError> {
        let secs = attrs::deadline_secs(lease).max(1);
        let (source, ack_id) = Source::of_receipt(&receipt.0);
        self.acks
            .modack(&self.sub_of(queue, source), vec![ack_id.to_owned()], secs)
            .await
    }

    async fn ack(&self, queue: &str, receipt: &Receipt) -> Result<(), BackendError> {
        if let Some(f) = self.existing_feed(queue)
            && let Some(h) = f.forget(&receipt.0)
        {
            f.finished(&h);
        }
        let (source, ack_id) = Source::of_receipt(&receipt.0);
        self.acks
            .ack(&self.sub_of(queue, source), vec![ack_id.to_owned()])
            .await
    }

    async fn release(
        &self,
        queue: &str,
        receipt: &Receipt,
        delay: Duration,
        failure: Option<&Failure>,
    ) -> Result<(), BackendError> {
        self.release_delivery(queue, receipt, delay, failure).await
    }

    async fn dead_letter(
        &self,
        message: &Received,
        error_queue: &str,
        story: &DeadLetterStory,
    ) -> Result<(), BackendError> {
        let feed = self.existing_feed(&message.queue);
        let held = feed.as_ref().and_then(|f| f.forget(&message.receipt.0));
        if let (Some(f), Some(h)) = (&feed, &held) {
            f.finished(h);
        }
        self.ensure_error_subscription(error_queue).await?;
        let mut attributes: HashMap<String, String> =
            message.attributes.clone().into_iter().collect();
        attributes.extend(story.to_attributes());
        attributes.extend(carry(&Carry {
            id: &message.id,
            dedup_id: message.dedup_id.as_deref(),
            published_at: message.published_at,
            ..Carry::default()
        }));
        if let Some(raw) = held.and_then(|h| h.raw_attributes) {
            attributes.insert(format!("{STORY_PREFIX}raw_attributes"), raw);
        }
        let letter = PubsubMessage {
            data: message.payload.to_vec(),
            attributes,
            ..PubsubMessage::default()
        };
        self.api.publish(error_queue, vec![letter]).await?;
        let (source, ack_id) = Source::of_receipt(&message.receipt.0);
        self.acks
            .ack(
                &self.sub_of(&message.queue, source),
                vec![ack_id.to_owned()],
            )
            .await
    }

    async fn publish(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, BackendError> {
        let mut ids = Vec::with_capacity(messages.len());
        let mut batch: Vec<PubsubMessage> = Vec::new();
        let mut topic = String::new();
        for m in messages {
            if m.queue != topic && !batch.is_empty() {
                ids.extend(self.api.publish(&topic, std::mem::take(&mut batch)).await?);
            }
            topic.clone_from(&m.queue);
            batch.push(outgoing(m));
        }
        if !batch.is_empty() {
            ids.extend(self.api.publish(&topic, batch).await?);
        }
        Ok(ids)
    }

    async fn provision(&self, plans: &[QueuePlan]) -> Result<(), BackendError> {
        for plan in plans {
            self.ensure_error_subscription(&plan.error_queue)
                .await
                .map_err(|e| {
                    BackendError::Other(format!(
                        "subscriptions.{}.error_queue: {e}",
                        plan.subscription
                    ))
                })?;
        }
        Ok(())
    }

    fn plan_receive(&self, queue: &str, max_in_flight: usize) {
        if let Ok(mut p) = self.planned.lock() {
            p.insert(queue.to_owned(), max_in_flight);
        }
    }

    async fn stop_receiving(&self, queue: &str) {
        if let Some(feed) = self.existing_feed(queue) {
            feed.stop().await;
        }
    }

    fn dead_letters(&self) -> Option<&dyn DeadLetterAdmin> {
        Some(self)
    }

    fn preflight(&self) -> Option<&dyn Preflight> {
        Some(self)
    }

    fn sampled_stats(&self) -> Option<&dyn SampledStats> {
        self.monitoring.as_deref().map(|m| m as &dyn SampledStats)
    }

    fn no_counts_reason(&self) -> String {
        "the pubsub backend reports no queue counts: Pub/Sub's API has none and the emulator no \
         Cloud Monitoring (set backend.pubsub.monitoring_endpoint to read one)"
            .to_owned()
    }
}
