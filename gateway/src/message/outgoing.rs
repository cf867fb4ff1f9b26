//! [`to_new_message`]: validates a protocol `OutgoingMessage` (from a `HandleResponse` or
//! `GatewayService.Publish`) and turns it into a backend [`NewMessage`].

use std::time::{Duration, SystemTime};

use ferry_proto::v1::{OutgoingMessage, outgoing_message::Schedule};

use crate::{
    backend::NewMessage,
    config::{LimitsConfig, is_valid_queue_name},
};

/// Why an outgoing message was refused; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct OutgoingError {
    /// The offending field.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

fn err(field: &'static str, reason: impl Into<String>) -> OutgoingError {
    OutgoingError {
        field,
        reason: reason.into(),
    }
}

/// Checks `m` and converts it. `realm_attribute` is where `m.realm` is written;
/// `default_dedup` is used when `m.deduplication_id` is empty; a delay or deliver-at time
/// more than `horizon` ahead (the longest the backend keeps a message waiting) is refused.
pub fn to_new_message(
    m: OutgoingMessage,
    realm_attribute: &str,
    default_dedup: Option<String>,
    limits: &LimitsConfig,
    horizon: Duration,
) -> Result<NewMessage, OutgoingError> {
    if !is_valid_queue_name(&m.destination) {
        return Err(err(
            "destination",
            format!("`{}` is not a valid queue name", m.destination),
        ));
    }
    if m.payload.len() > limits.max_payload_bytes.usize() {
        return Err(err(
            "payload",
            format!(
                "{} bytes exceed limits.max_payload_bytes ({})",
                m.payload.len(),
                limits.max_payload_bytes
            ),
        ));
    }
    let mut attributes: std::collections::BTreeMap<String, String> =
        m.attributes.into_iter().collect();
    if let Some(k) = attributes
        .keys()
        .find(|k| k.is_empty() || k.starts_with("ferry."))
    {
        return Err(err(
            "attributes",
            format!("key `{k}` is empty or uses the reserved `ferry.` prefix"),
        ));
    }
    if !m.realm.is_empty() {
        attributes.insert(realm_attribute.to_owned(), m.realm);
    }
    if attributes.len() > limits.max_attributes.usize() {
        return Err(err(
            "attributes",
            format!(
                "{} exceed limits.max_attributes ({})",
                attributes.len(),
                limits.max_attributes
            ),
        ));
    }
    let beyond = |field: &'static str, ahead: Duration| {
        err(
            field,
            format!(
                "{} ahead is beyond the backend's horizon of {} (the longest it keeps a message waiting)",
                humantime::format_duration(ahead),
                humantime::format_duration(horizon)
            ),
        )
    };
    let now = SystemTime::now();
    let deliver_at = match m.schedule {
        None => None,
        Some(Schedule::Delay(d)) => {
            let d = Duration::try_from(d).map_err(|e| err("delay", e.to_string()))?;
            if d > horizon {
                return Err(beyond("delay", d));
            }
            // Within the horizon, so the sum cannot overflow.
            now.checked_add(d)
        }
        Some(Schedule::DeliverAt(t)) => {
            let at = SystemTime::try_from(t).map_err(|e| err("deliver_at", e.to_string()))?;
            match at.duration_since(now) {
                Ok(ahead) if ahead > horizon => return Err(beyond("deliver_at", ahead)),
                _ => Some(at),
            }
        }
    };
    let dedup_id = if m.deduplication_id.is_empty() {
        default_dedup
    } else {
        Some(m.deduplication_id)
    };
    Ok(NewMessage {
        queue: m.destination,
        payload: m.payload,
        attributes,
        deliver_at,
        dedup_id,
        ordering_key: (!m.ordering_key.is_empty()).then_some(m.ordering_key),
    })
}
