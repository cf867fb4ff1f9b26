//! Unit tests of the multi-row inserts on a real SQLite file: every record keeps its own
//! keys and words whatever the batch's size, ids run on across batches, and an id is never
//! given twice, even after every record was deleted; both paces store alike, and a yield
//! that came back late ends the yielding.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use rusqlite::Connection;
use serde_json::json;

use super::{Inserts, Pace};
use crate::telemetry::{
    Line,
    local::{LogQuery, LogReader, store, tests::store as bounds_at},
};

/// Record `i`: its own message id, trace id and a word of its own.
fn record(i: usize) -> Arc<Line> {
    Arc::new(Line::from_value(&json!({
        "@timestamp": "2026-12-07T00:00:00Z",
        "event.action": "worker.log",
        "ferry.message_id": format!("m{i}"),
        "trace.id": format!("{i:032x}"),
        "message": format!("word{i}"),
    })))
}

fn insert(conn: &mut Connection, range: std::ops::Range<usize>) {
    insert_at(conn, range, Pace::Yielding);
}

fn insert_at(conn: &mut Connection, range: std::ops::Range<usize>, pace: Pace) {
    let lines: Vec<_> = range.map(record).collect();
    let tx = conn.transaction().unwrap();
    Inserts::prepare(&tx)
        .unwrap()
        .insert_all(&lines, pace)
        .unwrap();
    tx.commit().unwrap();
}

fn ids(reader: &LogReader, q: LogQuery) -> Vec<(i64, String)> {
    reader
        .read(&LogQuery { limit: 100, ..q })
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.doc["ferry.message_id"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn each_record_keeps_its_keys_and_words_in_batches_of_any_size() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = bounds_at(dir.path(), 1 << 30, Duration::from_secs(3600));
    let mut conn = store::open(&bounds.path).unwrap();
    // 45 = 32 + 8 + 4 + 1 rows in four statements, then 1, then 70 = 32 + 32 + 4 + 2;
    // the writer's two paces store alike.
    insert_at(&mut conn, 0..45, Pace::Yielding);
    insert_at(&mut conn, 45..46, Pace::FlatOut);
    insert_at(&mut conn, 46..116, Pace::FlatOut);
    let reader = LogReader::open(&bounds.path).unwrap();
    for i in 0..116_usize {
        let id = i64::try_from(i).unwrap() + 1;
        let m = format!("m{i}");
        let by_message = LogQuery {
            message: Some(m.clone()),
            ..LogQuery::default()
        };
        let by_trace = LogQuery {
            trace: Some(format!("{i:032x}")),
            ..LogQuery::default()
        };
        let by_text = LogQuery {
            text: Some(format!("word{i}")),
            ..LogQuery::default()
        };
        for q in [by_message, by_trace, by_text] {
            assert_eq!(ids(&reader, q), vec![(id, m.clone())], "record {i}");
        }
    }
}

#[test]
fn ids_are_never_given_twice_even_after_every_record_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = bounds_at(dir.path(), 1 << 30, Duration::from_secs(3600));
    let mut conn = store::open(&bounds.path).unwrap();
    insert(&mut conn, 0..3);
    conn.execute_batch("DELETE FROM records; DELETE FROM record_keys; DELETE FROM records_text;")
        .unwrap();
    insert(&mut conn, 3..5);
    let reader = LogReader::open(&bounds.path).unwrap();
    assert_eq!(
        ids(&reader, LogQuery::default()),
        vec![(4, "m3".to_owned()), (5, "m4".to_owned())]
    );
}

#[test]
fn a_late_yield_turns_the_rest_of_the_commit_flat_out() {
    let quick = Duration::from_micros(300);
    let late = Duration::from_millis(5);
    assert_eq!(Pace::Yielding.after_yield(quick), Pace::Yielding);
    assert_eq!(Pace::Yielding.after_yield(late), Pace::FlatOut);
    assert_eq!(Pace::FlatOut.after_yield(quick), Pace::FlatOut);
}
