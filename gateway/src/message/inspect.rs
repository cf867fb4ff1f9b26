//! [`inspect`]: checks a received message against the limits and derives its realm and
//! trace context. A message that fails is dead-lettered with the reason, never dropped.
//! Nothing is copied: the worker's request takes the attributes straight from the message.

use super::TraceContext;
use crate::{backend::Received, config::LimitsConfig};

/// The longest realm value accepted.
pub const MAX_REALM_LEN: usize = 128;

/// What ferry derived from a well-formed message.
#[derive(Debug, Clone)]
pub struct Inspected {
    /// The realm ("" when the attribute is absent).
    pub realm: String,
    /// The trace context (created if absent).
    pub trace: TraceContext,
}

/// Checks `msg`. `Err` is the reason it is malformed.
pub fn inspect(
    msg: &Received,
    realm_attribute: &str,
    limits: &LimitsConfig,
) -> Result<Inspected, String> {
    if let Some(reason) = &msg.malformed {
        return Err(format!("malformed attributes: {reason}"));
    }
    if msg.payload.len() > limits.max_payload_bytes.usize() {
        return Err(format!(
            "payload of {} bytes exceeds limits.max_payload_bytes ({})",
            msg.payload.len(),
            limits.max_payload_bytes
        ));
    }
    if msg.attributes.len() > limits.max_attributes.usize() {
        return Err(format!(
            "{} attributes exceed limits.max_attributes ({})",
            msg.attributes.len(),
            limits.max_attributes
        ));
    }
    let realm = match msg.attributes.get(realm_attribute) {
        None => String::new(),
        Some(r) if r.is_empty() || r.len() > MAX_REALM_LEN || r.chars().any(char::is_control) => {
            return Err(format!(
                "malformed realm attribute `{realm_attribute}`: must be 1-{MAX_REALM_LEN} bytes without control characters"
            ));
        }
        Some(r) => r.clone(),
    };
    Ok(Inspected {
        realm,
        trace: TraceContext::from_attributes(&msg.attributes, &msg.id),
    })
}
