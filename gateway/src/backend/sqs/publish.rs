//! Sending to SQS: [`SqsBackend::publish_all`] (fan-out with `SendMessageBatch`, in order
//! per queue, at most 10 entries and 256 KiB per request) and [`SqsBackend::send_copy`]
//! (the copies ferry makes of a message: hand-back, re-delay, dead letter, redrive).
//!
//! FIFO queues: the ordering key is the `MessageGroupId` (a message without one gets a
//! group of its own: no order is promised without a key) and the de-duplication id the
//! `MessageDeduplicationId` (a fresh one when none is given). FIFO queues have no
//! per-message delay, so a delayed publish to one is refused. Standard queues keep the
//! de-duplication id in `ferry.meta` for the consumer.

use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

use super::{
    SqsBackend,
    client::{classify, is_fifo, sdk_error},
    codec::{Encoded, Meta, encode, to_ms},
};
use crate::backend::{BackendError, NewMessage};

/// The most bytes in one `SendMessageBatch` (the SQS limit on a batch's total size).
const BATCH_BYTES: usize = 256 * 1024;

/// A message ready to send to one queue.
#[derive(Debug, Clone)]
pub(super) struct Outgoing {
    /// Body and attributes.
    pub encoded: Encoded,
    /// `DelaySeconds` (standard queues).
    pub delay: i32,
    /// `MessageGroupId` (FIFO queues).
    pub group_id: Option<String>,
    /// `MessageDeduplicationId` (FIFO queues).
    pub dedup_id: Option<String>,
}

impl Outgoing {
    fn size(&self) -> usize {
        self.encoded.body.len()
            + self
                .encoded
                .attributes
                .iter()
                .map(|(k, v)| k.len() + v.data_type().len() + v.string_value().map_or(0, str::len))
                .sum::<usize>()
    }
}

/// Whole seconds covering `d` (SQS delays and timeouts are in seconds; rounding up keeps a
/// requested delay a lower bound).
pub(super) fn ceil_secs(d: Duration) -> i32 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(s).unwrap_or(i32::MAX)
}

/// A FIFO group or de-duplication id SQS accepts: `s` itself when it is 1-128 printable
/// ASCII characters, else a UUID derived from it.
pub(super) fn fifo_token(s: &str) -> String {
    if !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()) {
        s.to_owned()
    } else {
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, s.as_bytes()).to_string()
    }
}

impl SqsBackend {
    /// Publishes `messages`, returning their SQS message ids in order.
    pub(super) async fn publish_all(
        &self,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<String>, BackendError> {
        let now = SystemTime::now();
        let mut queues: Vec<(String, Vec<(usize, Outgoing)>)> = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let out = self.prepare(m, now)?;
            match queues.iter_mut().find(|(q, _)| *q == m.queue) {
                Some((_, list)) => list.push((i, out)),
                None => queues.push((m.queue.clone(), vec![(i, out)])),
            }
        }
        let mut ids = vec![String::new(); messages.len()];
        for (queue, list) in queues {
            let url = self.urls.get(&self.client, &queue).await?;
            let mut chunk: Vec<(usize, Outgoing)> = Vec::new();
            let mut bytes = 0;
            for (i, out) in list {
                let size = out.size();
                if !chunk.is_empty() && (chunk.len() == 10 || bytes + size > BATCH_BYTES) {
                    self.send_batch(&queue, &url, std::mem::take(&mut chunk), &mut ids)
                        .await?;
                    bytes = 0;
                }
                bytes += size;
                chunk.push((i, out));
            }
            if !chunk.is_empty() {
                self.send_batch(&queue, &url, chunk, &mut ids).await?;
            }
        }
        Ok(ids)
    }

    fn prepare(&self, m: &NewMessage, now: SystemTime) -> Result<Outgoing, BackendError> {
        let fifo = is_fifo(&m.queue);
        let mut meta = Meta::default();
        let wait = m
            .deliver_at
            .and_then(|t| t.duration_since(now).ok())
            .unwrap_or_default();
        let mut delay = 0;
        if !wait.is_zero() {
            if fifo {
                return Err(BackendError::Queue {
                    queue: m.queue.clone(),
                    reason: "FIFO queues have no per-message delay: publish it without a delay \
                             or deliver-at time, or to a standard queue"
                        .into(),
                });
            }
            if wait > self.config.max_native_delay.get() {
                delay = ceil_secs(self.config.max_native_delay.get());
                meta.due_at = m.deliver_at.map(to_ms);
            } else {
                delay = ceil_secs(wait);
            }
        }
        if !fifo {
            meta.dedup_id.clone_from(&m.dedup_id);
        }
        let encoded = encode(&m.payload, &m.attributes, meta, None)
            .map_err(|e| BackendError::Other(format!("a message for queue `{}`: {e}", m.queue)))?;
        let new_id = || uuid::Uuid::new_v4().to_string();
        Ok(Outgoing {
            encoded,
            delay,
            group_id: fifo.then(|| m.ordering_key.as_deref().map_or_else(new_id, fifo_token)),
            dedup_id: fifo.then(|| m.dedup_id.as_deref().map_or_else(new_id, fifo_token)),
        })
    }

    /// Sends up to 10 messages in one request; writes their ids at their positions.
    async fn send_batch(
        &self,
        queue: &str,
        url: &str,
        chunk: Vec<(usize, Outgoing)>,
        ids: &mut [String],
    ) -> Result<(), BackendError> {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(n, (_, out))| {
                SendMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .message_body(&out.encoded.body)
                    .set_message_attributes(Some(out.encoded.attributes.clone()))
                    .set_delay_seconds((out.delay > 0).then_some(out.delay))
                    .set_message_group_id(out.group_id.clone())
                    .set_message_deduplication_id(out.dedup_id.clone())
                    .build()
                    .map_err(|e| BackendError::Other(format!("queue `{queue}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| sdk_error(queue, e))?;
        let sent: HashMap<&str, &str> = result
            .successful()
            .iter()
            .map(|s| (s.id(), s.message_id()))
            .collect();
        for (n, (i, out)) in chunk.iter().enumerate() {
            let key = n.to_string();
            if let Some(id) = sent.get(key.as_str()) {
                ids[*i] = (*id).to_owned();
                continue;
            }
            match result.failed().iter().find(|f| f.id() == key) {
                Some(f) if f.sender_fault() => {
                    return Err(classify(
                        queue,
                        f.code(),
                        &format!("message #{i}: {}", f.message().unwrap_or_default()),
                    ));
                }
                _ => ids[*i] = self.send_copy_with_retries(queue, url, out).await?,
            }
        }
        Ok(())
    }

    async fn send_copy_with_retries(
        &self,
        queue: &str,
        url: &str,
        out: &Outgoing,
    ) -> Result<String, BackendError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.send_copy(queue, url, out).await {
                Err(BackendError::Unavailable(_)) if tries < 3 => {
                    tokio::time::sleep(Duration::from_millis(100 << tries)).await;
                }
                other => return other,
            }
        }
    }

    /// Sends one message; returns its SQS message id.
    pub(super) async fn send_copy(
        &self,
        queue: &str,
        url: &str,
        out: &Outgoing,
    ) -> Result<String, BackendError> {
        let result = self
            .client
            .send_message()
            .queue_url(url)
            .message_body(&out.encoded.body)
            .set_message_attributes(Some(out.encoded.attributes.clone()))
            .set_delay_seconds((out.delay > 0).then_some(out.delay))
            .set_message_group_id(out.group_id.clone())
            .set_message_deduplication_id(out.dedup_id.clone())
            .send()
            .await
            .map_err(|e| sdk_error(queue, e))?;
        Ok(result.message_id().unwrap_or_default().to_owned())
    }
}
