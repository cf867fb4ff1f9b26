//! The Pub/Sub backend's dead-letter capability and its preflight (`ferry check`, and
//! `ferry run` before it starts).
//!
//! An error queue is a topic; its dead letters are read through the subscription of the
//! same id, which ferry creates with the topic when it dead-letters the first message. A
//! listing pulls the messages and gives them back at once (they stay in the error
//! subscription); a redrive pulls them, publishes each to the topic of its source
//! subscription (`ferry.dlq.source_queue`, looked up with GetSubscription) without the
//! story and with the attempt count reset, then acks it.
//!
//! There is no [`QueueStats`](crate::backend::QueueStats): Pub/Sub's API has no message
//! counts (Cloud Monitoring has, the emulator has not), and counting by pulling would
//! disturb what it counts, so `ferry queue stats` says the backend cannot report them.

use std::collections::HashMap;

use async_trait::async_trait;
use gcloud_googleapis::pubsub::v1::{PubsubMessage, ReceivedMessage};

use super::{
    PubsubBackend,
    attrs::{self, carry},
};
use crate::backend::{
    BackendError, DeadLetter, DeadLetterAdmin, Preflight, QueuePlan, STORY_PREFIX, strip_story,
};

/// Pulls up to `limit` messages of subscription `sub`, holding them until returned.
pub(super) async fn pull_up_to(
    b: &PubsubBackend,
    sub: &str,
    limit: usize,
) -> Result<Vec<ReceivedMessage>, BackendError> {
    let mut out: Vec<ReceivedMessage> = Vec::new();
    while out.len() < limit {
        let got = b.api.pull_now(sub, (limit - out.len()).min(1000)).await?;
        if got.is_empty() {
            break;
        }
        out.extend(got);
    }
    Ok(out)
}

pub(super) fn stable_id(m: &PubsubMessage) -> String {
    m.attributes
        .get(attrs::ID)
        .cloned()
        .unwrap_or_else(|| m.message_id.clone())
}

/// Publishes dead letter `rm` (pulled from `error_queue`) to the topic of its source
/// subscription (else `default_queue`'s) without the story, then acks it; `false` for an
/// empty delivery. `topics` caches subscription → topic.
pub(super) async fn move_back(
    b: &PubsubBackend,
    error_queue: &str,
    rm: ReceivedMessage,
    default_queue: &str,
    topics: &mut HashMap<String, String>,
) -> Result<bool, BackendError> {
    let Some(m) = rm.message else {
        return Ok(false);
    };
    let source = m
        .attributes
        .get(&format!("{STORY_PREFIX}source_queue"))
        .cloned()
        .unwrap_or_else(|| default_queue.to_owned());
    let topic = match topics.get(&source) {
        Some(t) => t.clone(),
        None => {
            let info = b
                .api
                .sub_info(&source)
                .await?
                .ok_or_else(|| BackendError::Queue {
                    queue: source.clone(),
                    reason: "the dead letter's source subscription does not exist".into(),
                })?;
            topics.insert(source.clone(), info.topic.clone());
            info.topic
        }
    };
    let carried = attrs::split(&m.attributes);
    let mut attributes: HashMap<String, String> = strip_story(&carried.user).into_iter().collect();
    let id = stable_id(&m);
    attributes.extend(carry(&id, 0, None, carried.dedup_id.as_deref(), None));
    let back = PubsubMessage {
        data: m.data,
        attributes,
        ordering_key: m.ordering_key,
        ..PubsubMessage::default()
    };
    b.api.publish(&topic, vec![back]).await?;
    b.api.ack(error_queue, vec![rm.ack_id]).await?;
    Ok(true)
}

#[async_trait]
impl DeadLetterAdmin for PubsubBackend {
    async fn list(&self, error_queue: &str, limit: usize) -> Result<Vec<DeadLetter>, BackendError> {
        if self.api.sub_info(error_queue).await?.is_none() {
            return Ok(Vec::new());
        }
        let pulled = pull_up_to(self, error_queue, limit).await?;
        let ack_ids: Vec<String> = pulled.iter().map(|m| m.ack_id.clone()).collect();
        let mut letters: Vec<(Option<prost_types::Timestamp>, DeadLetter)> = pulled
            .into_iter()
            .filter_map(|rm| rm.message)
            .map(|m| {
                let id = stable_id(&m);
                let attributes = attrs::split(&m.attributes).user.into_iter().collect();
                let letter = DeadLetter {
                    id,
                    payload: m.data.into(),
                    attributes,
                };
                (m.publish_time, letter)
            })
            .collect();
        if !ack_ids.is_empty() {
            self.api.modack(error_queue, ack_ids, 0).await?;
        }
        letters.sort_by_key(|(t, _)| t.map(|t| (t.seconds, t.nanos)));
        Ok(letters.into_iter().map(|(_, l)| l).collect())
    }

    async fn redrive(
        &self,
        error_queue: &str,
        default_queue: &str,
        limit: usize,
    ) -> Result<usize, BackendError> {
        if self.api.sub_info(error_queue).await?.is_none() {
            return Ok(0);
        }
        let pulled = pull_up_to(self, error_queue, limit).await?;
        let mut topics: HashMap<String, String> = HashMap::new();
        let mut moved = 0;
        for rm in pulled {
            if move_back(self, error_queue, rm, default_queue, &mut topics).await? {
                moved += 1;
            }
        }
        Ok(moved)
    }

    async fn redrive_ids(
        &self,
        error_queue: &str,
        default_queue: &str,
        ids: &[String],
    ) -> Result<usize, BackendError> {
        super::dlq::act_on_ids(self, error_queue, ids, Some(default_queue)).await
    }

    async fn delete_ids(&self, error_queue: &str, ids: &[String]) -> Result<usize, BackendError> {
        super::dlq::act_on_ids(self, error_queue, ids, None).await
    }

    async fn purge(&self, error_queue: &str) -> Result<usize, BackendError> {
        super::dlq::purge(self, error_queue).await
    }
}

#[async_trait]
impl Preflight for PubsubBackend {
    async fn preflight(&self, plans: &[QueuePlan]) -> Result<Vec<String>, BackendError> {
        let mut warnings = Vec::new();
        for plan in plans {
            let name = &plan.subscription;
            let Some(queue) = plan.queue.clone() else {
                continue;
            };
            let info = self.api.sub_info(&queue).await?.ok_or_else(|| BackendError::Queue {
                queue: queue.clone(),
                reason: format!(
                    "subscriptions.{name}: no such Pub/Sub subscription in project `{}` (create it on its topic)",
                    self.config.project
                ),
            })?;
            if let Some(native) = info.native_max_attempts
                && i64::from(native) <= i64::from(plan.max_attempts)
            {
                warnings.push(format!(
                    "subscriptions.{name}: the Pub/Sub subscription `{queue}` has a dead-letter policy that moves a message to `{}` after {native} delivery attempts, not more than max_attempts = {}: Pub/Sub would dead-letter before ferry does, without the story. Set max_delivery_attempts above max_attempts (hand-backs and lapsed leases also count as deliveries).",
                    info.native_topic.as_deref().unwrap_or("?"),
                    plan.max_attempts
                ));
            }
        }
        Ok(warnings)
    }
}
