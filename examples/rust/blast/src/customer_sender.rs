//! The `BlastCustomerSender` worker: checks the customer, renders the template, sends the
//! mail at most once per idempotency key and records the activity, also once per key.

use std::path::PathBuf;

use ferry_sdk::{Handler, Level, Message, Reply};
use serde::Serialize;

use crate::address::is_valid_address;
use crate::config::Paths;
use crate::directory::{Customer, Directory};
use crate::ledger::Ledger;
use crate::messages::{CustomerTask, check_id};
use crate::transport::{Delivery, Mail, MailTransport, OutboxTransport, TransportError, now_ms};

/// The customer sender worker, generic over how mail is sent.
#[derive(Debug, Clone)]
pub struct CustomerSender<T = OutboxTransport> {
    directory: PathBuf,
    transport: T,
    activities: Ledger,
}

/// Why a customer gets no mail. Skipping is a normal outcome: the message is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// The id is not in the directory.
    #[error("unknown customer")]
    UnknownCustomer,
    /// No longer a customer.
    #[error("customer is not active")]
    Inactive,
    /// Asked not to receive blasts.
    #[error("customer opted out")]
    OptedOut,
    /// The address would bounce.
    #[error("invalid e-mail address")]
    InvalidAddress,
}

impl Skip {
    /// Checks that `customer` may be mailed.
    pub fn check(customer: Option<&Customer>) -> Result<&Customer, Skip> {
        let customer = customer.ok_or(Skip::UnknownCustomer)?;
        if !customer.active {
            Err(Skip::Inactive)
        } else if customer.opted_out {
            Err(Skip::OptedOut)
        } else if !is_valid_address(&customer.email) {
            Err(Skip::InvalidAddress)
        } else {
            Ok(customer)
        }
    }
}

/// An activity line: the customer's history shows the blast.
#[derive(Serialize)]
struct Activity<'a> {
    action: &'static str,
    blast_id: &'a str,
    account_id: &'a str,
    customer_id: &'a str,
    at_ms: u128,
}

impl CustomerSender<OutboxTransport> {
    /// A customer sender with the outbox transport, using all of `paths`.
    pub fn from_paths(paths: &Paths) -> Self {
        CustomerSender::new(
            paths.directory.clone(),
            OutboxTransport::new(paths.outbox.clone()),
            Ledger::new(paths.activities.clone()),
        )
    }
}

impl<T: MailTransport> CustomerSender<T> {
    /// A customer sender reading `directory`, sending with `transport` and recording
    /// activities in `activities`.
    pub fn new(directory: impl Into<PathBuf>, transport: T, activities: Ledger) -> Self {
        CustomerSender {
            directory: directory.into(),
            transport,
            activities,
        }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Handles one customer task.
    pub async fn process(&self, msg: &Message) -> Reply {
        let task: CustomerTask = match msg.payload_json() {
            Ok(task) => task,
            Err(err) => return Reply::dead_letter(err.to_string()),
        };
        let ids = [
            ("blast_id", &task.blast_id),
            ("customer_id", &task.customer_id),
        ];
        if let Some(reason) = ids.iter().find_map(|(field, id)| check_id(field, id).err()) {
            return Reply::dead_letter(format!("invalid customer task: {reason}"));
        }
        let directory = match Directory::load(&self.directory).await {
            Ok(directory) => directory,
            Err(err) => return Reply::retry(err.to_string()),
        };
        let fields = [
            ("blast_id", task.blast_id.clone()),
            ("customer_id", task.customer_id.clone()),
        ];
        let customer = match Skip::check(directory.customer(&task.customer_id)) {
            Ok(customer) => customer,
            Err(skip) => {
                let text = format!("skipped customer {}: {skip}", task.customer_id);
                let reason = [("skip_reason", skip.to_string())];
                return Reply::done().log_with(Level::Info, text, fields.into_iter().chain(reason));
            }
        };
        let rendered = task.template.render(customer);
        let mail = Mail {
            idempotency_key: task.key(),
            account_id: task.account_id.clone(),
            to: customer.email.clone(),
            subject: rendered.subject,
            body: rendered.body,
        };
        let delivery = match self.transport.send(&mail).await {
            Ok(delivery) => delivery,
            Err(err @ TransportError::Unavailable(_)) => return Reply::retry(err.to_string()),
            Err(err @ TransportError::Rejected(_)) => return Reply::dead_letter(err.to_string()),
        };
        let activity = Activity {
            action: "blast.mail_sent",
            blast_id: &task.blast_id,
            account_id: &task.account_id,
            customer_id: &task.customer_id,
            at_ms: now_ms(),
        };
        // After a crash between the send and this line, the redelivery finds the mail
        // already sent and records the missing activity here.
        if let Err(err) = self
            .activities
            .append_once(&mail.idempotency_key, &activity)
            .await
        {
            return Reply::retry(format!("mail sent, activity not recorded: {err}"));
        }
        let text = match delivery {
            Delivery::Sent => format!("mailed customer {}", task.customer_id),
            Delivery::AlreadySent => {
                format!(
                    "customer {} was already mailed for this blast; not sent again",
                    task.customer_id
                )
            }
        };
        Reply::done().log_with(Level::Info, text, fields)
    }
}

impl<T: MailTransport> Handler for CustomerSender<T> {
    async fn handle(&self, msg: Message) -> Reply {
        self.process(&msg).await
    }
}

#[cfg(test)]
mod tests;
