//! The Pub/Sub backend's dead-letter capability and its preflight (`ferry check`, and
//! `ferry run` before it starts).
//!
//! An error queue is a topic; its dead letters are read through the subscription of the
//! same id, which `ferry run` creates with the topic as it starts (`Backend::provision`). A
//! listing pulls the messages and gives them back at once (they stay in the error
//! subscription); a redrive pulls them, publishes each to the retry topic of its source
//! subscription (`ferry.dlq.source_queue`; the topic of its retry subscription, looked up
//! with GetSubscription) without the story and with the attempt count reset, then acks it:
//! the letter goes back to that subscription alone, not to every subscription of its
//! topic. A listing or a redrive that fails half-way hands back at once what it pulled and
//! did not move, rather than leaving it leased until its ack deadline.
//!
//! The preflight checks that each subscription exists and has its retry subscription, and
//! warns about a native dead-letter policy that would act before ferry does.
//!
//! There is no [`QueueStats`](crate::backend::QueueStats): Pub/Sub's API has no message
//! counts, and counting by pulling would disturb what it counts. Cloud Monitoring's
//! samples are the [`SampledStats`](crate::backend::SampledStats) of [`super::monitoring`].

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use gcloud_googleapis::pubsub::v1::{PubsubMessage, ReceivedMessage};

use super::{
    PubsubBackend,
    attrs::{self, Carry, carry},
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
        let got = match b.api.pull_now(sub, (limit - out.len()).min(1000)).await {
            Ok(got) => got,
            Err(e) => {
                give_back(b, sub, out.into_iter().map(|rm| rm.ack_id).collect()).await;
                return Err(e);
            }
        };
        if got.is_empty() {
            break;
        }
        out.extend(got);
    }
    Ok(out)
}

/// Hands the pulled letters of `ack_ids` back to `sub` at once; a failure only leaves
/// them leased until their ack deadline.
pub(super) async fn give_back(b: &PubsubBackend, sub: &str, ack_ids: Vec<String>) {
    if !ack_ids.is_empty() {
        let _ = b.api.modack(sub, ack_ids, 0).await;
    }
}

pub(super) fn stable_id(m: &PubsubMessage) -> String {
    m.attributes
        .get(attrs::ID)
        .cloned()
        .unwrap_or_else(|| m.message_id.clone())
}

/// The letter `m` as it goes back to its source subscription (`ferry.dlq.source_queue`,
/// else `default_queue`): the topic of that subscription's retry subscription (so it
/// reaches that subscription alone, not every subscription of its topic), and the message
/// without the story, its attempt count reset and its first publish time kept. `topics`
/// caches subscription → retry topic.
async fn letter_back(
    b: &PubsubBackend,
    m: PubsubMessage,
    default_queue: &str,
    topics: &mut HashMap<String, String>,
) -> Result<(String, PubsubMessage), BackendError> {
    let source = m
        .attributes
        .get(&format!("{STORY_PREFIX}source_queue"))
        .cloned()
        .unwrap_or_else(|| default_queue.to_owned());
    let topic = match topics.get(&source) {
        Some(t) => t.clone(),
        None => {
            let retry = b.config.retry_id(&source);
            let info = b
                .api
                .sub_info(&retry)
                .await?
                .ok_or_else(|| BackendError::Queue {
                    queue: retry.clone(),
                    reason: format!(
                        "the retry subscription of the dead letter's source `{source}` does not exist"
                    ),
                })?;
            topics.insert(source.clone(), info.topic.clone());
            info.topic
        }
    };
    let carried = attrs::split(&m.attributes);
    let mut attributes: HashMap<String, String> = strip_story(&carried.user).into_iter().collect();
    let id = stable_id(&m);
    let published_at = carried.published_at.or_else(|| {
        m.publish_time
            .and_then(|t| std::time::SystemTime::try_from(t).ok())
    });
    attributes.extend(carry(&Carry {
        id: &id,
        dedup_id: carried.dedup_id.as_deref(),
        published_at,
        ..Carry::default()
    }));
    let letter = PubsubMessage {
        data: m.data,
        attributes,
        ordering_key: m.ordering_key,
        ..PubsubMessage::default()
    };
    Ok((topic, letter))
}

/// Publishes dead letter `rm` (pulled from `error_queue`) back to its source subscription
/// alone ([`letter_back`]), then acks it; `false` for an empty delivery.
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
    let (topic, letter) = letter_back(b, m, default_queue, topics).await?;
    // Published before the letter leaves the error queue (at-least-once).
    b.api.publish(&topic, vec![letter]).await?;
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
        // Pulled and not moved yet: handed back at once if anything fails.
        let mut held: HashSet<String> = pulled.iter().map(|rm| rm.ack_id.clone()).collect();
        let result = move_all_back(self, error_queue, default_queue, pulled, &mut held).await;
        give_back(self, error_queue, held.into_iter().collect()).await;
        result
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
            let retry = self.config.retry_id(&queue);
            match self.api.sub_info(&retry).await? {
                Some(r) if r.topic == retry => {}
                found => {
                    let what = match found {
                        Some(r) => format!("reads topic `{}`, not `{retry}`", r.topic),
                        None => "does not exist".to_owned(),
                    };
                    return Err(BackendError::Queue {
                        queue: retry.clone(),
                        reason: format!(
                            "subscriptions.{name}: the retry subscription of `{queue}` {what}. \
                             Create topic `{retry}` and subscription `{retry}` on it (no dead-letter policy, \
                             never expiring): ferry publishes its retries, hand-backs and redriven letters \
                             there and consumes them with `{queue}`, so no other subscription of the topic \
                             sees them. ferry needs roles/pubsub.subscriber on both subscriptions, \
                             roles/pubsub.publisher on `{retry}` and on the error topic, and \
                             roles/pubsub.viewer (GetSubscription)"
                        ),
                    });
                }
            }
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

/// Publishes the `pulled` letters of `error_queue` back to their sources, per retry topic,
/// and acks each group once published; stops at the first failure. Takes what it moved
/// out of `held`.
async fn move_all_back(
    b: &PubsubBackend,
    error_queue: &str,
    default_queue: &str,
    pulled: Vec<ReceivedMessage>,
    held: &mut HashSet<String>,
) -> Result<usize, BackendError> {
    let mut topics: HashMap<String, String> = HashMap::new();
    // Per retry topic: the letters going back there, and their ack ids.
    let mut back: HashMap<String, (Vec<PubsubMessage>, Vec<String>)> = HashMap::new();
    for rm in pulled {
        let Some(m) = rm.message else { continue };
        let (topic, letter) = letter_back(b, m, default_queue, &mut topics).await?;
        let (letters, ack_ids) = back.entry(topic).or_default();
        letters.push(letter);
        ack_ids.push(rm.ack_id);
    }
    let mut moved = 0;
    for (topic, (letters, ack_ids)) in back {
        // Published before the letters leave the error queue (at-least-once).
        for chunk in letters.chunks(500) {
            b.api.publish(&topic, chunk.to_vec()).await?;
        }
        b.acks.ack(error_queue, ack_ids.clone()).await?;
        for id in &ack_ids {
            held.remove(id);
        }
        moved += ack_ids.len();
    }
    Ok(moved)
}
