//! The directory: accounts (active, credit) and customers (name, e-mail, active, opted out),
//! read from a JSON file that stands in for the application's database.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Accounts and customers by id.
///
/// ```
/// let dir = ferry_blast::Directory::from_json(r#"{
///     "accounts": { "a1": { "name": "Harbor", "active": true, "credit": 10 } },
///     "customers": { "c1": { "name": "Ann", "email": "ann@example.com" } }
/// }"#).expect("valid directory");
/// assert!(dir.customer("c1").is_some_and(|c| c.active && !c.opted_out));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// Accounts by id.
    #[serde(default)]
    pub accounts: HashMap<String, Account>,
    /// Customers by id.
    #[serde(default)]
    pub customers: HashMap<String, Customer>,
}

/// An account that sends blasts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Display name.
    pub name: String,
    /// Whether the account may send.
    pub active: bool,
    /// Mails the account may still send.
    pub credit: u64,
}

/// A customer of an account: a possible recipient.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// Name, for `{{name}}`.
    pub name: String,
    /// Address, for `{{email}}` and delivery.
    pub email: String,
    /// Whether the customer is still a customer (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// Whether the customer asked not to receive blasts (default false).
    #[serde(default)]
    pub opted_out: bool,
}

fn yes() -> bool {
    true
}

/// Why the directory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The file could not be read.
    #[error("cannot read directory {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid directory document.
    #[error("directory {path} is invalid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line, column and cause.
        #[source]
        source: serde_json::Error,
    },
}

impl Directory {
    /// Reads and parses the directory file.
    pub async fn load(path: &Path) -> Result<Self, DirectoryError> {
        let text =
            tokio::fs::read_to_string(path)
                .await
                .map_err(|source| DirectoryError::Read {
                    path: path.to_owned(),
                    source,
                })?;
        Directory::from_json(&text).map_err(|source| DirectoryError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Parses a directory document.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The account with this id.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    /// The customer with this id.
    pub fn customer(&self, id: &str) -> Option<&Customer> {
        self.customers.get(id)
    }
}

#[cfg(test)]
mod tests;
