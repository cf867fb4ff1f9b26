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
/// `default_dedup` is used when `m.deduplication_id` is empty.
pub fn to_new_message(
    m: OutgoingMessage,
    realm_attribute: &str,
    default_dedup: Option<String>,
    limits: &LimitsConfig,
) -> Result<NewMessage, OutgoingError> {
    if !is_valid_queue_name(&m.destination) {
        return Err(err(
            "destination",
            format!("`{}` is not a valid queue name", m.destination),
        ));
    }
    if m.payload.len() > limits.max_payload_bytes {
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
    if attributes.len() > limits.max_attributes {
        return Err(err(
            "attributes",
            format!(
                "{} exceed limits.max_attributes ({})",
                attributes.len(),
                limits.max_attributes
            ),
        ));
    }
    let deliver_at = match m.schedule {
        None => None,
        Some(Schedule::Delay(d)) => {
            let d = Duration::try_from(d).map_err(|e| err("delay", e.to_string()))?;
            Some(SystemTime::now() + d)
        }
        Some(Schedule::DeliverAt(t)) => {
            Some(SystemTime::try_from(t).map_err(|e| err("deliver_at", e.to_string()))?)
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
