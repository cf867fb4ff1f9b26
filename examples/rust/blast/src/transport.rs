//! Sending mail: the [`MailTransport`] trait and [`OutboxTransport`], which "sends" by
//! appending to an outbox file, at most once per idempotency key.

use std::future::Future;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::ledger::{Ledger, LedgerError};

/// One mail to one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mail {
    /// `blast/<blast_id>/customer/<customer_id>`: a transport must deliver at most one mail
    /// per key. (The outbox stores it as the line's `key`.)
    #[serde(skip)]
    pub idempotency_key: String,
    /// The sending account.
    pub account_id: String,
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The body text.
    pub body: String,
}

/// What a transport did with a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The mail was handed over for delivery now.
    Sent,
    /// A mail with the same idempotency key was sent before; nothing was sent now.
    AlreadySent,
}

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The transport is unavailable for now (provider down, disk full): try again later.
    #[error("mail transport unavailable: {0}")]
    Unavailable(String),
    /// The provider refused this mail for good (for example a hard bounce).
    #[error("mail rejected: {0}")]
    Rejected(String),
}

impl From<LedgerError> for TransportError {
    fn from(err: LedgerError) -> Self {
        TransportError::Unavailable(err.to_string())
    }
}

/// Sends mail. Implementations must be idempotent on [`Mail::idempotency_key`]: sending
/// the same key twice delivers once and answers [`Delivery::AlreadySent`] the second time.
pub trait MailTransport: Send + Sync + 'static {
    /// Sends `mail` unless its key was sent before.
    fn send(&self, mail: &Mail) -> impl Future<Output = Result<Delivery, TransportError>> + Send;
}

/// The demo transport: one JSON line per mail in an outbox file, at most one per key
/// (checked and appended under an exclusive file lock, see [`Ledger`]).
#[derive(Debug, Clone)]
pub struct OutboxTransport {
    outbox: Ledger,
}

/// An outbox line.
#[derive(Serialize)]
struct OutboxRecord<'a> {
    #[serde(flatten)]
    mail: &'a Mail,
    sent_at_ms: u128,
}

impl OutboxTransport {
    /// An outbox at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OutboxTransport {
            outbox: Ledger::new(path),
        }
    }

    /// The outbox ledger (for reading what was sent).
    pub fn outbox(&self) -> &Ledger {
        &self.outbox
    }
}

impl MailTransport for OutboxTransport {
    async fn send(&self, mail: &Mail) -> Result<Delivery, TransportError> {
        let record = OutboxRecord {
            mail,
            sent_at_ms: now_ms(),
        };
        let appended = self
            .outbox
            .append_once(&mail.idempotency_key, &record)
            .await?;
        Ok(if appended {
            Delivery::Sent
        } else {
            Delivery::AlreadySent
        })
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
