//! The deliveries a feed handles: which subscription a delivery came from ([`Source`],
//! named by its receipt), a delivery waiting in the buffer ([`Buffered`]), one handed out
//! and not yet settled ([`Held`]), what a receive took ([`Taken`]), and the attempt rule
//! ([`attempt`]). Plain data and pure functions, used by the state (`state.rs`).

use std::{
    collections::BTreeMap,
    time::{Instant, SystemTime},
};

use bytes::Bytes;
use gcloud_googleapis::pubsub::v1::ReceivedMessage;

use super::super::attrs::Carried;
use crate::backend::{Failure, Received};

/// What marks the receipt of a delivery from the retry subscription.
const RETRY_MARK: &str = "ferry-retry:";

/// Which of a feed's two subscriptions a delivery came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(in crate::backend::pubsub) enum Source {
    /// The configured subscription.
    Main,
    /// Its retry subscription.
    Retry,
}

impl Source {
    /// Both, in index order.
    pub const BOTH: [Self; 2] = [Self::Main, Self::Retry];

    /// 0 or 1.
    pub fn index(self) -> usize {
        match self {
            Self::Main => 0,
            Self::Retry => 1,
        }
    }

    /// The receipt of ack id `ack_id` from this subscription.
    pub fn receipt(self, ack_id: &str) -> String {
        match self {
            Self::Main => ack_id.to_owned(),
            Self::Retry => format!("{RETRY_MARK}{ack_id}"),
        }
    }

    /// Which subscription a receipt is of, and its ack id.
    pub fn of_receipt(receipt: &str) -> (Self, &str) {
        match receipt.strip_prefix(RETRY_MARK) {
            Some(ack_id) => (Self::Retry, ack_id),
            None => (Self::Main, receipt),
        }
    }
}

/// A delivery handed to ferry, until it is settled.
#[derive(Debug, Clone)]
pub(in crate::backend::pubsub) struct Held {
    /// Which subscription it came from.
    pub source: Source,
    /// Its ack id there.
    pub ack_id: String,
    /// This copy's Pub/Sub message id.
    pub message_id: String,
    /// The ferry id.
    pub id: String,
    /// The body.
    pub payload: Bytes,
    /// The worker's attributes.
    pub user: BTreeMap<String, String>,
    /// The ordering key ("" for none).
    pub ordering_key: String,
    /// This delivery's attempt.
    pub attempt: u32,
    /// `ferry.dedup_id`.
    pub dedup_id: Option<String>,
    /// All attributes as JSON, kept when they were malformed.
    pub raw_attributes: Option<String>,
    /// The failure history so far.
    pub failure: Option<Failure>,
    /// When the message was first published.
    pub published_at: Option<SystemTime>,
}

/// A delivery waiting in the buffer.
#[derive(Debug)]
pub(super) struct Buffered {
    /// Which subscription it came from.
    pub source: Source,
    /// As received.
    pub rm: ReceivedMessage,
    /// Its `ferry.*` attributes, read.
    pub carried: Carried,
    /// When its deadline was last set.
    pub extended_at: Instant,
}

impl Buffered {
    /// This copy's Pub/Sub message id.
    pub fn message_id(&self) -> &str {
        self.rm
            .message
            .as_ref()
            .map_or("", |m| m.message_id.as_str())
    }
    /// The ordering key ("" for none).
    pub fn ordering_key(&self) -> &str {
        self.rm
            .message
            .as_ref()
            .map_or("", |m| m.ordering_key.as_str())
    }
    /// The ferry id.
    pub fn ferry_id(&self) -> String {
        ferry_id(&self.carried, self.message_id())
    }
}

/// The ferry id of a copy: `ferry.id`, else its own message id (the first copy).
pub(super) fn ferry_id(carried: &Carried, message_id: &str) -> String {
    carried.id.clone().unwrap_or_else(|| message_id.to_owned())
}

/// What a receive took from the buffer.
#[derive(Debug, Default)]
pub(in crate::backend::pubsub) struct Taken {
    /// The deliveries, now held.
    pub received: Vec<Received>,
    /// The ack ids whose deadline must be set to the lease (per subscription).
    pub to_lease: Vec<(Source, String)>,
}

/// A delivery's attempt. Under a dead-letter policy (`native`): `delivery_attempt` plus
/// the attempts carried by the copy (`before`), less the deliveries the worker never got
/// (`uncounted`), at least `before + 1`. Without: `before + 1` plus the retries done in
/// place (`retried`).
pub(super) fn attempt(
    native: bool,
    before: u32,
    delivery_attempt: i32,
    uncounted: u32,
    retried: u32,
) -> u32 {
    if native {
        let delivered = u32::try_from(delivery_attempt).unwrap_or(0).max(1);
        (before + delivered)
            .saturating_sub(uncounted)
            .max(before + 1)
    } else {
        before + 1 + retried
    }
}
