//! [`Store`]: the open queue file — the [`Writer`] thread for everything that changes it,
//! and a connection of its own for what only reads it (counts, listings), so a slow
//! listing never holds up a settle.
//!
//! Durability: WAL mode; a publish (a dead letter, a redrive) is answered only after the
//! commit that contains it has synced the log to disk, so a message ferry accepted
//! survives a crash of ferry and a power loss; leases, acks and retries commit without
//! waiting for the disk (see [`super::writer`]). Several ferry
//! processes on one host may share the file (SQLite's locks serialise their writers); the
//! file must be on a local filesystem, since WAL mode needs shared memory between them.

use std::{path::Path, sync::Mutex, time::Duration};

use rusqlite::{Connection, OpenFlags};

use super::{ops::sql_err, schema::SCHEMA, writer::Writer};
use crate::backend::BackendError;

/// How the file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file (and its directory) if it does not exist: `ferry run`, `publish`.
    Create,
    /// Refuse a file that does not exist: the read-only and admin commands never create
    /// state (a mistyped path is an error, not a new empty queue).
    Existing,
}

/// The open SQLite file.
pub(super) struct Store {
    pub(super) writer: Writer,
    reader: Mutex<Connection>,
    pub(super) dedup_window_ms: i64,
}

fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, BackendError> {
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| BackendError::Other(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(sql_err)?;
    Ok(conn)
}

impl Store {
    pub(super) fn open(
        path: &Path,
        dedup_window: Duration,
        mode: OpenMode,
    ) -> Result<Self, BackendError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        match mode {
            OpenMode::Create => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        BackendError::Other(format!(
                            "cannot create directory {}: {e}",
                            dir.display()
                        ))
                    })?;
                }
                flags |= OpenFlags::SQLITE_OPEN_CREATE;
            }
            OpenMode::Existing if !path.exists() => {
                return Err(BackendError::Queue {
                    queue: path.display().to_string(),
                    reason: format!(
                        "no queue file at {} (`ferry run` and `ferry publish` create it; check backend.embedded.path)",
                        path.display()
                    ),
                });
            }
            OpenMode::Existing => {}
        }
        let writer = connect(path, flags)?;
        writer.execute_batch(SCHEMA).map_err(sql_err)?;
        let reader = connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Ok(Self {
            writer: Writer::start(writer)?,
            reader: Mutex::new(reader),
            dedup_window_ms: i64::try_from(dedup_window.as_millis()).unwrap_or(i64::MAX),
        })
    }

    /// Runs `f` on the read-only connection (on the blocking pool: it may wait on disk).
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let conn = self
            .reader
            .lock()
            .map_err(|_| BackendError::Other("embedded queue reader poisoned".into()))?;
        f(&conn)
    }
}
