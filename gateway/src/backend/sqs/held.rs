//! Letters taken from an error queue for admin work (listing, redrive, the console's
//! actions by id): how long they stay hidden, their receipts, a letter as listed, and
//! giving back at once the ones an operation took and did not act on, also when it failed
//! half-way.

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName as Sys};
use futures::StreamExt as _;

use super::{SqsBackend, codec::decode};
use crate::backend::{DeadLetter, STORY_PREFIX};

/// How long listed or redriven dead letters are hidden while ferry works on them.
pub(super) const HOLD: i32 = 30;
/// How many letters are given back at once (ten `ChangeMessageVisibilityBatch` calls).
const GIVE_BACK_AT_ONCE: usize = 100;

impl SqsBackend {
    /// Makes the letters of `receipts` visible again at once, [`GIVE_BACK_AT_ONCE`] at a
    /// time (batched by ten); a failure only leaves a letter hidden for [`HOLD`] seconds.
    pub(super) async fn give_back(&self, url: &str, receipts: Vec<String>) {
        futures::stream::iter(receipts)
            .for_each_concurrent(GIVE_BACK_AT_ONCE, |receipt| async move {
                let _ = self.batcher.change_visibility(url, &receipt, 0).await;
            })
            .await;
    }
}

/// The receipt handles of `messages`.
pub(super) fn receipts(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| m.receipt_handle().map(str::to_owned))
        .collect()
}

/// Takes `receipt` out of `held`, searching from the end: it is one of the latest
/// batch's, added last, so this stays short however many letters a long scan holds.
pub(super) fn release(held: &mut Vec<String>, receipt: &str) {
    if let Some(i) = held.iter().rposition(|r| r == receipt) {
        held.remove(i);
    }
}

/// The id dead letter `m` is listed under, and chosen by in the console: ferry's own id
/// (`ferry_id`, decoded from it), else SQS's message id.
pub(super) fn listed_id(m: &Message, ferry_id: Option<String>) -> String {
    ferry_id.unwrap_or_else(|| m.message_id().unwrap_or_default().to_owned())
}

/// Dead letter `m` as listed, with its sent time (Unix ms) to sort by.
pub(super) fn letter_of(m: &Message) -> (i64, DeadLetter) {
    let d = decode(m.body().unwrap_or_default(), m.message_attributes());
    let sent = m
        .attributes()
        .and_then(|a| a.get(&Sys::SentTimestamp))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut attributes = d.attributes;
    if let Some(reason) = d.malformed {
        attributes.insert(format!("{STORY_PREFIX}decode_error"), reason);
    }
    (
        sent,
        DeadLetter {
            id: listed_id(m, d.meta.id),
            payload: d.payload,
            attributes,
        },
    )
}
