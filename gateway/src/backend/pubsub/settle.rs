//! Giving a delivery back: a retry (counted) or a hand-back (uncounted), with a delay.
//!
//! | delivery from a subscription | counted retry | uncounted hand-back |
//! |---|---|---|
//! | with a dead-letter policy (attempt = `delivery_attempt`) | ModifyAckDeadline(delay) up to 600 s; beyond, a copy with `ferry.deliver_at` | no delay: a copy carrying the attempt count (durable); with a delay: ModifyAckDeadline(delay), the delivery subtracted in memory |
//! | without (attempt carried in `ferry.attempts`) | a copy with `ferry.attempts` + 1 and `ferry.deliver_at`; a message with an ordering key: ModifyAckDeadline(delay) up to 600 s, the attempt counted in memory (a copy would queue behind the key's later messages, which wait for it) | ModifyAckDeadline(delay) |
//!
//! A copy goes to the subscription's *retry topic*, whose retry subscription only ferry
//! consumes (with the subscription itself), so no other subscription of the topic sees it.
//! It is published before the delivery is acked (at-least-once) and keeps the ferry id,
//! the ordering key, the first publish time and the failure history.

use std::time::{Duration, SystemTime};

use gcloud_googleapis::pubsub::v1::PubsubMessage;

use super::{
    PubsubBackend,
    attrs::{Carry, carry, deadline_secs},
    feed::{
        Feed,
        state::{Held, Source},
    },
};
use crate::backend::{BackendError, Failure, Receipt};

/// The longest ModifyAckDeadline Pub/Sub accepts.
const MAX_DEADLINE: Duration = Duration::from_secs(600);

impl PubsubBackend {
    /// [`crate::backend::Backend::release`] for Pub/Sub.
    pub(super) async fn release_delivery(
        &self,
        queue: &str,
        receipt: &Receipt,
        delay: Duration,
        failure: Option<&Failure>,
    ) -> Result<(), BackendError> {
        let feed = self.existing_feed(queue);
        let held = feed.as_ref().and_then(|f| f.forget(&receipt.0));
        let (Some(feed), Some(held)) = (feed, held) else {
            // Nothing known about it (not received through this process): in place.
            let (source, ack_id) = Source::of_receipt(&receipt.0);
            return self
                .acks
                .modack(
                    &self.sub_of(queue, source),
                    vec![ack_id.to_owned()],
                    deadline_secs(delay),
                )
                .await;
        };
        let native = feed.native(held.source);
        // A copy of an ordered message would go behind its key's later messages, which wait
        // for it: retry in place (the attempt counted in memory without a policy).
        let in_place = native || !held.ordering_key.is_empty();
        match failure {
            Some(f) if in_place && delay <= MAX_DEADLINE => {
                feed.retried_in_place(&held, f.clone(), delay);
                self.in_place(&feed, &held, delay).await
            }
            Some(f) => {
                let at = (!delay.is_zero()).then(|| SystemTime::now() + delay);
                self.copy(&feed, &held, held.attempt, at, Some(f), delay)
                    .await
            }
            None if native && delay.is_zero() => {
                let before = held.attempt.saturating_sub(1);
                self.copy(&feed, &held, before, None, held.failure.as_ref(), delay)
                    .await
            }
            None => {
                feed.handed_back_in_place(&held, delay);
                self.in_place(&feed, &held, delay).await
            }
        }
    }

    async fn in_place(
        &self,
        feed: &Feed,
        held: &Held,
        delay: Duration,
    ) -> Result<(), BackendError> {
        self.acks
            .modack(
                feed.sub(held.source),
                vec![held.ack_id.clone()],
                deadline_secs(delay),
            )
            .await
    }

    /// Publishes a copy of `held` to the retry topic, then acks the delivery.
    async fn copy(
        &self,
        feed: &Feed,
        held: &Held,
        attempts_before: u32,
        deliver_at: Option<SystemTime>,
        failure: Option<&Failure>,
        delay: Duration,
    ) -> Result<(), BackendError> {
        let mut attributes: std::collections::HashMap<String, String> =
            held.user.clone().into_iter().collect();
        attributes.extend(carry(&Carry {
            id: &held.id,
            attempts_before,
            deliver_at,
            dedup_id: held.dedup_id.as_deref(),
            failure,
            published_at: held.published_at,
        }));
        let copy = PubsubMessage {
            data: held.payload.to_vec(),
            attributes,
            ordering_key: held.ordering_key.clone(),
            ..PubsubMessage::default()
        };
        if let Err(e) = self.api.publish(&feed.retry_topic, vec![copy]).await {
            // The delivery stays where it is and returns when its lease lapses.
            match failure {
                Some(f) => feed.retried_in_place(held, f.clone(), delay),
                None => feed.handed_back_in_place(held, delay),
            }
            return Err(e);
        }
        feed.replaced_by_copy(held, delay);
        self.acks
            .ack(feed.sub(held.source), vec![held.ack_id.clone()])
            .await
    }
}
