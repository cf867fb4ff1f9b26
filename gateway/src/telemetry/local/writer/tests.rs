//! Unit tests of the writer's commits on a real SQLite file: a commit that fails leaves
//! nothing of its batch, counts every record of it as dropped and reports them in the next
//! commit, which goes through on the same prepared statements.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use serde_json::json;

use super::{Gathered, pace};
use crate::telemetry::{
    Line, Metrics, Origin,
    local::insert::Pace,
    local::{
        store,
        tests::{count, store as bounds_at},
    },
    sink::{Drops, QUEUE},
};

fn line(i: usize, text: &str) -> Arc<Line> {
    Arc::new(Line::from_value(&json!({
        "event.action": "worker.log",
        "ferry.message_id": format!("m{i}"),
        "message": text,
    })))
}

/// The drop counter a sink would give its writer.
fn drops() -> Drops {
    let origin = Origin {
        service: "svc".into(),
        version: "1".into(),
        host: "h".into(),
    };
    Drops::new("local", origin, Arc::new(Metrics::new()))
}

#[test]
fn a_failed_commit_leaves_nothing_and_is_reported_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = bounds_at(dir.path(), 1 << 30, Duration::from_secs(3600));
    let conn = store::open(&bounds.path).unwrap();
    // The 40th record fails, after the first 32 went in one statement.
    conn.execute_batch(
        "CREATE TRIGGER poison BEFORE INSERT ON records WHEN NEW.doc LIKE '%poison%' \
         BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
    )
    .unwrap();
    let drops = drops();
    let mut inserts = None;
    let mut gathered = Gathered {
        records: (0..40)
            .map(|i| line(i, if i == 39 { "poison" } else { "fine" }))
            .collect(),
        ..Gathered::default()
    };
    gathered.commit(&conn, &mut inserts, &drops);
    assert_eq!(count(&conn, "records"), 0);
    assert_eq!(count(&conn, "record_keys"), 0);
    assert!(conn.is_autocommit(), "no transaction is left open");

    gathered.records = (40..43).map(|i| line(i, "fine")).collect();
    gathered.commit(&conn, &mut inserts, &drops);
    assert_eq!(count(&conn, "records"), 4, "three records and the report");
    let report: String = conn
        .query_row(
            "SELECT doc FROM records WHERE action = 'logs.dropped'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(report.contains("\"ferry.logs.dropped\":40"), "{report}");
    assert_eq!(count(&conn, "record_keys"), 3);
}

#[test]
fn the_writer_stops_yielding_its_core_once_the_channel_is_half_full() {
    assert_eq!(pace(0), Pace::Yielding);
    assert_eq!(pace(QUEUE / 2 - 1), Pace::Yielding);
    assert_eq!(pace(QUEUE / 2), Pace::FlatOut);
    assert_eq!(pace(QUEUE), Pace::FlatOut);

    // A commit after a backed-up drain stores every record, and the next commit starts
    // from an empty channel's pace again.
    let dir = tempfile::tempdir().unwrap();
    let bounds = bounds_at(dir.path(), 1 << 30, Duration::from_secs(3600));
    let conn = store::open(&bounds.path).unwrap();
    let drops = drops();
    let mut inserts = None;
    let mut gathered = Gathered {
        records: (0..100).map(|i| line(i, "fine")).collect(),
        backlog: QUEUE,
        ..Gathered::default()
    };
    gathered.commit(&conn, &mut inserts, &drops);
    assert_eq!(count(&conn, "records"), 100);
    assert_eq!(count(&conn, "record_keys"), 100);
    assert_eq!(gathered.backlog, 0);
}
