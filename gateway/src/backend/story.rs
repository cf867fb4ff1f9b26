//! The story a dead letter carries: ferry writes it as `ferry.dlq.*` attributes on the
//! message in the error queue, next to the message's own attributes and payload, so any
//! backend can keep it and any tool can read it.

use std::{collections::BTreeMap, time::SystemTime};

/// The prefix of the story attributes.
pub const STORY_PREFIX: &str = "ferry.dlq.";

/// Why and how a message ended in the error queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterStory {
    /// The queue it came from (redrive sends it back there).
    pub source_queue: String,
    /// The subscription that gave up on it.
    pub subscription: String,
    /// Its id in the source queue.
    pub message_id: String,
    /// Deliveries counted.
    pub attempts: u32,
    /// Why it was dead-lettered: `max_attempts`, `worker` (the worker said so),
    /// `status` (a gRPC code that means the request is bad) or `malformed`.
    pub reason: String,
    /// The last error (the worker's reason, the gRPC status, or the validation failure).
    pub last_error: String,
    /// When the first attempt failed.
    pub first_failure_at: SystemTime,
    /// When the last attempt failed.
    pub last_failure_at: SystemTime,
}

fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl DeadLetterStory {
    /// The story as attributes, to add to the message's own.
    pub fn to_attributes(&self) -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        let mut put = |k: &str, v: String| a.insert(format!("{STORY_PREFIX}{k}"), v);
        put("source_queue", self.source_queue.clone());
        put("subscription", self.subscription.clone());
        put("message_id", self.message_id.clone());
        put("attempts", self.attempts.to_string());
        put("reason", self.reason.clone());
        put("last_error", self.last_error.clone());
        put("first_failure_at", rfc3339(self.first_failure_at));
        put("last_failure_at", rfc3339(self.last_failure_at));
        a
    }
}

/// The message's own attributes: `attributes` without the story (used by redrive).
pub fn strip_story(attributes: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    attributes
        .iter()
        .filter(|(k, _)| !k.starts_with(STORY_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
