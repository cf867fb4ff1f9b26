//! Unit tests for the ledger: one record per key, also under concurrent writers, and a
//! torn last line does not swallow the next record.

use std::sync::Arc;

use serde_json::json;

use super::{Ledger, LedgerError};

#[test]
fn a_key_is_appended_once() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(dir.path().join("nested/ledger.jsonl"));
    assert!(ledger.records().unwrap().is_empty());
    assert!(
        ledger
            .append_once_blocking("a", &json!({ "n": 1 }))
            .unwrap()
    );
    assert!(
        !ledger
            .append_once_blocking("a", &json!({ "n": 2 }))
            .unwrap()
    );
    assert!(
        ledger
            .append_once_blocking("b", &json!({ "n": 3 }))
            .unwrap()
    );
    let records = ledger.records().unwrap();
    assert_eq!(
        records,
        [json!({ "key": "a", "n": 1 }), json!({ "key": "b", "n": 3 })]
    );
}

#[test]
fn concurrent_writers_append_one_record_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Ledger::new(dir.path().join("ledger.jsonl")));
    let appended: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let ledger = Arc::clone(&ledger);
                scope.spawn(move || ledger.append_once_blocking("same", &json!({ "writer": i })))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap().unwrap()))
            .sum()
    });
    assert_eq!(appended, 1);
    assert_eq!(ledger.records().unwrap().len(), 1);
}

#[test]
fn a_torn_last_line_is_closed_before_appending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    std::fs::write(&path, "{\"key\":\"a\"}\n{\"key\":\"b\",\"n\"").unwrap();
    let ledger = Ledger::new(&path);
    assert!(!ledger.append_once_blocking("a", &json!({})).unwrap());
    assert!(ledger.append_once_blocking("b", &json!({})).unwrap());
    assert_eq!(
        ledger.records().unwrap(),
        [json!({ "key": "a" }), json!({ "key": "b" })]
    );
}

#[test]
fn records_must_be_objects() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(dir.path().join("ledger.jsonl"));
    let err = ledger.append_once_blocking("a", &json!([1])).unwrap_err();
    assert!(matches!(err, LedgerError::NotAnObject(_)), "{err}");
}

#[tokio::test]
async fn the_async_append_matches_the_blocking_one() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::new(dir.path().join("ledger.jsonl"));
    assert!(ledger.append_once("k", &json!({})).await.unwrap());
    assert!(!ledger.append_once("k", &json!({})).await.unwrap());
}
