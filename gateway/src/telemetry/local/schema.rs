//! The SQLite schema of the local log store. Times are Unix milliseconds.
//!
//! `records` holds every record's JSON (`doc`) with the fields queries filter on in
//! columns of their own; `records_text` is a contentless FTS5 index of `message` and
//! `error.message` (not of the fixed texts of `message.received` and `message.done`),
//! keyed by the record's id. Ids only grow (`AUTOINCREMENT`: never reused
//! after the oldest rows are deleted), which is what `ferry logs -f` follows.

/// Statements run when the store is opened for writing (idempotent). `auto_vacuum` must
/// come before the first table: deleted rows then give their pages back to the file system
/// (`PRAGMA incremental_vacuum`), so `max_size` bounds the file, not only its contents.
pub(super) const SCHEMA: &str = r#"
PRAGMA auto_vacuum = INCREMENTAL;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA journal_size_limit = 4194304;
CREATE TABLE IF NOT EXISTS records (
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
CREATE INDEX IF NOT EXISTS records_ts ON records (ts);
CREATE INDEX IF NOT EXISTS records_message ON records (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_published ON records (published_id) WHERE published_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_trace ON records (trace_id) WHERE trace_id IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS records_text USING fts5 (text, content = '', contentless_delete = 1);
"#;

/// Inserts one record (parameters: ts, action, outcome, subscription, realm, message_id,
/// published_id, trace_id, doc).
pub(super) const INSERT: &str = "INSERT INTO records \
    (ts, action, outcome, subscription, realm, message_id, published_id, trace_id, doc) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// Indexes the text of the record just inserted (parameters: id, text).
pub(super) const INSERT_TEXT: &str = "INSERT INTO records_text (rowid, text) VALUES (?1, ?2)";
