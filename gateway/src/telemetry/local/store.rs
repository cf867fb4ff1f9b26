//! Opening the store for writing: its directory and file, the connection's settings, and
//! the tables of a new store or the upgrade of an older layout ([`schema::VERSION`]).

use std::{path::Path, time::Duration};

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::schema::{
    self, ALL_IDS, INSERT_KEYS, MIGRATE_FROM_1, PRAGMAS, SCHEMA, VERSION, key_hash,
};

/// How long a write waits for another process's lock on the shared file.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating it and its directory) the store for writing.
pub(super) fn open(path: &Path) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    }
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .and_then(|()| conn.execute_batch(PRAGMAS))
        .map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
    upgrade(&mut conn).map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
    Ok(conn)
}

/// Creates the tables of a new store, or upgrades an older layout in place (once, in one
/// transaction: another process sharing the file may be doing the same).
fn upgrade(conn: &mut Connection) -> Result<(), String> {
    let version = |c: &Connection| {
        c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map_err(|e| e.to_string())
    };
    if version(conn)? == VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    let found = version(&tx)?;
    if found > VERSION {
        return Err(format!(
            "its layout {found} is newer than this ferry's ({VERSION}): a newer ferry wrote it"
        ));
    }
    if found < VERSION {
        let had_records: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'records'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| e.to_string())?;
        tx.execute_batch(SCHEMA).map_err(|e| e.to_string())?;
        if had_records {
            backfill_keys(&tx)
                .and_then(|()| tx.execute_batch(MIGRATE_FROM_1))
                .map_err(|e| format!("upgrading from layout {found}: {e}"))?;
        }
        tx.pragma_update(None, "user_version", schema::VERSION)
            .map_err(|e| e.to_string())?;
    }
    tx.commit().map_err(|e| e.to_string())
}

/// Fills `record_keys` for every record of a layout-1 store.
fn backfill_keys(conn: &Connection) -> rusqlite::Result<()> {
    let mut read = conn.prepare(ALL_IDS)?;
    let mut write = conn.prepare(&format!("{INSERT_KEYS} VALUES (?1, ?2, ?3, ?4)"))?;
    let mut rows = read.query([])?;
    while let Some(row) = rows.next()? {
        let text = |i: usize| row.get::<_, Option<String>>(i);
        let keys = [text(1)?, text(2)?, text(3)?].map(|k| k.as_deref().map(key_hash));
        if keys.iter().any(Option::is_some) {
            write.execute(params![row.get::<_, i64>(0)?, keys[0], keys[1], keys[2]])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
