//! The attributes ferry itself puts on Pub/Sub messages, and how a received message is
//! split into what the worker sees and what ferry carries.
//!
//! Pub/Sub messages are immutable, so what ferry must remember across a copy on the retry
//! subscription (a retry without a dead-letter policy, a delay beyond 600 s, a durable
//! hand-back, a redriven letter) rides
//! in `ferry.*` attributes, which the gateway API refuses from publishers:
//!
//! | attribute | meaning |
//! |---|---|
//! | `ferry.id` | the message's ferry id (the first copy's Pub/Sub id), stable across copies |
//! | `ferry.attempts` | attempts counted before this copy was published |
//! | `ferry.deliver_at` | not to be handed to a worker before this time (Unix ms) |
//! | `ferry.dedup_id` | the publisher's de-duplication id (Pub/Sub does not de-duplicate) |
//! | `ferry.published_at` | when the message was first published (Unix ms), on a copy |
//! | `ferry.first_failure_at`, `ferry.last_failure_at` | failure times (Unix ms) |
//! | `ferry.last_error` | the last failure |
//!
//! The worker sees the other attributes only.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::backend::Failure;

/// The message's stable ferry id.
pub(super) const ID: &str = "ferry.id";
/// Attempts counted before this copy.
pub(super) const ATTEMPTS: &str = "ferry.attempts";
/// Not due before (Unix ms).
pub(super) const DELIVER_AT: &str = "ferry.deliver_at";
/// The publisher's de-duplication id.
pub(super) const DEDUP_ID: &str = "ferry.dedup_id";
/// When the message was first published (Unix ms).
const PUBLISHED_AT: &str = "ferry.published_at";
const FIRST_FAILURE_AT: &str = "ferry.first_failure_at";
const LAST_FAILURE_AT: &str = "ferry.last_failure_at";
const LAST_ERROR: &str = "ferry.last_error";

const INTERNAL: [&str; 8] = [
    ID,
    ATTEMPTS,
    DELIVER_AT,
    DEDUP_ID,
    PUBLISHED_AT,
    FIRST_FAILURE_AT,
    LAST_FAILURE_AT,
    LAST_ERROR,
];

/// What ferry carries on a message, split from the attributes the worker sees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Carried {
    /// `ferry.id`, if this is a copy.
    pub id: Option<String>,
    /// `ferry.attempts` (0 on a first copy).
    pub attempts_before: u32,
    /// `ferry.deliver_at`.
    pub deliver_at: Option<SystemTime>,
    /// `ferry.dedup_id`.
    pub dedup_id: Option<String>,
    /// `ferry.published_at`: when the first copy was published.
    pub published_at: Option<SystemTime>,
    /// The failure history.
    pub failure: Option<Failure>,
    /// The attributes for the worker.
    pub user: BTreeMap<String, String>,
    /// Why a `ferry.*` attribute could not be read (the message is then dead-lettered).
    pub malformed: Option<String>,
}

pub(super) fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// Splits the attributes of a received message.
pub(super) fn split(attributes: &HashMap<String, String>) -> Carried {
    let mut c = Carried::default();
    let mut bad = Vec::new();
    let mut ms = |key: &str| -> Option<SystemTime> {
        let v = attributes.get(key)?;
        match v.parse::<u64>() {
            Ok(n) => Some(from_ms(n)),
            Err(_) => {
                bad.push(format!(
                    "`{key}` = `{v}` is not a Unix time in milliseconds"
                ));
                None
            }
        }
    };
    c.deliver_at = ms(DELIVER_AT);
    c.published_at = ms(PUBLISHED_AT);
    let first = ms(FIRST_FAILURE_AT);
    let last = ms(LAST_FAILURE_AT);
    if let Some(v) = attributes.get(ATTEMPTS) {
        match v.parse::<u32>() {
            Ok(n) => c.attempts_before = n,
            Err(_) => bad.push(format!("`{ATTEMPTS}` = `{v}` is not a count")),
        }
    }
    c.id = attributes.get(ID).filter(|v| !v.is_empty()).cloned();
    c.dedup_id = attributes.get(DEDUP_ID).cloned();
    if let (Some(first_at), Some(last_at), Some(err)) = (first, last, attributes.get(LAST_ERROR)) {
        c.failure = Some(Failure {
            last_error: err.clone(),
            first_at,
            last_at,
        });
    }
    c.user = attributes
        .iter()
        .filter(|(k, _)| !INTERNAL.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !bad.is_empty() {
        c.malformed = Some(bad.join("; "));
    }
    c
}

/// What a copy of a message carries in its `ferry.*` attributes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Carry<'a> {
    /// The ferry id.
    pub id: &'a str,
    /// Attempts counted before the copy.
    pub attempts_before: u32,
    /// Not due before.
    pub deliver_at: Option<SystemTime>,
    /// The publisher's de-duplication id.
    pub dedup_id: Option<&'a str>,
    /// The failure history.
    pub failure: Option<&'a Failure>,
    /// When the first copy was published.
    pub published_at: Option<SystemTime>,
}

/// The `ferry.*` attributes of `copy`.
pub(super) fn carry(copy: &Carry<'_>) -> Vec<(String, String)> {
    let Carry {
        id,
        attempts_before,
        deliver_at,
        dedup_id,
        failure,
        published_at,
    } = *copy;
    let mut out = vec![(ID.to_owned(), id.to_owned())];
    if attempts_before > 0 {
        out.push((ATTEMPTS.to_owned(), attempts_before.to_string()));
    }
    if let Some(t) = deliver_at {
        out.push((DELIVER_AT.to_owned(), to_ms(t).to_string()));
    }
    if let Some(d) = dedup_id {
        out.push((DEDUP_ID.to_owned(), d.to_owned()));
    }
    if let Some(t) = published_at {
        out.push((PUBLISHED_AT.to_owned(), to_ms(t).to_string()));
    }
    if let Some(f) = failure {
        out.push((FIRST_FAILURE_AT.to_owned(), to_ms(f.first_at).to_string()));
        out.push((LAST_FAILURE_AT.to_owned(), to_ms(f.last_at).to_string()));
        out.push((LAST_ERROR.to_owned(), f.last_error.clone()));
    }
    out
}

/// Whole seconds for an ack deadline: `d` rounded up, within Pub/Sub's 0-600 s.
pub(super) fn deadline_secs(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(secs.min(600)).unwrap_or(600)
}
