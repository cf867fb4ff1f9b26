//! The blast e-mail flow as two Ferry workers.
//!
//! A web app publishes one [`BlastRequest`] to `BlastCustomerListSender`. The list sender
//! ([`ListSender`]) checks the account, removes duplicate customer ids and fans out one
//! [`CustomerTask`] per customer to `BlastCustomerSender`. The customer sender
//! ([`CustomerSender`]) checks the customer, renders the template, sends the mail through a
//! [`MailTransport`] and records an activity. The key
//! `blast/<blast_id>/customer/<customer_id>` ([`idempotency_key`]) is both the fan-out
//! de-duplication id and the send's idempotency key, so one customer is mailed at most once
//! per blast even when messages are delivered again.

mod address;
mod config;
mod customer_sender;
mod directory;
mod ledger;
mod list_sender;
mod messages;
mod template;
mod transport;

pub use address::is_valid_address;
pub use config::{
    ACTIVITIES_ENV, DATA_ENV, DEFAULT_ACTIVITIES, DEFAULT_DATA, DEFAULT_OUTBOX, OUTBOX_ENV, Paths,
};
pub use customer_sender::{CustomerSender, Skip};
pub use directory::{Account, Customer, Directory, DirectoryError};
pub use ledger::{Ledger, LedgerError};
pub use list_sender::{ListSender, Plan, Rejection, fan_out, plan};
pub use messages::{BlastRequest, CUSTOMER_QUEUE, CustomerTask, LIST_QUEUE, idempotency_key};
pub use template::{Rendered, Template};
pub use transport::{Delivery, Mail, MailTransport, OutboxTransport, TransportError};
