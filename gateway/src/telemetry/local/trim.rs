//! Keeping the store within its bounds: records older than `max_age` go, then the oldest
//! quarter of the records while the file's pages in use exceed `max_size`; the freed pages
//! are given back to the file system. Every step is a lookup at an end of an index, never
//! a scan, so a trim of a full store costs what it deletes, not what it keeps.

use rusqlite::Connection;

use super::{config::LocalStore, insert::now_ms};

/// The last id of a record older than a time (parameter: Unix ms). Without `INDEXED BY`
/// SQLite answers `max(id)` by walking every row from the newest id down.
pub(super) const OLD: &str = "SELECT max(id) FROM records INDEXED BY records_ts WHERE ts < ?1";

/// The first and the last id (two lookups at the ends of the table; `SELECT min(id),
/// max(id)` in one scans an index whole).
pub(super) const ID_RANGE: &str =
    "SELECT (SELECT min(id) FROM records), (SELECT max(id) FROM records)";

/// Deletes the records with ids up to `last` (and their keys and text).
fn delete_through(conn: &Connection, last: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM records_text WHERE rowid <= ?1", [last])?;
    conn.execute("DELETE FROM record_keys WHERE id <= ?1", [last])?;
    conn.execute("DELETE FROM records WHERE id <= ?1", [last])?;
    Ok(())
}

/// The bytes the database's pages in use take.
fn used_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let q = |pragma: &str| conn.query_row(pragma, [], |r| r.get::<_, i64>(0));
    let used = q("PRAGMA page_count")? - q("PRAGMA freelist_count")?;
    Ok(u64::try_from(used * q("PRAGMA page_size")?).unwrap_or(0))
}

/// Keeps the store within `bounds`: deletes what is older than `max_age`, then the oldest
/// quarter of the records while the pages in use exceed `max_size`, and gives the freed
/// pages back.
pub(super) fn trim(conn: &Connection, bounds: &LocalStore) -> rusqlite::Result<()> {
    let age_ms = i64::try_from(bounds.max_age.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now_ms().saturating_sub(age_ms);
    let mut freed = false;
    // Oldest by id is oldest by time to within a batch.
    let old: Option<i64> = conn
        .prepare_cached(OLD)?
        .query_row([cutoff], |r| r.get(0))?;
    if let Some(last) = old {
        delete_through(conn, last)?;
        freed = true;
    }
    // A little below the bound: the file also holds pointer-map pages.
    let target = bounds.max_size - bounds.max_size / 16;
    for _ in 0..32 {
        if used_bytes(conn)? <= target {
            break;
        }
        let (first, last): (Option<i64>, Option<i64>) = conn
            .prepare_cached(ID_RANGE)?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let (Some(first), Some(last)) = (first, last) else {
            break;
        };
        delete_through(conn, first + (last - first) / 4)?;
        freed = true;
    }
    if freed {
        // Each step frees one page: step to the end.
        let mut vacuum = conn.prepare_cached("PRAGMA incremental_vacuum")?;
        let mut rows = vacuum.query([])?;
        while rows.next()?.is_some() {}
        drop(rows);
        // The file shrinks when the write-ahead log is copied back; never waits for readers.
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
