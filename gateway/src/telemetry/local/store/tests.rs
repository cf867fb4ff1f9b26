//! Unit tests of opening the store: a store written by the ferry before layout 2 is
//! upgraded in place and reads as before; a layout this ferry does not know is refused by
//! the writer and the reader, each saying why.
#![allow(clippy::unwrap_used)]

use rusqlite::{Connection, params};

use super::open;
use crate::telemetry::local::{LogQuery, LogReader, schema::VERSION};

/// Layout 1 as the ferry before it created it: B-tree indexes on the ids, no key table.
const LAYOUT_1: &str = r"
PRAGMA auto_vacuum = INCREMENTAL;
PRAGMA journal_mode = WAL;
CREATE TABLE records (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ts           INTEGER NOT NULL,
    action       TEXT,
    outcome      TEXT,
    subscription TEXT,
    realm        TEXT,
    message_id   TEXT,
    published_id TEXT,
    trace_id     TEXT,
    doc          TEXT    NOT NULL
);
CREATE INDEX records_ts ON records (ts);
CREATE INDEX records_message ON records (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX records_published ON records (published_id) WHERE published_id IS NOT NULL;
CREATE INDEX records_trace ON records (trace_id) WHERE trace_id IS NOT NULL;
CREATE VIRTUAL TABLE records_text USING fts5 (text, content = '', contentless_delete = 1);
";

fn layout_1(path: &std::path::Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(LAYOUT_1).unwrap();
    let add = |id: i64, action: &str, message: &str, published: Option<&str>| {
        let doc = serde_json::json!({
            "event.action": action,
            "ferry.message_id": message,
            "ferry.published_id": published,
            "trace.id": "0af7651916cd43dd8448eb211c80319c",
            "message": format!("{action} {message}"),
        });
        conn.execute(
            "INSERT INTO records (id, ts, action, message_id, published_id, trace_id, doc) \
             VALUES (?1, ?1, ?2, ?3, ?4, '0af7651916cd43dd8448eb211c80319c', ?5)",
            params![id, action, message, published, doc.to_string()],
        )
        .unwrap();
        if action == "message.retried" {
            conn.execute(
                "INSERT INTO records_text (rowid, text) VALUES (?1, 'card declined')",
                [id],
            )
            .unwrap();
        }
    };
    add(1, "message.received", "m-1", None);
    add(2, "message.retried", "m-1", None);
    add(3, "message.published", "m-1", Some("m-2"));
    add(4, "message.received", "m-2", None);
    add(5, "message.received", "m-3", None);
}

fn ids(reader: &LogReader, q: LogQuery) -> Vec<i64> {
    reader
        .read(&LogQuery { limit: 100, ..q })
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect()
}

#[test]
fn a_layout_1_store_is_upgraded_in_place_and_reads_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs.db");
    layout_1(&path);
    let err = LogReader::open(&path).unwrap_err();
    assert!(
        err.contains("layout 0") && err.contains("the next `ferry run`"),
        "{err}"
    );

    let conn = open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, VERSION);
    let old_indexes: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN \
             ('records_message', 'records_published', 'records_trace')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_indexes, 0);

    let reader = LogReader::open(&path).unwrap();
    let about = |id: &str| {
        ids(
            &reader,
            LogQuery {
                message: Some(id.into()),
                ..LogQuery::default()
            },
        )
    };
    // m-2's story includes where it was published; m-1's is its own three records.
    assert_eq!(about("m-1"), [1, 2, 3]);
    assert_eq!(about("m-2"), [3, 4]);
    assert_eq!(about("m-9"), Vec::<i64>::new());
    let traced = ids(
        &reader,
        LogQuery {
            trace: Some("0af7651916cd43dd8448eb211c80319c".into()),
            ..LogQuery::default()
        },
    );
    assert_eq!(traced, [1, 2, 3, 4, 5]);
    // The text index is kept as it was.
    let declined = ids(
        &reader,
        LogQuery {
            text: Some("declined".into()),
            ..LogQuery::default()
        },
    );
    assert_eq!(declined, [2]);
    // A second open finds nothing to do.
    drop(conn);
    open(&path).unwrap();
}

#[test]
fn a_layout_from_a_newer_ferry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs.db");
    drop(open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", VERSION + 1)
        .unwrap();
    let err = open(&path).unwrap_err();
    assert!(
        err.contains(&path.display().to_string()) && err.contains("newer"),
        "{err}"
    );
    let err = LogReader::open(&path).unwrap_err();
    assert!(err.contains("a newer ferry wrote it"), "{err}");
}
