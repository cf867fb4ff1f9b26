//! The SQLite schema of the embedded queue. Times are Unix milliseconds.
//!
//! A message row is *ready* when `visible_at <= now`, *in flight* when it has a `receipt`
//! and `visible_at > now` (the lease expiry), and *delayed* when it has no receipt and
//! `visible_at > now`. An expired lease simply makes the row ready again. An error queue is
//! an ordinary queue whose messages carry the `ferry.dlq.*` story attributes.

/// Statements run when the file is opened (idempotent).
pub(super) const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS messages (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    queue            TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    payload          BLOB    NOT NULL,
    attributes       TEXT    NOT NULL,
    dedup_id         TEXT,
    ordering_key     TEXT,
    published_at     INTEGER NOT NULL,
    visible_at       INTEGER NOT NULL,
    receipt          TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    first_failure_at INTEGER,
    last_failure_at  INTEGER,
    last_error       TEXT
);
CREATE INDEX IF NOT EXISTS messages_due ON messages (queue, visible_at, seq);
CREATE TABLE IF NOT EXISTS dedup (
    queue      TEXT    NOT NULL,
    dedup_id   TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
);
CREATE INDEX IF NOT EXISTS dedup_expiry ON dedup (expires_at);
"#;
