//! Unit tests of the local store: query building, text expressions, and the writer's
//! bounds on a real SQLite file.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use rusqlite::types::Value as Sql;
use serde_json::json;

use super::{
    LocalConfig, LocalStore, LogQuery, LogReader, Order,
    query::{build, fts_expression},
    schema, store,
};

#[test]
fn every_filter_becomes_a_parameter() {
    let q = LogQuery {
        message: Some("m1".into()),
        trace: Some("t1".into()),
        subscription: Some("s".into()),
        realm: Some("r".into()),
        outcome: Some("failure".into()),
        action: Some("message.done".into()),
        since_ms: Some(5),
        until_ms: Some(9),
        text: Some("boom".into()),
        after_id: Some(3),
        order: Order::Latest,
        limit: 10,
    };
    let (sql, params) = build(&q).unwrap();
    assert_eq!(
        sql,
        "SELECT id, doc FROM records WHERE id IN (SELECT id FROM record_keys WHERE message = ?1 \
         OR published = ?1) AND (message_id = ?2 OR published_id = ?2) AND id IN (SELECT id FROM \
         record_keys WHERE trace = ?3) AND trace_id = ?4 AND subscription = ?5 AND realm = ?6 \
         AND outcome = ?7 AND action = ?8 AND ts >= ?9 AND ts <= ?10 AND id > ?11 AND id IN \
         (SELECT rowid FROM records_text WHERE records_text MATCH ?12) ORDER BY ts DESC, id DESC \
         LIMIT ?13"
    );
    assert_eq!(params[0], Sql::Integer(schema::key_hash("m1")));
    assert_eq!(params[1], Sql::Text("m1".into()));
    assert_eq!(params[2], Sql::Integer(schema::key_hash("t1")));
    assert_eq!(params[8], Sql::Integer(5));
    assert_eq!(params[11], Sql::Text("\"boom\"".into()));
    assert_eq!(params[12], Sql::Integer(10));
}

#[test]
fn a_story_is_found_through_the_key_table_never_by_reading_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = store(dir.path(), 1 << 30, Duration::from_secs(3600));
    let conn = store::open(&bounds.path).unwrap();
    for q in [
        LogQuery {
            message: Some("m1".into()),
            limit: 10,
            ..LogQuery::default()
        },
        LogQuery {
            trace: Some("t1".into()),
            order: Order::Latest,
            limit: 10,
            ..LogQuery::default()
        },
    ] {
        let (sql, params) = build(&q).unwrap();
        let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let steps: Vec<String> = plan
            .query_map(rusqlite::params_from_iter(params), |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let plan = steps.join(" | ");
        assert!(
            plan.contains("SEARCH records USING INTEGER PRIMARY KEY")
                && !plan.contains("SCAN records"),
            "{plan}"
        );
    }
}

#[test]
fn no_filter_reads_everything_in_order() {
    let (sql, _) = build(&LogQuery {
        order: Order::Stored,
        limit: 5,
        ..LogQuery::default()
    })
    .unwrap();
    assert_eq!(sql, "SELECT id, doc FROM records ORDER BY id LIMIT ?1");
}

#[test]
fn text_forms_become_fts5() {
    assert_eq!(fts_expression("a b").unwrap(), "\"a\" AND \"b\"");
    assert_eq!(fts_expression("\"a b\" c*").unwrap(), "\"a b\" AND \"c\"*");
    assert_eq!(fts_expression("a -b").unwrap(), "(\"a\") NOT \"b\"");
    assert_eq!(fts_expression("x\"y").unwrap(), "\"xy\"");
    assert!(
        fts_expression("-b")
            .unwrap_err()
            .contains("at least one word")
    );
}

#[test]
fn the_store_is_on_with_the_embedded_backend_and_next_to_its_file() {
    let c = LocalConfig::default();
    let on = c.resolve(Some(std::path::Path::new("data/q.db"))).unwrap();
    assert_eq!(on.path, std::path::Path::new("data/q.logs.db"));
    assert_eq!(c.resolve(None), None);
    let forced = LocalConfig {
        enabled: Some(true),
        ..LocalConfig::default()
    };
    assert_eq!(
        forced.resolve(None).unwrap().path,
        std::path::Path::new("ferry.logs.db")
    );
    let off = LocalConfig {
        enabled: Some(false),
        ..LocalConfig::default()
    };
    assert_eq!(off.resolve(Some(std::path::Path::new("q.db"))), None);
}

/// The rows in `table`.
pub(super) fn count(conn: &rusqlite::Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

pub(super) fn store(dir: &std::path::Path, max_size: u64, max_age: Duration) -> LocalStore {
    LocalStore {
        path: dir.join("logs.db"),
        max_size,
        max_age,
    }
}

#[test]
fn reading_never_creates_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.db");
    let err = LogReader::open(&path).unwrap_err();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(!path.exists());
}

#[tokio::test]
async fn the_sink_stores_what_telemetry_emits_and_text_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = store(dir.path(), 1 << 30, Duration::from_secs(3600));
    let metrics = Arc::new(crate::telemetry::Metrics::new());
    let origin = crate::telemetry::Origin::new("svc", None);
    let inner = Arc::new(crate::telemetry::sink::StdoutSink::to_writer(
        std::io::sink(),
        origin.clone(),
        metrics.clone(),
    ));
    let sink = super::LocalSink::start(&bounds, inner, origin.clone(), metrics).unwrap();
    let t = crate::telemetry::Telemetry::with(
        origin,
        Arc::new(crate::telemetry::Metrics::new()),
        Arc::new(sink),
    );
    struct E(&'static str);
    impl crate::telemetry::Event for E {
        fn fill<'a>(&'a self, r: &mut crate::telemetry::Record<'a>) {
            r.action("test.event")
                .set("ferry.message_id", "m-1")
                .message(self.0);
        }
    }
    t.emit(E("the quick brown fox"));
    t.emit(E("a lazy dog"));
    t.flush().await;
    let reader = LogReader::open(&bounds.path).unwrap();
    let found = reader
        .read(&LogQuery {
            text: Some("qui* fox".into()),
            limit: 10,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].doc["message"], "the quick brown fox");
    let story = reader
        .read(&LogQuery {
            message: Some("m-1".into()),
            limit: 10,
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(story.len(), 2);
    assert_eq!(story[1].doc["message"], "a lazy dog");
}

/// A `Write` whose bytes the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn one_record_reaches_both_sinks_and_fixed_texts_stay_out_of_the_index() {
    use crate::telemetry::events::{Done, Received, Retried};
    let dir = tempfile::tempdir().unwrap();
    let bounds = store(dir.path(), 1 << 30, Duration::from_secs(3600));
    let metrics = Arc::new(crate::telemetry::Metrics::new());
    let origin = crate::telemetry::Origin::new("svc", None);
    let out = Captured::default();
    let inner = Arc::new(crate::telemetry::sink::StdoutSink::to_writer(
        out.clone(),
        origin.clone(),
        metrics.clone(),
    ));
    let sink = super::LocalSink::start(&bounds, inner, origin.clone(), metrics.clone()).unwrap();
    let t = crate::telemetry::Telemetry::with(origin, metrics, Arc::new(sink));
    let ctx = crate::telemetry::MessageContext {
        subscription: "orders".into(),
        queue: "orders".into(),
        message_id: "m-7".into(),
        attempt: 1,
        ..Default::default()
    };
    t.emit(Received {
        ctx: &ctx,
        at: std::time::SystemTime::now(),
    });
    t.emit(Retried {
        ctx: &ctx,
        duration: Duration::from_millis(3),
        delay: Duration::from_secs(1),
        error: "card declined",
    });
    t.emit(Done {
        ctx: &ctx,
        duration: Duration::from_millis(2),
        published: 0,
    });
    t.flush().await;

    // Stdout has the three records, the same documents the store holds.
    let lines: Vec<serde_json::Value> = String::from_utf8(out.0.lock().unwrap().clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reader = LogReader::open(&bounds.path).unwrap();
    let read = |q: LogQuery| reader.read(&LogQuery { limit: 10, ..q }).unwrap();
    let story = read(LogQuery {
        message: Some("m-7".into()),
        ..LogQuery::default()
    });
    let stored: Vec<_> = story.iter().map(|r| r.doc.clone()).collect();
    assert_eq!(stored, lines);
    let actions: Vec<_> = stored.iter().map(|d| d["event.action"].clone()).collect();
    assert_eq!(
        actions,
        [
            json!("message.received"),
            json!("message.retried"),
            json!("message.done")
        ]
    );

    // Errors and messages of their own are searchable; the two fixed texts are not
    // indexed, and the action finds them.
    let text = |q: &str| {
        read(LogQuery {
            text: Some(q.into()),
            ..LogQuery::default()
        })
    };
    assert_eq!(text("declined")[0].doc["event.action"], "message.retried");
    assert_eq!(text("declined").len(), 1);
    assert!(text("received").is_empty());
    assert!(text("done").is_empty());
    let done = read(LogQuery {
        action: Some("message.done".into()),
        ..LogQuery::default()
    });
    assert_eq!(done.len(), 1);
    let indexed: i64 = rusqlite::Connection::open(&bounds.path)
        .unwrap()
        .query_row("SELECT count(*) FROM records_text", [], |r| r.get(0))
        .unwrap();
    assert_eq!(indexed, 1);
}
