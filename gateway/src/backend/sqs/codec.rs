//! How a ferry message is written to and read from SQS.
//!
//! The body is the payload when it is non-empty text SQS accepts, else its base64. The
//! message's attributes become SQS `String` attributes, and ferry adds at most two of its
//! own, each one JSON value:
//! - `ferry.meta`: what ferry must carry with a message that SQS has no field for: the
//!   ferry id and attempts already spent of a copy (hand-back, re-delay, redrive), the
//!   original publish time, the failure history, a deliver-at time beyond the native delay,
//!   the de-duplication id on standard queues, how the body is encoded, and the attributes
//!   SQS cannot hold natively (a name or value it refuses, or more than fit in its limit of
//!   10 attributes per message).
//! - `ferry.dlq`: a dead letter's story, decoded back into the `ferry.dlq.*` keys.
//!
//! Both names are legal SQS attribute names (`.` is allowed inside a name; only the
//! `AWS.` and `Amazon.` prefixes are reserved). Reading is the exact inverse, so a worker
//! sees the attributes that were published whatever had to be folded.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_sdk_sqs::types::MessageAttributeValue;
use base64::{Engine as _, engine::general_purpose::STANDARD as B64};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::backend::{DeadLetterStory, STORY_PREFIX};

/// ferry's state attribute.
pub(super) const META: &str = "ferry.meta";
/// The dead-letter story attribute.
pub(super) const STORY: &str = "ferry.dlq";
/// SQS's limit on message attributes per message.
pub(super) const MAX_ATTRIBUTES: usize = 10;
/// The most attempts a copy can say were spent: no subscription allows more
/// (`max_attempts` is at most 10 000).
pub(super) const MAX_SPENT: u32 = 10_000;
/// The body ferry writes for an empty payload (SQS refuses an empty body).
const EMPTY_BODY: &str = "-";

/// What ferry carries in `ferry.meta`. Times are Unix milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Meta {
    /// The ferry id of a copy (the first SQS message id of the message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Attempts counted before this copy was sent.
    #[serde(skip_serializing_if = "is_zero")]
    pub spent: u32,
    /// When the message was first published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
    /// When its first attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure_at: Option<i64>,
    /// When its latest attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure_at: Option<i64>,
    /// The error of its latest failed attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Not to be delivered before this time (a deliver-at beyond the native delay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<i64>,
    /// The publisher's de-duplication id (FIFO queues have their own field for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<String>,
    /// Attributes SQS could not hold natively.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// `base64` when the body is the payload's base64, `empty` for an empty payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A message as SQS takes it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Encoded {
    /// The body.
    pub body: String,
    /// The message attributes.
    pub attributes: HashMap<String, MessageAttributeValue>,
}

/// A message as ferry reads it.
#[derive(Debug, Clone, Default)]
pub(super) struct Decoded {
    /// The payload.
    pub payload: Bytes,
    /// The attributes (story included as `ferry.dlq.*`).
    pub attributes: BTreeMap<String, String>,
    /// ferry's state.
    pub meta: Meta,
    /// Why the message could not be read, if it could not.
    pub malformed: Option<String>,
}

/// Unix milliseconds of `t`.
pub(super) fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The time at Unix milliseconds `ms`.
pub(super) fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Whether SQS accepts `name` as a message attribute name: 1-256 of `[A-Za-z0-9_.-]`, not
/// starting or ending with `.`, no `..`, and not in the reserved `AWS.` / `Amazon.` space.
pub(super) fn is_legal_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.")
}

/// Whether SQS accepts `s` as a body or attribute value: non-empty, and only the
/// characters `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`.
pub(super) fn is_legal_text(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        })
}

fn string_value(v: &str) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .map_err(|e| e.to_string())
}

/// Encodes a message. `story` (a dead letter's, as JSON) takes one attribute; `meta` is
/// written when it holds anything.
pub(super) fn encode(
    payload: &[u8],
    attributes: &BTreeMap<String, String>,
    mut meta: Meta,
    story: Option<String>,
) -> Result<Encoded, String> {
    let body = match std::str::from_utf8(payload) {
        _ if payload.is_empty() => {
            meta.body = Some("empty".into());
            EMPTY_BODY.to_owned()
        }
        Ok(text) if is_legal_text(text) => text.to_owned(),
        _ => {
            meta.body = Some("base64".into());
            B64.encode(payload)
        }
    };
    let mut native: Vec<(&String, &String)> = Vec::new();
    for (k, v) in attributes {
        if is_legal_name(k) && is_legal_text(v) && k != META && k != STORY {
            native.push((k, v));
        } else {
            meta.attributes.insert(k.clone(), v.clone());
        }
    }
    let mut room = MAX_ATTRIBUTES - usize::from(story.is_some());
    if meta != Meta::default() || native.len() > room {
        room -= 1;
        while native.len() > room {
            if let Some((k, v)) = native.pop() {
                meta.attributes.insert(k.clone(), v.clone());
            }
        }
    }
    let mut out = HashMap::with_capacity(native.len() + 2);
    for (k, v) in native {
        out.insert(k.clone(), string_value(v)?);
    }
    if meta != Meta::default() {
        let json = serde_json::to_string(&meta).map_err(|e| e.to_string())?;
        out.insert(META.to_owned(), string_value(&json)?);
    }
    if let Some(story) = story {
        out.insert(STORY.to_owned(), string_value(&story)?);
    }
    Ok(Encoded {
        body,
        attributes: out,
    })
}

/// Decodes a received message. Never fails: what cannot be read is reported in
/// `malformed` (the message is then dead-lettered with the reason).
pub(super) fn decode(body: &str, raw: Option<&HashMap<String, MessageAttributeValue>>) -> Decoded {
    let mut out = Decoded::default();
    let mut problems = Vec::new();
    let mut names: Vec<&String> = raw.map(|r| r.keys().collect()).unwrap_or_default();
    names.sort();
    for name in names {
        let Some(value) = raw.and_then(|r| r.get(name)) else {
            continue;
        };
        let text = match attribute_text(value) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("attribute `{name}`: {e}"));
                continue;
            }
        };
        if name == META {
            match serde_json::from_str::<Meta>(&text) {
                Ok(m) => out.meta = m,
                Err(e) => problems.push(format!("attribute `{META}` is not ferry's: {e}")),
            }
        } else if name == STORY {
            match serde_json::from_str::<BTreeMap<String, String>>(&text) {
                Ok(story) => out.attributes.extend(
                    story
                        .into_iter()
                        .map(|(k, v)| (format!("{STORY_PREFIX}{k}"), v)),
                ),
                Err(e) => problems.push(format!("attribute `{STORY}` is not ferry's: {e}")),
            }
        } else {
            out.attributes.insert(name.clone(), text);
        }
    }
    for (k, v) in std::mem::take(&mut out.meta.attributes) {
        out.attributes.entry(k).or_insert(v);
    }
    // `ferry.meta` may come from anyone who can send to the queue: a value ferry never
    // writes makes the message malformed instead of steering ferry.
    if out.meta.spent > MAX_SPENT {
        problems.push(format!(
            "`{META}` says {} attempts were spent, more than any subscription allows ({MAX_SPENT})",
            out.meta.spent
        ));
        out.meta.spent = 0;
    }
    let horizon = to_ms(SystemTime::now() + crate::backend::DEFAULT_HORIZON);
    if out.meta.due_at.is_some_and(|due| due > horizon) {
        problems.push(format!(
            "`{META}` sets a due time beyond the 365-day horizon"
        ));
        out.meta.due_at = None;
    }
    out.payload = match out.meta.body.as_deref() {
        None => Bytes::copy_from_slice(body.as_bytes()),
        Some("empty") if body == EMPTY_BODY => Bytes::new(),
        Some("empty") => {
            problems.push(format!(
                "`{META}` says the body is empty, but it holds {} bytes",
                body.len()
            ));
            Bytes::copy_from_slice(body.as_bytes())
        }
        Some("base64") => match B64.decode(body) {
            Ok(bytes) => bytes.into(),
            Err(e) => {
                problems.push(format!("the body is not the base64 `{META}` says: {e}"));
                Bytes::copy_from_slice(body.as_bytes())
            }
        },
        Some(other) => {
            problems.push(format!("unknown body encoding `{other}` in `{META}`"));
            Bytes::copy_from_slice(body.as_bytes())
        }
    };
    if !problems.is_empty() {
        out.malformed = Some(problems.join("; "));
    }
    out
}

/// The text of an attribute value: `String*` and `Number*` as they are, `Binary*` when it
/// is UTF-8.
fn attribute_text(v: &MessageAttributeValue) -> Result<String, String> {
    let kind = v.data_type();
    if kind.starts_with("String") || kind.starts_with("Number") {
        v.string_value()
            .map(str::to_owned)
            .ok_or_else(|| format!("{kind} attribute without a string value"))
    } else if kind.starts_with("Binary") {
        let blob = v
            .binary_value()
            .ok_or_else(|| format!("{kind} attribute without a binary value"))?;
        String::from_utf8(blob.as_ref().to_vec())
            .map_err(|_| format!("{kind} value is not UTF-8 text"))
    } else {
        Err(format!("unsupported data type `{kind}`"))
    }
}

/// The raw attributes of a message, as JSON text (kept verbatim in the story of a message
/// whose attributes could not be read).
pub(super) fn describe_raw(raw: Option<&HashMap<String, MessageAttributeValue>>) -> String {
    let map: BTreeMap<&String, serde_json::Value> = raw
        .map(|r| {
            r.iter()
                .map(|(k, v)| {
                    let value = match (v.string_value(), v.binary_value()) {
                        (Some(s), _) => serde_json::json!({"type": v.data_type(), "value": s}),
                        (None, Some(b)) => {
                            serde_json::json!({"type": v.data_type(), "base64": B64.encode(b.as_ref())})
                        }
                        (None, None) => serde_json::json!({"type": v.data_type()}),
                    };
                    (k, value)
                })
                .collect()
        })
        .unwrap_or_default();
    serde_json::to_string(&map).unwrap_or_default()
}

/// A dead letter's story as the JSON of `ferry.dlq` (keys without the prefix), with the
/// undecodable raw attributes when there were any.
pub(super) fn story_json(story: &DeadLetterStory, raw_attributes: Option<String>) -> String {
    let mut map: BTreeMap<String, String> = story
        .to_attributes()
        .into_iter()
        .map(|(k, v)| (k.strip_prefix(STORY_PREFIX).unwrap_or(&k).to_owned(), v))
        .collect();
    if let Some(raw) = raw_attributes {
        map.insert("raw_attributes".into(), raw);
    }
    serde_json::to_string(&map).unwrap_or_default()
}
