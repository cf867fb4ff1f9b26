//! The console's dead-letter operations on the embedded queue, as SQL inside the writer's
//! transaction: redrive or delete chosen letters by id, purge an error queue. A letter
//! leased right now (a redrive under way elsewhere) is left alone.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};

use super::ops::sql_err;
use crate::backend::{BackendError, STORY_PREFIX, strip_story};

/// The `(seq, attributes)` of the letters of `error_queue` with one of `ids`, not leased.
fn chosen(
    conn: &Connection,
    error_queue: &str,
    ids: &[String],
    now: i64,
) -> Result<Vec<(i64, String)>, BackendError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, attributes FROM messages
             WHERE queue = ?1 AND id = ?2 AND (receipt IS NULL OR visible_at <= ?3)",
        )
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for id in ids {
        let rows = stmt
            .query_map(params![error_queue, id, now], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(sql_err)?;
        for row in rows {
            out.push(row.map_err(sql_err)?);
        }
    }
    Ok(out)
}

/// Moves the letters with `ids` back to their source queue (else `default_queue`) with
/// the story removed and the attempts reset.
pub(super) fn redrive_ids(
    conn: &Connection,
    error_queue: &str,
    default_queue: &str,
    ids: &[String],
    now: i64,
) -> Result<usize, BackendError> {
    let rows = chosen(conn, error_queue, ids, now)?;
    for (seq, attrs) in &rows {
        let all: BTreeMap<String, String> = serde_json::from_str(attrs).unwrap_or_default();
        let target = all
            .get(&format!("{STORY_PREFIX}source_queue"))
            .cloned()
            .unwrap_or_else(|| default_queue.to_owned());
        let own = serde_json::to_string(&strip_story(&all)).unwrap_or_else(|_| "{}".to_owned());
        conn.execute(
            "UPDATE messages SET queue = ?1, attributes = ?2, receipt = NULL, visible_at = ?3,
                    attempts = 0, first_failure_at = NULL, last_failure_at = NULL, last_error = NULL
             WHERE seq = ?4",
            params![target, own, now, seq],
        )
        .map_err(sql_err)?;
    }
    Ok(rows.len())
}

/// Deletes the letters with `ids`.
pub(super) fn delete_ids(
    conn: &Connection,
    error_queue: &str,
    ids: &[String],
) -> Result<usize, BackendError> {
    let rows = chosen(conn, error_queue, ids, super::ops::now_ms())?;
    for (seq, _) in &rows {
        conn.execute("DELETE FROM messages WHERE seq = ?1", params![seq])
            .map_err(sql_err)?;
    }
    Ok(rows.len())
}

/// Deletes every letter of `error_queue` that is not leased.
pub(super) fn purge(conn: &Connection, error_queue: &str, now: i64) -> Result<usize, BackendError> {
    conn.execute(
        "DELETE FROM messages WHERE queue = ?1 AND (receipt IS NULL OR visible_at <= ?2)",
        params![error_queue, now],
    )
    .map_err(sql_err)
}
