//! Giving a delivery back: a retry (counted) or a hand-back (uncounted), with a delay.
//!
//! | subscription | counted retry | uncounted hand-back |
//! |---|---|---|
//! | with a dead-letter policy (attempt = `delivery_attempt`) | ModifyAckDeadline(delay) up to 600 s; beyond, a copy with `ferry.deliver_at` | no delay: a copy carrying the attempt count (durable); with a delay: ModifyAckDeadline(delay), the delivery subtracted in memory |
//! | without (attempt carried in `ferry.attempts`) | a copy with `ferry.attempts` + 1 and `ferry.deliver_at`; a message with an ordering key: ModifyAckDeadline(delay) up to 600 s, the attempt counted in memory (a copy would queue behind the key's later messages, which wait for it) | ModifyAckDeadline(delay) |
//!
//! A copy is published to the subscription's topic before the delivery is acked
//! (at-least-once); it keeps the ferry id, the ordering key and the failure history.

use std::time::{Duration, SystemTime};

use gcloud_googleapis::pubsub::v1::PubsubMessage;

use super::{
    PubsubBackend,
    attrs::{carry, deadline_secs},
    feed::{Feed, Held},
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
            return self
                .api
                .modack(queue, vec![receipt.0.clone()], deadline_secs(delay))
                .await;
        };
        feed.hold_key(&held.ordering_key, &held.id, delay);
        let native = feed.native();
        // A copy of an ordered message would go behind its key's later messages, which wait
        // for it: retry in place (the attempt counted in memory without a policy).
        let in_place = native || !held.ordering_key.is_empty();
        match failure {
            Some(f) if in_place && delay <= MAX_DEADLINE => {
                feed.remember_failure(&held.id, f.clone());
                self.in_place(&feed, receipt, delay).await
            }
            Some(f) => {
                let at = (!delay.is_zero()).then(|| SystemTime::now() + delay);
                self.copy(&feed, &held, receipt, held.attempt, at, Some(f))
                    .await
            }
            None if native && delay.is_zero() => {
                let before = held.attempt.saturating_sub(1);
                self.copy(&feed, &held, receipt, before, None, held.failure.as_ref())
                    .await
            }
            None if native => {
                feed.note_uncounted(&held.message_id);
                self.in_place(&feed, receipt, delay).await
            }
            None => self.in_place(&feed, receipt, delay).await,
        }
    }

    async fn in_place(
        &self,
        feed: &Feed,
        receipt: &Receipt,
        delay: Duration,
    ) -> Result<(), BackendError> {
        let secs = deadline_secs(delay);
        feed.pending_for(secs);
        self.api
            .modack(&feed.sub, vec![receipt.0.clone()], secs)
            .await
    }

    /// Publishes a copy of `held` to the subscription's topic, then acks the delivery.
    async fn copy(
        &self,
        feed: &Feed,
        held: &Held,
        receipt: &Receipt,
        attempts_before: u32,
        deliver_at: Option<SystemTime>,
        failure: Option<&Failure>,
    ) -> Result<(), BackendError> {
        let mut attributes: std::collections::HashMap<String, String> =
            held.user.clone().into_iter().collect();
        attributes.extend(carry(
            &held.id,
            attempts_before,
            deliver_at,
            held.dedup_id.as_deref(),
            failure,
        ));
        let copy = PubsubMessage {
            data: held.payload.to_vec(),
            attributes,
            ordering_key: held.ordering_key.clone(),
            ..PubsubMessage::default()
        };
        self.api.publish(&feed.info.topic, vec![copy]).await?;
        feed.copy_gone(&held.message_id);
        self.api.ack(&feed.sub, vec![receipt.0.clone()]).await
    }
}
