//! The SQLite schema of the local log store (layout [`VERSION`], kept in `PRAGMA
//! user_version`). Times are Unix milliseconds.
//!
//! `records` holds every record's JSON (`doc`) with the fields queries filter on in
//! columns of their own, and one index, on `ts` (times only grow, so it is appended to).
//! `records_text` is a contentless FTS5 index of `message` and `error.message` (not of the
//! fixed texts of `message.received` and `message.done`), keyed by the record's id.
//! `record_keys` holds, under the record's id, a 64-bit hash ([`key_hash`]) of its message
//! id, published id and trace id: a lookup scans this narrow table (about 30 bytes a
//! record) and then checks the columns of the records it points at exactly.
//!
//! Why no B-tree index on the ids: they are random, so each record inserted into such an
//! index dirties a leaf page of its own, which the write-ahead log then writes whole and a
//! checkpoint writes again — at ferry's rates several times the cost of the record itself
//! (docs/PERFORMANCE.md, "Local log store"). `record_keys` is appended to in id order like
//! `records`; scanning it costs tens of milliseconds at the default `max_size`, paid by
//! the reader who asks, not by every delivery.
//!
//! Ids only grow (`AUTOINCREMENT`: never reused after the oldest rows are deleted), which
//! is what `ferry logs -f` follows.

/// The layout this code writes and reads. 1 had B-tree indexes on the ids and no
/// `record_keys`; [`MIGRATE_FROM_1`] and a backfill of `record_keys` upgrade it in place.
pub(super) const VERSION: i64 = 2;

/// Set on every open for writing. `auto_vacuum` must come before the first table:
/// deleted rows then give their pages back to the file system (`PRAGMA
/// incremental_vacuum`), so `max_size` bounds the file, not only its contents.
pub(super) const PRAGMAS: &str = r"
PRAGMA page_size = 16384;
PRAGMA auto_vacuum = INCREMENTAL;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA journal_size_limit = 4194304;
";

/// A new store's tables (idempotent).
pub(super) const SCHEMA: &str = r"
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
CREATE TABLE IF NOT EXISTS record_keys (
    id        INTEGER PRIMARY KEY,
    message   INTEGER,
    published INTEGER,
    trace     INTEGER
);
CREATE VIRTUAL TABLE IF NOT EXISTS records_text USING fts5 (text, content = '', contentless_delete = 1);
";

/// Drops what layout 1 had and layout 2 has not (after `record_keys` is filled).
pub(super) const MIGRATE_FROM_1: &str = r"
DROP INDEX IF EXISTS records_message;
DROP INDEX IF EXISTS records_published;
DROP INDEX IF EXISTS records_trace;
";

/// Every record's ids, to fill `record_keys` when upgrading from layout 1.
pub(super) const ALL_IDS: &str = "SELECT id, message_id, published_id, trace_id FROM records";

/// Inserts records: followed by `VALUES` and one `(id, ts, action, outcome, subscription,
/// realm, message_id, published_id, trace_id, doc)` per record.
pub(super) const INSERT: &str = "INSERT INTO records \
    (id, ts, action, outcome, subscription, realm, message_id, published_id, trace_id, doc)";

/// Records key hashes: followed by `VALUES` and one `(id, message, published, trace)` per
/// record.
pub(super) const INSERT_KEYS: &str = "INSERT INTO record_keys (id, message, published, trace)";

/// Indexes the text of the record just inserted (parameters: id, text).
pub(super) const INSERT_TEXT: &str = "INSERT INTO records_text (rowid, text) VALUES (?1, ?2)";

/// The hash `record_keys` holds for an id: 64-bit FNV-1a of its UTF-8 bytes, as SQLite's
/// signed integer. Fixed for good: stores written by one ferry are read by another.
pub(crate) fn key_hash(id: &str) -> i64 {
    use std::hash::Hasher as _;
    let mut h = fnv::FnvHasher::default();
    h.write(id.as_bytes());
    i64::from_ne_bytes(h.finish().to_ne_bytes())
}
