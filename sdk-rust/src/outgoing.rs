//! [`Outgoing`]: a message to publish, from a handler's [`Reply`](crate::Reply) or through
//! the [`GatewayClient`](crate::GatewayClient).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::error::JsonError;

/// A message to publish to a queue (or Pub/Sub topic) known to the sidecar's backend.
///
/// ```
/// use std::time::Duration;
/// use ferry_sdk::Outgoing;
///
/// let msg = Outgoing::new("BlastCustomerSender", r#"{"customer_id":"c1"}"#)
///     .attribute("kind", "blast")
///     .realm("acct-1")
///     .dedup_id("blast/b1/customer/c1")
///     .delay(Duration::from_secs(30));
/// assert_eq!(msg.dedup_id.as_deref(), Some("blast/b1/customer/c1"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Where to publish: a queue (embedded, SQS) or topic (Pub/Sub) name.
    pub destination: String,
    /// The body; ferry never parses it.
    pub payload: Bytes,
    /// Message attributes.
    pub attributes: HashMap<String, String>,
    /// The tenant key; see [`Outgoing::realm`](Self::realm()).
    pub realm: Option<String>,
    /// When the message becomes visible; `None` means at once.
    pub schedule: Option<Schedule>,
    /// The de-duplication id; see [`Outgoing::dedup_id`](Self::dedup_id()).
    pub dedup_id: Option<String>,
    /// The ordering key; see [`Outgoing::ordering_key`](Self::ordering_key()).
    pub ordering_key: Option<String>,
}

/// When an [`Outgoing`] message becomes visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// After this delay.
    Delay(Duration),
    /// At (or after) this time.
    At(SystemTime),
}

impl Outgoing {
    /// A message with this payload for `destination`, visible at once.
    pub fn new(destination: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        Outgoing {
            destination: destination.into(),
            payload: payload.into(),
            attributes: HashMap::new(),
            realm: None,
            schedule: None,
            dedup_id: None,
            ordering_key: None,
        }
    }

    /// A message whose payload is `value` as JSON.
    pub fn json<T: serde::Serialize + ?Sized>(
        destination: impl Into<String>,
        value: &T,
    ) -> Result<Self, JsonError> {
        let payload = serde_json::to_vec(value).map_err(|source| JsonError::Encode {
            type_name: std::any::type_name::<T>(),
            source,
        })?;
        Ok(Outgoing::new(destination, payload))
    }

    /// Sets a message attribute (keys starting with `ferry.` are reserved and refused by
    /// the sidecar).
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// Sets the tenant key; ferry writes it to the destination's realm attribute.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Delivers the message after `delay` (replaces any [`deliver_at`](Self::deliver_at)).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.schedule = Some(Schedule::Delay(delay));
        self
    }

    /// Delivers the message at (or after) `at` (replaces any [`delay`](Self::delay)).
    pub fn deliver_at(mut self, at: SystemTime) -> Self {
        self.schedule = Some(Schedule::At(at));
        self
    }

    /// Sets the de-duplication id: a backend that de-duplicates (embedded, SQS FIFO) drops a
    /// second message with the same id on the same destination. Left unset in a handler's
    /// reply, ferry uses `<input message id>/<index>`.
    pub fn dedup_id(mut self, id: impl Into<String>) -> Self {
        self.dedup_id = Some(id.into());
        self
    }

    /// Sets the ordering key (SQS FIFO message group, Pub/Sub ordering key).
    pub fn ordering_key(mut self, key: impl Into<String>) -> Self {
        self.ordering_key = Some(key.into());
        self
    }
}
