//! The controls operators set (one JSON row per subscription, loaded at start) and the
//! audit log: one row per action, with who, from where, on what, the details and how it
//! ended.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::console::{controls::FleetControls, fleet::SubKey};

/// Every subscription's controls.
pub fn load_controls(conn: &mut Connection) -> rusqlite::Result<BTreeMap<SubKey, FleetControls>> {
    let mut stmt = conn.prepare("SELECT backend, subscription, controls FROM controls")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            SubKey {
                backend: r.get(0)?,
                name: r.get(1)?,
            },
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (key, text) = row?;
        // A row this version cannot read is dropped rather than applied half-understood.
        if let Ok(c) = serde_json::from_str::<FleetControls>(&text) {
            out.insert(key, c);
        }
    }
    Ok(out)
}

/// Saves (or, when empty, deletes) the controls of `key`.
pub fn save_controls(
    conn: &mut Connection,
    key: &SubKey,
    controls: &FleetControls,
) -> rusqlite::Result<()> {
    if controls.is_empty() {
        conn.execute(
            "DELETE FROM controls WHERE backend = ?1 AND subscription = ?2",
            params![key.backend, key.name],
        )?;
    } else {
        let text = serde_json::to_string(controls).unwrap_or_default();
        conn.execute(
            "INSERT INTO controls (backend, subscription, controls) VALUES (?1, ?2, ?3)
             ON CONFLICT (backend, subscription) DO UPDATE SET controls = excluded.controls",
            params![key.backend, key.name, text],
        )?;
    }
    Ok(())
}

/// One action in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its id (ascending).
    pub id: i64,
    /// When (Unix ms).
    pub at_ms: i64,
    /// Who (the `X-Ferry-Actor` header, else `operator`).
    pub actor: String,
    /// The client's address.
    pub peer: String,
    /// What: `pause`, `resume`, `pause_realm`, `resume_realm`, `set_limits`, `redrive`,
    /// `delete`, `purge`, `publish`.
    pub action: String,
    /// On what (`backend/subscription`, a queue).
    pub target: String,
    /// The request's details (JSON).
    pub detail: String,
    /// `ok`, or the error.
    pub outcome: String,
}

/// Appends `entry` (its id is assigned).
pub fn audit(conn: &mut Connection, entry: &AuditEntry) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO audit (at, actor, peer, action, target, detail, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            entry.at_ms,
            entry.actor,
            entry.peer,
            entry.action,
            entry.target,
            entry.detail,
            entry.outcome
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The latest `limit` entries, newest first.
pub fn audit_list(conn: &mut Connection, limit: usize) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, peer, action, target, detail, outcome FROM audit
         ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![i64::try_from(limit).unwrap_or(100)], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at_ms: r.get(1)?,
            actor: r.get(2)?,
            peer: r.get(3)?,
            action: r.get(4)?,
            target: r.get(5)?,
            detail: r.get(6)?,
            outcome: r.get(7)?,
        })
    })?;
    rows.collect()
}
