//! The messages of the flow: the queues, the list message a web app publishes, the
//! per-customer task the list sender fans out, and the idempotency key they share.

use serde::{Deserialize, Serialize};

use crate::template::Template;

/// The queue the web app publishes a [`BlastRequest`] to.
pub const LIST_QUEUE: &str = "BlastCustomerListSender";

/// The queue the list sender fans [`CustomerTask`]s out to.
pub const CUSTOMER_QUEUE: &str = "BlastCustomerSender";

/// One blast: send `template` to `customer_ids` on behalf of `account_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlastRequest {
    /// Unique per blast (the web app's id for it).
    pub blast_id: String,
    /// The account (tenant) sending the blast.
    pub account_id: String,
    /// The mail to send.
    pub template: Template,
    /// The recipients, possibly with duplicates.
    pub customer_ids: Vec<String>,
}

/// One customer's share of a blast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerTask {
    /// The blast.
    pub blast_id: String,
    /// The account sending it.
    pub account_id: String,
    /// The recipient.
    pub customer_id: String,
    /// The mail to send.
    pub template: Template,
}

impl CustomerTask {
    /// This task's idempotency key (see [`idempotency_key`]).
    pub fn key(&self) -> String {
        idempotency_key(&self.blast_id, &self.customer_id)
    }
}

/// `blast/<blast_id>/customer/<customer_id>`: the fan-out message's de-duplication id and
/// the send's idempotency key. Deterministic, so every redelivery computes the same key.
///
/// ```
/// assert_eq!(ferry_blast::idempotency_key("b1", "c7"), "blast/b1/customer/c7");
/// ```
pub fn idempotency_key(blast_id: &str, customer_id: &str) -> String {
    format!("blast/{blast_id}/customer/{customer_id}")
}

/// Refuses an empty id or one containing `/`, which would make idempotency keys ambiguous.
pub(crate) fn check_id(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        Err(format!("{field} is empty"))
    } else if value.contains('/') {
        Err(format!("{field} {value:?} contains '/'"))
    } else {
        Ok(())
    }
}
