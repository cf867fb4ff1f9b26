//! [`Ledger`]: a JSON-lines file that holds at most one record per key, shared safely by
//! several processes. The outbox and the activity log are ledgers; appending "only if the
//! key is not there yet" under an exclusive file lock is what makes a redelivered message
//! harmless.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A JSON-lines file with at most one record per `key` field.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let ledger = ferry_blast::Ledger::new(dir.path().join("sent.jsonl"));
/// assert!(ledger.append_once_blocking("k1", &serde_json::json!({ "to": "ann" }))?);
/// assert!(!ledger.append_once_blocking("k1", &serde_json::json!({ "to": "ann" }))?);
/// assert_eq!(ledger.records()?.len(), 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    path: PathBuf,
}

/// Why a ledger could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Reading, locking or writing the file failed.
    #[error("ledger {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The record is not a JSON object.
    #[error("ledger record must be a JSON object, got {0}")]
    NotAnObject(String),
    /// The record could not be encoded.
    #[error("cannot encode ledger record: {0}")]
    Encode(#[from] serde_json::Error),
    /// The blocking task writing the file failed.
    #[error("ledger task failed: {0}")]
    Task(String),
}

/// Just the key of a line, to look records up without parsing all of them.
#[derive(Deserialize)]
struct KeyOnly {
    key: Option<String>,
}

impl Ledger {
    /// A ledger stored at `path` (created with its parent folders on first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Ledger { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` with its `key` field set to `key`, unless a record with that key is
    /// already there. True when appended. Runs the file work on a blocking thread.
    pub async fn append_once<T: Serialize + ?Sized>(
        &self,
        key: &str,
        record: &T,
    ) -> Result<bool, LedgerError> {
        let line = line(key, record)?;
        let (ledger, key) = (self.clone(), key.to_owned());
        tokio::task::spawn_blocking(move || ledger.append_line_once(&key, &line))
            .await
            .map_err(|err| LedgerError::Task(err.to_string()))?
    }

    /// [`append_once`](Self::append_once) on the calling thread.
    pub fn append_once_blocking<T: Serialize + ?Sized>(
        &self,
        key: &str,
        record: &T,
    ) -> Result<bool, LedgerError> {
        self.append_line_once(key, &line(key, record)?)
    }

    /// Every record, in file order (unreadable lines are left out). Empty when the file
    /// does not exist.
    pub fn records(&self) -> Result<Vec<serde_json::Value>, LedgerError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(self.io(source)),
        }
    }

    /// Under an exclusive lock on the file: scan for `key`, append `line` when absent, and
    /// sync it to disk before the lock is released, so that an answer "appended" survives a
    /// crash and two processes never both append the same key.
    fn append_line_once(&self, key: &str, line: &str) -> Result<bool, LedgerError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| self.io(e))?;
        let text = String::from_utf8_lossy(&bytes);
        let present = text.lines().any(|l| {
            serde_json::from_str::<KeyOnly>(l).is_ok_and(|r| r.key.as_deref() == Some(key))
        });
        if present {
            return Ok(false);
        }
        // A line cut short by a crash must not swallow the new record.
        let separator = if text.is_empty() || text.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        file.write_all(format!("{separator}{line}\n").as_bytes())
            .map_err(|e| self.io(e))?;
        file.sync_data().map_err(|e| self.io(e))?;
        Ok(true)
    }

    fn io(&self, source: std::io::Error) -> LedgerError {
        LedgerError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// The JSON line for `record` with `key` set.
fn line<T: Serialize + ?Sized>(key: &str, record: &T) -> Result<String, LedgerError> {
    let mut value = serde_json::to_value(record)?;
    let Some(object) = value.as_object_mut() else {
        return Err(LedgerError::NotAnObject(value.to_string()));
    };
    object.insert("key".to_owned(), key.into());
    Ok(serde_json::to_string(&value)?)
}

#[cfg(test)]
mod tests;
