//! The SQS backend's capabilities beyond dispatch: listing and redriving dead letters,
//! approximate queue counts, queue discovery by prefix (partitioned subscriptions) and the
//! preflight run by `ferry run` (missing queues stop start-up) and `ferry check`.
//!
//! SQS cannot peek: listing receives the dead letters with a short visibility and makes
//! them visible again at once, so a listed message is hidden for the listing's duration,
//! and on real SQS a listing of a large queue is a sample, not a complete enumeration. A
//! listing or a redrive that fails half-way makes what it took and did not move visible
//! again at once too, rather than leaving it hidden for [`HOLD`].

use std::{collections::BTreeMap, time::Duration};

use async_trait::async_trait;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName as Sys, QueueAttributeName as Attr};

use super::{
    SqsBackend,
    client::{is_fifo, queue_name, sdk_error},
    codec::{Meta, decode, encode},
    config::SQS_MAX_VISIBILITY,
    held::{HOLD, letter_of, receipts, release},
    publish::Outgoing,
};
use crate::backend::{
    BackendError, DeadLetter, DeadLetterAdmin, Preflight, QueueDiscovery, QueuePlan, QueueStats,
    STORY_PREFIX, Stats, strip_story,
};

impl SqsBackend {
    /// Receives up to `max` (at most 10) messages of the queue at `url` for admin work.
    pub(super) async fn take(
        &self,
        queue: &str,
        url: &str,
        max: usize,
        wait: i32,
    ) -> Result<Vec<Message>, BackendError> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(i32::try_from(max.clamp(1, 10)).unwrap_or(10))
            .visibility_timeout(HOLD)
            .wait_time_seconds(wait)
            .message_system_attribute_names(Sys::SentTimestamp)
            .message_system_attribute_names(Sys::MessageGroupId)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| sdk_error(queue, e))?;
        Ok(out.messages().to_vec())
    }

    pub(super) async fn counts(&self, queue: &str) -> Result<[u64; 3], BackendError> {
        let url = self.urls.get(&self.client, queue).await?;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(Attr::ApproximateNumberOfMessages)
            .attribute_names(Attr::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(Attr::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| sdk_error(queue, e))?;
        let get = |a: Attr| {
            out.attributes()
                .and_then(|m| m.get(&a))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok([
            get(Attr::ApproximateNumberOfMessages),
            get(Attr::ApproximateNumberOfMessagesNotVisible),
            get(Attr::ApproximateNumberOfMessagesDelayed),
        ])
    }

    /// Sends dead letter `m` (leased from the error queue at `url` under `receipt`) back to
    /// its source queue (else `default_queue`) without the story, then deletes it.
    pub(super) async fn move_back(
        &self,
        url: &str,
        m: &Message,
        receipt: &str,
        default_queue: &str,
    ) -> Result<(), BackendError> {
        let d = decode(m.body().unwrap_or_default(), m.message_attributes());
        let target = d
            .attributes
            .get(&format!("{STORY_PREFIX}source_queue"))
            .cloned()
            .unwrap_or_else(|| default_queue.to_owned());
        let id = d
            .attributes
            .get(&format!("{STORY_PREFIX}message_id"))
            .cloned()
            .or(d.meta.id.clone())
            .unwrap_or_else(|| m.message_id().unwrap_or_default().to_owned());
        let target_url = self.urls.get(&self.client, &target).await?;
        let mut encoded = encode(
            &d.payload,
            &strip_story(&d.attributes),
            Meta {
                id: Some(id.clone()),
                sent_at: d.meta.sent_at,
                dedup_id: d.meta.dedup_id.clone(),
                ..Meta::default()
            },
            None,
        )
        .map_err(BackendError::Other)?;
        if d.malformed.is_some() {
            // Unreadable attributes go back as they came.
            encoded.body = m.body().unwrap_or_default().to_owned();
            encoded.attributes = m.message_attributes().cloned().unwrap_or_default();
            encoded.attributes.remove(super::codec::STORY);
        }
        let fifo = is_fifo(&target);
        let group = m
            .attributes()
            .and_then(|a| a.get(&Sys::MessageGroupId))
            .cloned();
        let copy = Outgoing {
            encoded,
            delay: 0,
            group_id: fifo.then(|| group.unwrap_or_else(|| id.clone())),
            dedup_id: fifo.then(|| uuid::Uuid::new_v4().to_string()),
        };
        self.send_copy(&target, &target_url, &copy).await?;
        self.batcher.delete(url, receipt).await?;
        Ok(())
    }

    /// The `maxReceiveCount` of `queue`'s native `RedrivePolicy`, if it has one.
    async fn max_receive_count(&self, queue: &str) -> Result<Option<u64>, BackendError> {
        let url = self.urls.get(&self.client, queue).await?;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(Attr::RedrivePolicy)
            .send()
            .await
            .map_err(|e| sdk_error(queue, e))?;
        let Some(policy) = out.attributes().and_then(|m| m.get(&Attr::RedrivePolicy)) else {
            return Ok(None);
        };
        let json: serde_json::Value = serde_json::from_str(policy).unwrap_or_default();
        Ok(match &json["maxReceiveCount"] {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        })
    }
}

#[async_trait]
impl DeadLetterAdmin for SqsBackend {
    async fn list(&self, error_queue: &str, limit: usize) -> Result<Vec<DeadLetter>, BackendError> {
        let url = self.urls.get(&self.client, error_queue).await?;
        let mut out: Vec<(i64, DeadLetter)> = Vec::new();
        let mut held = Vec::new();
        let mut first = true;
        let taken = async {
            while out.len() < limit {
                // A long poll first, so that an empty answer means an empty queue.
                let got = self
                    .take(error_queue, &url, limit - out.len(), i32::from(first))
                    .await?;
                first = false;
                if got.is_empty() {
                    break;
                }
                held.extend(receipts(&got));
                out.extend(
                    got.iter()
                        .filter(|m| m.receipt_handle().is_some())
                        .map(letter_of),
                );
            }
            Ok::<_, BackendError>(())
        }
        .await;
        // Every letter taken, also when a later receive failed.
        self.give_back(&url, held).await;
        taken?;
        out.sort_by_key(|(sent, _)| *sent);
        Ok(out.into_iter().map(|(_, d)| d).collect())
    }

    async fn redrive(
        &self,
        error_queue: &str,
        default_queue: &str,
        limit: usize,
    ) -> Result<usize, BackendError> {
        let url = self.urls.get(&self.client, error_queue).await?;
        let mut moved = 0;
        let mut first = true;
        // Taken and not moved yet: given back at once if a move fails.
        let mut held: Vec<String> = Vec::new();
        let result = async {
            while moved < limit {
                let got = self
                    .take(error_queue, &url, limit - moved, i32::from(first))
                    .await?;
                first = false;
                if got.is_empty() {
                    break;
                }
                held = receipts(&got);
                for m in got {
                    let Some(receipt) = m.receipt_handle() else {
                        continue;
                    };
                    self.move_back(&url, &m, receipt, default_queue).await?;
                    release(&mut held, receipt);
                    moved += 1;
                }
            }
            Ok::<_, BackendError>(())
        }
        .await;
        self.give_back(&url, held).await;
        result.map(|()| moved)
    }

    async fn redrive_ids(
        &self,
        error_queue: &str,
        default_queue: &str,
        ids: &[String],
    ) -> Result<usize, BackendError> {
        self.act_on_ids(error_queue, ids, Some(default_queue)).await
    }

    async fn delete_ids(&self, error_queue: &str, ids: &[String]) -> Result<usize, BackendError> {
        self.act_on_ids(error_queue, ids, None).await
    }

    async fn purge(&self, error_queue: &str) -> Result<usize, BackendError> {
        self.purge_queue(error_queue).await
    }
}

#[async_trait]
impl QueueStats for SqsBackend {
    async fn stats(&self, queue: &str, error_queue: &str) -> Result<Stats, BackendError> {
        let [ready, in_flight, delayed] = self.counts(queue).await?;
        let dead = self.counts(error_queue).await?.iter().sum();
        Ok(Stats {
            ready,
            in_flight,
            delayed,
            dead,
        })
    }
}

#[async_trait]
impl QueueDiscovery for SqsBackend {
    async fn queues_with_prefix(&self, prefix: &str) -> Result<Vec<String>, BackendError> {
        let mut names = Vec::new();
        let mut pages = self
            .client
            .list_queues()
            .queue_name_prefix(prefix)
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error(prefix, e))?;
            names.extend(page.queue_urls().iter().map(|u| queue_name(u).to_owned()));
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

#[async_trait]
impl Preflight for SqsBackend {
    async fn preflight(&self, plans: &[QueuePlan]) -> Result<Vec<String>, BackendError> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        for plan in plans {
            let name = &plan.subscription;
            let error_queue = plan.error_queue.clone();
            let mut queues: BTreeMap<&str, String> = BTreeMap::new();
            queues.insert("error_queue", error_queue.clone());
            if let Some(prefix) = &plan.queue_prefix {
                match self.queues_with_prefix(prefix).await {
                    Ok(found) if found.iter().all(|q| *q == queue_name(&error_queue)) => warnings.push(format!(
                        "subscription `{name}`: no queue starts with `{prefix}` yet (new ones are picked up every {})",
                        humantime::format_duration(plan.discovery_interval)
                    )),
                    Ok(_) => {}
                    Err(e) => problems.push(format!("subscription `{name}`: listing queues `{prefix}*`: {e}")),
                }
            } else if let Some(queue) = &plan.queue {
                queues.insert("queue", queue.clone());
            }
            for (key, queue) in &queues {
                if let Err(e) = self.urls.get(&self.client, queue).await {
                    problems.push(format!("subscriptions.{name}.{key}: {e}"));
                }
            }
            if let Some(queue) = queues.get("queue")
                && let Ok(Some(max)) = self.max_receive_count(queue).await
                && u64::from(plan.max_attempts) > max
            {
                warnings.push(format!(
                    "subscriptions.{name}.max_attempts ({}) exceeds the maxReceiveCount ({max}) of queue `{queue}`'s \
                     RedrivePolicy: SQS moves a message to its own dead-letter queue after {max} receives, before \
                     ferry dead-letters it with its story; lower max_attempts or raise maxReceiveCount",
                    plan.max_attempts
                ));
            }
            warnings.extend(limit_warnings(plan));
        }
        if problems.is_empty() {
            Ok(warnings)
        } else {
            Err(BackendError::Other(problems.join("\n")))
        }
    }
}

/// Settings of `plan` beyond what SQS allows: each works, capped, but not as written.
/// (`max_lease` cannot exceed SQS's 12 h: the config refuses more on every backend.)
pub(super) fn limit_warnings(plan: &QueuePlan) -> Vec<String> {
    let name = &plan.subscription;
    let mut warnings = Vec::new();
    if plan.backoff_max > SQS_MAX_VISIBILITY {
        warnings.push(format!(
            "subscriptions.{name}.backoff.max ({}) exceeds the 12h SQS allows a message to stay invisible \
             after its receive: a retry waits at most 12h",
            humantime::format_duration(plan.backoff_max)
        ));
    }
    if plan.receive_wait > Duration::from_secs(20) {
        warnings.push(format!(
            "subscriptions.{name}.receive_wait ({}) exceeds the 20s SQS long-poll maximum; 20s is used",
            humantime::format_duration(plan.receive_wait)
        ));
    }
    warnings
}
