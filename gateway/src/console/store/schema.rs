//! The console's SQLite schema. Times are Unix milliseconds; a rollup's `minute` is Unix
//! minutes. Handling-time histograms are the columns `h0`..`h15` (the buckets of
//! `crate::control::wire::BUCKETS_MS`), so one upsert adds a heartbeat's counts.

/// Statements run when the file is opened (idempotent).
pub(super) const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS rollups (
    backend       TEXT    NOT NULL,
    subscription  TEXT    NOT NULL,
    realm         TEXT    NOT NULL,
    minute        INTEGER NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    retried       INTEGER NOT NULL DEFAULT 0,
    dead_lettered INTEGER NOT NULL DEFAULT 0,
    handling_ms   INTEGER NOT NULL DEFAULT 0,
    h0 INTEGER NOT NULL DEFAULT 0, h1 INTEGER NOT NULL DEFAULT 0, h2 INTEGER NOT NULL DEFAULT 0,
    h3 INTEGER NOT NULL DEFAULT 0, h4 INTEGER NOT NULL DEFAULT 0, h5 INTEGER NOT NULL DEFAULT 0,
    h6 INTEGER NOT NULL DEFAULT 0, h7 INTEGER NOT NULL DEFAULT 0, h8 INTEGER NOT NULL DEFAULT 0,
    h9 INTEGER NOT NULL DEFAULT 0, h10 INTEGER NOT NULL DEFAULT 0, h11 INTEGER NOT NULL DEFAULT 0,
    h12 INTEGER NOT NULL DEFAULT 0, h13 INTEGER NOT NULL DEFAULT 0, h14 INTEGER NOT NULL DEFAULT 0,
    h15 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (backend, subscription, minute, realm)
);
CREATE INDEX IF NOT EXISTS rollups_realm ON rollups (realm, minute);
CREATE INDEX IF NOT EXISTS rollups_minute ON rollups (minute);
CREATE TABLE IF NOT EXISTS controls (
    backend      TEXT NOT NULL,
    subscription TEXT NOT NULL,
    controls     TEXT NOT NULL,
    PRIMARY KEY (backend, subscription)
);
CREATE TABLE IF NOT EXISTS audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    peer    TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT    NOT NULL,
    detail  TEXT    NOT NULL,
    outcome TEXT    NOT NULL
);
"#;
