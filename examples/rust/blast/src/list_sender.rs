//! The `BlastCustomerListSender` worker: checks the account, removes duplicate customer
//! ids and fans out one [`CustomerTask`] per customer, each with the deterministic
//! de-duplication id `blast/<blast_id>/customer/<customer_id>`.

use std::collections::HashSet;
use std::path::PathBuf;

use ferry_sdk::{Handler, Level, Message, Outgoing, Reply};

use crate::config::Paths;
use crate::directory::Directory;
use crate::messages::{BlastRequest, CUSTOMER_QUEUE, CustomerTask, check_id};

/// The list sender worker. Reads the directory on every message, so account changes apply
/// at once; a directory that cannot be read answers retry.
#[derive(Debug, Clone)]
pub struct ListSender {
    directory: PathBuf,
}

/// The customers a blast goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One task per distinct valid customer id, in first-seen order.
    pub tasks: Vec<CustomerTask>,
    /// How many ids were repeats of an earlier one.
    pub duplicates: usize,
    /// Ids left out because they are empty or contain `/`.
    pub invalid_ids: Vec<String>,
}

/// Why a blast is refused (dead-lettered: resending it cannot help).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The blast's own ids are unusable.
    #[error("invalid blast: {0}")]
    Invalid(String),
    /// The account does not exist.
    #[error("account {0} does not exist")]
    UnknownAccount(String),
    /// The account may not send.
    #[error("account {0} is not active")]
    InactiveAccount(String),
    /// The account cannot pay for the blast.
    #[error("account {account} has {credit} credit, the blast needs {needed}")]
    NoCredit {
        /// The account.
        account: String,
        /// Its credit.
        credit: u64,
        /// Distinct customers in the blast.
        needed: u64,
    },
}

/// Checks the blast against the directory and computes the customer tasks.
pub fn plan(directory: &Directory, request: &BlastRequest) -> Result<Plan, Rejection> {
    check_id("blast_id", &request.blast_id).map_err(Rejection::Invalid)?;
    check_id("account_id", &request.account_id).map_err(Rejection::Invalid)?;
    let account = directory
        .account(&request.account_id)
        .ok_or_else(|| Rejection::UnknownAccount(request.account_id.clone()))?;
    if !account.active {
        return Err(Rejection::InactiveAccount(request.account_id.clone()));
    }
    let mut seen = HashSet::new();
    let mut plan = Plan {
        tasks: Vec::new(),
        duplicates: 0,
        invalid_ids: Vec::new(),
    };
    for id in &request.customer_ids {
        if check_id("customer id", id).is_err() {
            plan.invalid_ids.push(id.clone());
        } else if !seen.insert(id.as_str()) {
            plan.duplicates += 1;
        } else {
            plan.tasks.push(CustomerTask {
                blast_id: request.blast_id.clone(),
                account_id: request.account_id.clone(),
                customer_id: id.clone(),
                template: request.template.clone(),
            });
        }
    }
    let needed = u64::try_from(plan.tasks.len()).unwrap_or(u64::MAX);
    if account.credit < needed {
        return Err(Rejection::NoCredit {
            account: request.account_id.clone(),
            credit: account.credit,
            needed,
        });
    }
    Ok(plan)
}

impl ListSender {
    /// A list sender reading the directory at `directory`.
    pub fn new(directory: impl Into<PathBuf>) -> Self {
        ListSender {
            directory: directory.into(),
        }
    }

    /// A list sender using [`Paths::directory`].
    pub fn from_paths(paths: &Paths) -> Self {
        ListSender::new(paths.directory.clone())
    }

    /// Handles one list message: load the directory, then [`fan_out`].
    pub async fn process(&self, msg: &Message) -> Reply {
        match Directory::load(&self.directory).await {
            Ok(directory) => fan_out(&directory, msg),
            Err(err) => Reply::retry(err.to_string()),
        }
    }
}

impl Handler for ListSender {
    async fn handle(&self, msg: Message) -> Reply {
        self.process(&msg).await
    }
}

/// The reply to one list message: dead-letter for a malformed or refused blast, otherwise
/// done with one message per customer to `BlastCustomerSender` (realm = account, dedup id =
/// idempotency key) and a log line with the counts.
pub fn fan_out(directory: &Directory, msg: &Message) -> Reply {
    let request: BlastRequest = match msg.payload_json() {
        Ok(request) => request,
        Err(err) => return Reply::dead_letter(err.to_string()),
    };
    let plan = match plan(directory, &request) {
        Ok(plan) => plan,
        Err(rejection) => return Reply::dead_letter(rejection.to_string()),
    };
    let mut outgoing = Vec::with_capacity(plan.tasks.len());
    for task in &plan.tasks {
        match Outgoing::json(CUSTOMER_QUEUE, task) {
            Ok(out) => outgoing.push(
                out.realm(&task.account_id)
                    .dedup_id(task.key())
                    .attribute("blast_id", &task.blast_id),
            ),
            Err(err) => return Reply::retry(err.to_string()),
        }
    }
    let text = format!(
        "blast {} of account {}: {} customers queued ({} ids, {} duplicates, {} invalid)",
        request.blast_id,
        request.account_id,
        plan.tasks.len(),
        request.customer_ids.len(),
        plan.duplicates,
        plan.invalid_ids.len(),
    );
    let fields = [
        ("blast_id", request.blast_id.clone()),
        ("account_id", request.account_id.clone()),
        ("requested", request.customer_ids.len().to_string()),
        ("queued", plan.tasks.len().to_string()),
        ("duplicates", plan.duplicates.to_string()),
        ("invalid", plan.invalid_ids.len().to_string()),
    ];
    Reply::done()
        .publish_all(outgoing)
        .log_with(Level::Info, text, fields)
}

#[cfg(test)]
mod tests;
