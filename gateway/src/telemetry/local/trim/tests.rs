//! Unit tests of the bounds on a real SQLite file: the file stays within `max_size`, old
//! records go with their keys and text, and finding what to delete costs the same on a
//! full store as on an empty one.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use rusqlite::{Connection, StatementStatus};
use serde_json::json;

use super::{ID_RANGE, OLD, trim};
use crate::telemetry::{
    Line,
    local::{
        LogQuery, LogReader,
        insert::{Inserts, Pace, rfc3339_ms},
        store,
        tests::{count, store as bounds_at},
    },
};

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Inserts `n` records at time `ts` as the writer does: with their keys and text.
fn fill(conn: &mut Connection, n: usize, ts: &str) {
    let tx = conn.transaction().unwrap();
    let mut lines = Vec::with_capacity(n);
    for i in 0..n {
        let doc = json!({
            "@timestamp": ts,
            "event.action": "x",
            "ferry.message_id": format!("m-{ts}-{i}"),
            "message": format!("record {i} {}", "pad ".repeat(50)),
        });
        lines.push(Arc::new(Line::from_value(&doc)));
    }
    Inserts::prepare(&tx)
        .unwrap()
        .insert_all(&lines, Pace::Yielding)
        .unwrap();
    tx.commit().unwrap();
}

#[test]
fn trimming_keeps_the_file_within_max_size() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = bounds_at(dir.path(), 256 * 1024, Duration::from_secs(3600));
    let mut conn = store::open(&bounds.path).unwrap();
    fill(&mut conn, 5000, &now());
    trim(&conn, &bounds).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let size = std::fs::metadata(&bounds.path).unwrap().len();
    let q = |p: &str| conn.query_row(p, [], |r| r.get::<_, i64>(0)).unwrap();
    assert!(
        size <= 256 * 1024,
        "{size} bytes; pages {} free {} vacuum {}",
        q("PRAGMA page_count"),
        q("PRAGMA freelist_count"),
        q("PRAGMA auto_vacuum")
    );
    let left = count(&conn, "records");
    assert!(left > 0 && left < 5000, "{left} records left");
    // Their keys went with them.
    assert_eq!(count(&conn, "record_keys"), left);
    // The newest survive.
    let max: i64 = conn
        .query_row("SELECT max(id) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(max, 5000);
}

#[test]
fn trimming_deletes_what_is_older_than_max_age() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = bounds_at(dir.path(), 1 << 30, Duration::from_secs(60));
    let mut conn = store::open(&bounds.path).unwrap();
    fill(&mut conn, 10, "2020-01-01T00:00:00Z");
    fill(&mut conn, 3, &now());
    trim(&conn, &bounds).unwrap();
    let reader = LogReader::open(&bounds.path).unwrap();
    let left = reader
        .read(&LogQuery {
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(left.len(), 3);
    assert_eq!(count(&conn, "record_keys"), 3);
    // The old records' text is gone too: "record" is in every message.
    let text = reader
        .read(&LogQuery {
            text: Some("record".into()),
            limit: 100,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(text.len(), 3);
}

/// Virtual-machine steps `sql` takes with `params` (SQLite's own count).
fn steps(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> i32 {
    let mut stmt = conn.prepare(sql).unwrap();
    let mut rows = stmt.query(params).unwrap();
    while rows.next().unwrap().is_some() {}
    drop(rows);
    stmt.get_status(StatementStatus::VmStep)
}

#[test]
fn finding_what_to_trim_looks_at_the_ends_never_at_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = bounds_at(dir.path(), 1 << 30, Duration::from_secs(60));
    let mut conn = store::open(&bounds.path).unwrap();
    fill(&mut conn, 3, "2020-01-01T00:00:00Z");
    fill(&mut conn, 20_000, &now());
    let cutoff = rfc3339_ms("2021-01-01T00:00:00Z").unwrap();
    // Three old records to find among 20 003: a scan would step through every one.
    let old = steps(&conn, OLD, [cutoff]);
    assert!(old < 100, "{old} steps to find the last old record");
    let ends = steps(&conn, ID_RANGE, []);
    assert!(ends < 100, "{ends} steps to find the first and last id");
    let found: i64 = conn.query_row(OLD, [cutoff], |r| r.get(0)).unwrap();
    assert_eq!(found, 3);
}
