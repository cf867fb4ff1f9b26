//! [`SqsBackend`]: the [`Backend`] trait on SQS. Receive and publish live in their own
//! modules; this one holds the settle side: ack (batched delete), retry (batched
//! visibility change), uncounted hand-back (a re-sent copy on standard queues) and
//! dead-lettering (a copy with the story in the error queue, then a delete).

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use aws_sdk_sqs::Client;

use super::{
    SqsConfig,
    batch::Batcher,
    client::{Urls, connect, is_fifo, queue_name},
    codec::{Meta, describe_raw, encode, story_json, to_ms},
    config::{SQS_MAX_DELAY, SQS_MAX_VISIBILITY},
    memory::{Leased, Leases, Ledger},
    publish::{Outgoing, ceil_secs},
};
use crate::backend::{
    Backend, BackendError, DeadLetterAdmin, DeadLetterStory, Failure, NewMessage, Preflight,
    QueueDiscovery, QueueStats, Receipt, Received, STORY_PREFIX,
};

/// Amazon SQS (or a compatible server such as ElasticMQ).
#[derive(Clone)]
pub struct SqsBackend {
    pub(super) client: Client,
    pub(super) config: SqsConfig,
    pub(super) urls: Arc<Urls>,
    pub(super) leases: Arc<Leases>,
    pub(super) ledger: Arc<Ledger>,
    pub(super) batcher: Arc<Batcher>,
}

impl std::fmt::Debug for SqsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SqsBackend {
    /// Connects with the standard AWS chain and `config`'s region and endpoint. Fails when
    /// no region or no credentials can be found; queues are checked by the preflight.
    pub async fn open(config: &SqsConfig) -> Result<Self, BackendError> {
        let client = connect(config).await?;
        Ok(Self {
            batcher: Arc::new(Batcher::new(client.clone(), config.settle_window.get())),
            ledger: Arc::new(Ledger::new(config.failure_memory.usize())),
            client,
            config: config.clone(),
            urls: Arc::default(),
            leases: Arc::default(),
        })
    }

    /// The SDK client (for tools and tests that need raw access to the same server).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The URL of `queue` (a name or URL).
    pub async fn queue_url(&self, queue: &str) -> Result<String, BackendError> {
        self.urls.get(&self.client, queue).await
    }

    fn leased(&self, receipt: &Receipt) -> Result<std::sync::Arc<Leased>, BackendError> {
        self.leases
            .get(&receipt.0)
            .ok_or_else(|| BackendError::LeaseLost(receipt.0.clone()))
    }

    /// Names the message in a lost-lease error instead of its receipt handle.
    fn named(e: BackendError, id: &str) -> BackendError {
        match e {
            BackendError::LeaseLost(_) => BackendError::LeaseLost(id.to_owned()),
            other => other,
        }
    }

    /// The visibility timeout for `delay` of the leased message ([`visibility_secs`]).
    fn visibility(leased: &Leased, delay: Duration) -> i32 {
        visibility_secs(leased.leased_at.elapsed(), delay)
    }

    /// Hands a message back without counting the attempt: on a standard queue a copy
    /// carrying the attempts spent so far replaces it; on a FIFO queue (where a copy would
    /// lose its place in the group) the visibility is reset and the receive remembered as
    /// uncounted in memory.
    async fn hand_back(
        &self,
        leased: &Leased,
        receipt: &str,
        delay: Duration,
    ) -> Result<(), BackendError> {
        let fifo = is_fifo(&leased.url);
        if !fifo && !leased.malformed {
            let failure = self
                .ledger
                .get(&leased.id)
                .failure
                .or_else(|| leased.failure.clone());
            let meta = Meta {
                id: Some(leased.id.clone()),
                spent: leased.attempt.saturating_sub(1),
                sent_at: Some(to_ms(leased.published_at)),
                first_failure_at: failure.as_ref().map(|f| to_ms(f.first_at)),
                last_failure_at: failure.as_ref().map(|f| to_ms(f.last_at)),
                last_error: failure.as_ref().map(|f| f.last_error.clone()),
                ..leased.meta.clone()
            };
            let meta = Meta {
                attributes: Default::default(),
                body: None,
                ..meta
            };
            let copy =
                encode(&leased.payload, &leased.attributes, meta, None).map(|encoded| Outgoing {
                    encoded,
                    delay: ceil_secs(delay.min(SQS_MAX_DELAY)),
                    group_id: None,
                    dedup_id: None,
                });
            if let Ok(copy) = copy
                && self
                    .send_copy(queue_name(&leased.url), &leased.url, &copy)
                    .await
                    .is_ok()
            {
                return self.batcher.delete(&leased.url, receipt).await;
            }
            // The copy could not be sent: keep the message where it is; the hand-back is
            // remembered in memory only.
        }
        self.ledger.update(&leased.id, |e| e.uncounted += 1);
        self.batcher
            .change_visibility(&leased.url, receipt, Self::visibility(leased, delay))
            .await
    }
}

#[async_trait]
impl Backend for SqsBackend {
    fn kind(&self) -> &'static str {
        "sqs"
    }

    fn prepares_receive_inline(&self) -> bool {
        // The SDK builds and signs the `ReceiveMessage` request on the calling task.
        true
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        self.receive_from(queue, max, lease, wait).await
    }

    async fn extend(
        &self,
        _queue: &str,
        receipt: &Receipt,
        lease: Duration,
    ) -> Result<(), BackendError> {
        let leased = self.leased(receipt)?;
        self.batcher
            .change_visibility(&leased.url, &receipt.0, Self::visibility(&leased, lease))
            .await
            .map_err(|e| Self::named(e, &leased.id))
    }

    async fn ack(&self, _queue: &str, receipt: &Receipt) -> Result<(), BackendError> {
        let leased = self.leased(receipt)?;
        let result = self.batcher.delete(&leased.url, &receipt.0).await;
        self.leases.remove(&receipt.0);
        if result.is_ok() {
            self.ledger.forget(&leased.id);
        }
        result.map_err(|e| Self::named(e, &leased.id))
    }

    async fn release(
        &self,
        _queue: &str,
        receipt: &Receipt,
        delay: Duration,
        failure: Option<&Failure>,
    ) -> Result<(), BackendError> {
        let leased = self.leased(receipt)?;
        let result = match failure {
            Some(f) => {
                self.ledger
                    .update(&leased.id, |e| e.failure = Some(f.clone()));
                self.batcher
                    .change_visibility(&leased.url, &receipt.0, Self::visibility(&leased, delay))
                    .await
            }
            None => self.hand_back(&leased, &receipt.0, delay).await,
        };
        self.leases.remove(&receipt.0);
        result.map_err(|e| Self::named(e, &leased.id))
    }

    async fn dead_letter(
        &self,
        message: &Received,
        error_queue: &str,
        story: &DeadLetterStory,
    ) -> Result<(), BackendError> {
        let leased = self.leased(&message.receipt)?;
        let url = self.urls.get(&self.client, error_queue).await?;
        let copy = if leased.malformed {
            // Kept verbatim: the raw body, the raw attributes that still fit, and their
            // description in the story.
            let story = story_json(story, Some(describe_raw(Some(&leased.raw))));
            let mut encoded = encode(b"x", &Default::default(), Meta::default(), Some(story))
                .map_err(BackendError::Other)?;
            encoded.body.clone_from(&leased.body);
            let raw = leased
                .raw
                .iter()
                .filter(|(k, _)| k.as_str() != super::codec::STORY);
            for (k, v) in raw.take(super::codec::MAX_ATTRIBUTES - 1) {
                encoded.attributes.insert(k.clone(), v.clone());
            }
            encoded
        } else {
            let own = leased
                .attributes
                .iter()
                .filter(|(k, _)| !k.starts_with(STORY_PREFIX))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let meta = Meta {
                id: Some(leased.id.clone()),
                sent_at: Some(to_ms(leased.published_at)),
                dedup_id: message.dedup_id.clone(),
                ..Meta::default()
            };
            encode(&leased.payload, &own, meta, Some(story_json(story, None)))
                .map_err(BackendError::Other)?
        };
        let fifo = is_fifo(error_queue);
        let copy = Outgoing {
            encoded: copy,
            delay: 0,
            group_id: fifo.then(|| leased.group_id.clone().unwrap_or_else(|| leased.id.clone())),
            dedup_id: fifo.then(|| uuid::Uuid::new_v4().to_string()),
        };
        self.send_copy(error_queue, &url, &copy).await?;
        let result = self.batcher.delete(&leased.url, &message.receipt.0).await;
        self.leases.remove(&message.receipt.0);
        if result.is_ok() {
            self.ledger.forget(&leased.id);
        }
        result.map_err(|e| Self::named(e, &leased.id))
    }

    async fn publish(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, BackendError> {
        self.publish_all(messages).await
    }

    fn dead_letters(&self) -> Option<&dyn DeadLetterAdmin> {
        Some(self)
    }

    fn stats(&self) -> Option<&dyn QueueStats> {
        Some(self)
    }

    fn preflight(&self) -> Option<&dyn Preflight> {
        Some(self)
    }

    fn discovery(&self) -> Option<&dyn QueueDiscovery> {
        Some(self)
    }
}

/// The visibility timeout for `delay`, of a message received `since_receive` ago: whole
/// seconds, within the 12 hours SQS allows a message to stay invisible after its receive
/// (one second spare, as the call itself takes time). `ferry check` warns about a
/// `backoff.max` beyond it.
pub(super) fn visibility_secs(since_receive: Duration, delay: Duration) -> i32 {
    let left = SQS_MAX_VISIBILITY
        .saturating_sub(since_receive)
        .saturating_sub(Duration::from_secs(1));
    ceil_secs(delay.min(left))
}
