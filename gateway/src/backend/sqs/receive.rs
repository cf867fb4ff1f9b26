//! Receiving from SQS: one long poll (`WaitTimeSeconds` up to 20) for at most as many
//! messages as the caller has room for (at most 10), then per message: decode it, compute
//! its attempt number and failure history, and re-delay it if it is not due yet (a
//! deliver-at beyond the native delay).
//!
//! On a FIFO queue only the first message of each group in a batch is kept: SQS may return
//! several of one group at once, but the next may only start when the first is settled.
//! The others are made visible again at once (remembered as uncounted receives).
//!
//! The attempt is `spent + ApproximateReceiveCount - uncounted`: `spent` is what a copy
//! carries in `ferry.meta` (attempts counted before an uncounted hand-back re-sent it) and
//! `uncounted` the FIFO hand-backs remembered in memory.

use std::{
    collections::HashSet,
    time::{Duration, Instant, SystemTime},
};

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName as Sys};

use super::{
    SqsBackend,
    client::sdk_error,
    codec::{Decoded, Meta, decode, encode, from_ms, to_ms},
    config::SQS_MAX_VISIBILITY,
    memory::Leased,
    publish::{Outgoing, ceil_secs},
};
use crate::backend::{BackendError, Failure, Receipt, Received};

/// The longest long poll SQS allows.
const MAX_WAIT: Duration = Duration::from_secs(20);

fn system<'a>(m: &'a Message, name: &Sys) -> Option<&'a str> {
    m.attributes().and_then(|a| a.get(name)).map(String::as_str)
}

fn system_ms(m: &Message, name: &Sys) -> Option<i64> {
    system(m, name).and_then(|v| v.parse().ok())
}

impl SqsBackend {
    /// Receives up to `max` messages from `queue` (see the module doc).
    pub(super) async fn receive_from(
        &self,
        queue: &str,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let url = self.urls.get(&self.client, queue).await?;
        let mut request = self
            .client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(i32::try_from(max.min(10)).unwrap_or(10))
            .visibility_timeout(ceil_secs(lease.min(SQS_MAX_VISIBILITY)))
            .wait_time_seconds(ceil_secs(wait.min(MAX_WAIT)))
            .message_system_attribute_names(Sys::ApproximateReceiveCount)
            .message_system_attribute_names(Sys::ApproximateFirstReceiveTimestamp)
            .message_system_attribute_names(Sys::SentTimestamp)
            .message_attribute_names("All");
        if url.ends_with(".fifo") {
            // Only FIFO queues have groups and SQS-side de-duplication ids.
            request = request
                .message_system_attribute_names(Sys::MessageGroupId)
                .message_system_attribute_names(Sys::MessageDeduplicationId);
        }
        let out = request.send().await.map_err(|e| sdk_error(queue, e))?;
        let now = SystemTime::now();
        let messages = out.messages.unwrap_or_default();
        let mut batch = Vec::with_capacity(messages.len());
        let mut groups = HashSet::new();
        for mut m in messages {
            let (Some(receipt), Some(sqs_id)) = (m.receipt_handle.take(), m.message_id.take())
            else {
                continue;
            };
            let body = m.body.take().unwrap_or_default();
            let decoded = decode(&body, m.message_attributes());
            let id = decoded.meta.id.clone().unwrap_or(sqs_id);
            if let Some(group) = system(&m, &Sys::MessageGroupId)
                && !groups.insert(group.to_owned())
            {
                // A later message of a group already in this batch: it must wait until the
                // first is settled, so it goes back at once, uncounted. The group stays
                // locked while the first is leased, so order holds.
                self.ledger.update(&id, |e| e.uncounted += 1);
                let (batcher, url) = (self.batcher.clone(), url.clone());
                tokio::spawn(async move { batcher.change_visibility(&url, &receipt, 0).await });
                continue;
            }
            if decoded.malformed.is_none()
                && let Some(due) = decoded.meta.due_at
                && due > to_ms(now)
            {
                // Not due yet: a best effort; if it fails, the message comes back when its
                // lease ends and is re-delayed then.
                let _ = self
                    .redelay(queue, &url, &receipt, &id, &decoded, due, now)
                    .await;
                continue;
            }
            batch.push(self.lease(queue, &url, m, receipt, id, body, decoded));
        }
        Ok(batch)
    }

    /// Registers the lease of a received message and builds what dispatch gets. The
    /// message's body and raw attributes move into the lease (kept for a hand-back copy or
    /// a dead letter), not copied.
    #[allow(clippy::too_many_arguments)]
    fn lease(
        &self,
        queue: &str,
        url: &str,
        mut m: Message,
        receipt: String,
        id: String,
        body: String,
        decoded: Decoded,
    ) -> Received {
        let m = &mut m;
        let count: u32 = system(m, &Sys::ApproximateReceiveCount)
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let remembered = self.ledger.get(&id);
        let meta = decoded.meta;
        let attempt = meta
            .spent
            .saturating_add(count)
            .saturating_sub(remembered.uncounted)
            .max(1);
        let published_at = meta
            .sent_at
            .or_else(|| system_ms(m, &Sys::SentTimestamp))
            .map_or_else(SystemTime::now, from_ms);
        let carried = match (
            meta.first_failure_at,
            meta.last_failure_at,
            &meta.last_error,
        ) {
            (Some(first), Some(last), Some(error)) => Some(Failure {
                last_error: error.clone(),
                first_at: from_ms(first),
                last_at: from_ms(last),
            }),
            _ => None,
        };
        let failure = remembered.failure.or(carried).or_else(|| {
            // Failed before, but the history was not kept (restart, another replica):
            // the first attempt started at the first receive.
            (attempt > 1).then(|| {
                let first = system_ms(m, &Sys::ApproximateFirstReceiveTimestamp)
                    .map_or(published_at, from_ms);
                Failure {
                    last_error: String::new(),
                    first_at: first,
                    last_at: first,
                }
            })
        });
        let group_id = system(m, &Sys::MessageGroupId).map(str::to_owned);
        let dedup_id = system(m, &Sys::MessageDeduplicationId)
            .map(str::to_owned)
            .or_else(|| meta.dedup_id.clone());
        let raw = m.message_attributes.take().unwrap_or_default();
        self.leases.insert(
            receipt.clone(),
            Leased {
                url: url.to_owned(),
                id: id.clone(),
                attempt,
                payload: decoded.payload.clone(),
                attributes: decoded.attributes.clone(),
                body,
                raw,
                meta,
                malformed: decoded.malformed.is_some(),
                group_id,
                failure: failure.clone(),
                published_at,
                leased_at: Instant::now(),
            },
        );
        Received {
            id,
            queue: queue.to_owned(),
            payload: decoded.payload,
            attributes: decoded.attributes,
            malformed: decoded.malformed,
            attempt,
            published_at: Some(published_at),
            dedup_id,
            failures: failure,
            receipt: Receipt(receipt),
        }
    }

    /// Re-sends a message that is not due yet with the longest delay it still needs (at
    /// most the native maximum), then deletes the received one.
    #[allow(clippy::too_many_arguments)]
    async fn redelay(
        &self,
        queue: &str,
        url: &str,
        receipt: &str,
        id: &str,
        decoded: &Decoded,
        due: i64,
        now: SystemTime,
    ) -> Result<(), BackendError> {
        let left = from_ms(due).duration_since(now).unwrap_or_default();
        let meta = Meta {
            id: Some(id.to_owned()),
            attributes: Default::default(),
            body: None,
            ..decoded.meta.clone()
        };
        let encoded = encode(&decoded.payload, &decoded.attributes, meta, None)
            .map_err(BackendError::Other)?;
        let copy = Outgoing {
            encoded,
            delay: ceil_secs(left.min(self.config.max_native_delay.get())),
            group_id: None,
            dedup_id: None,
        };
        self.send_copy(queue, url, &copy).await?;
        self.batcher.delete(url, receipt).await
    }
}
