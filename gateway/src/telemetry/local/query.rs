//! Reading the local store back: a [`LogQuery`] (the filters of `ferry logs`, which a
//! console can fill in as well) becomes one SQL statement ([`build`], pure, unit-tested),
//! and a [`LogReader`] runs it on a read-only connection and returns [`StoredRecord`]s.
//!
//! A message id or a trace id is looked up by its hash in `record_keys`, then checked
//! exactly against the record's columns. Text search uses the FTS5 index of `message` and
//! `error.message`: every word must match, `"a phrase"` matches the words in order, `pre*` matches a prefix and `-word`
//! excludes — the same forms as Elasticsearch's simple query string in `ferry logs`.
//! The fixed texts of `message.received` and `message.done` ("message received", "message
//! done") are not indexed: they say nothing the action does not, two records per message
//! would make most of the index, and `-a` finds them.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, types::Value as Sql};
use serde_json::Value;

use super::{
    schema::{VERSION, key_hash},
    store::BUSY_TIMEOUT,
};

/// Which records come back, and in what order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// The first `limit` records by time, oldest first (a story).
    #[default]
    Oldest,
    /// The latest `limit` records by time, returned oldest first (a listing).
    Latest,
    /// In the order they were stored, after `after_id` (following).
    Stored,
}

/// The filters; every one set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// About this message: its `ferry.message_id`, or `ferry.published_id` (where it was
    /// published).
    pub message: Option<String>,
    /// Of this W3C trace id (`trace.id`).
    pub trace: Option<String>,
    /// Of this subscription.
    pub subscription: Option<String>,
    /// Of this realm.
    pub realm: Option<String>,
    /// With this `event.outcome`.
    pub outcome: Option<String>,
    /// With this `event.action`.
    pub action: Option<String>,
    /// At or after this time (Unix ms).
    pub since_ms: Option<i64>,
    /// At or before this time (Unix ms).
    pub until_ms: Option<i64>,
    /// Text to find in `message` and `error.message` (see the module docs).
    pub text: Option<String>,
    /// Only records stored after the one with this id.
    pub after_id: Option<i64>,
    /// The order.
    pub order: Order,
    /// At most this many records.
    pub limit: usize,
}

/// One record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// Its id in the store (grows with every record stored).
    pub id: i64,
    /// The record as it was written.
    pub doc: Value,
}

/// The FTS5 expression for `text` (see the module docs), or why there is none.
pub fn fts_expression(text: &str) -> Result<String, String> {
    let mut must = Vec::new();
    let mut not = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let negated = rest.starts_with('-');
        if negated {
            rest = &rest[1..];
        }
        let (term, tail) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            let phrase = &quoted[..end];
            (
                format!("\"{}\"", phrase.replace('"', "")),
                quoted.get(end + 1..).unwrap_or(""),
            )
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = &rest[..end];
            let (stem, prefix) = match word.strip_suffix('*') {
                Some(stem) => (stem, "*"),
                None => (word, ""),
            };
            (
                format!("\"{}\"{prefix}", stem.replace('"', "")),
                &rest[end..],
            )
        };
        if term != "\"\"" && term != "\"\"*" {
            if negated { &mut not } else { &mut must }.push(term);
        }
        rest = tail.trim_start();
    }
    if must.is_empty() {
        return Err(format!(
            "text search `{text}`: give at least one word that must match"
        ));
    }
    let mut expr = must.join(" AND ");
    for term in not {
        expr = format!("({expr}) NOT {term}");
    }
    Ok(expr)
}

/// The SQL and its parameters for `q`.
pub fn build(q: &LogQuery) -> Result<(String, Vec<Sql>), String> {
    let mut filters: Vec<String> = Vec::new();
    let mut params: Vec<Sql> = Vec::new();
    let param = |params: &mut Vec<Sql>, v: Sql| {
        params.push(v);
        format!("?{}", params.len())
    };
    // The hashes in `record_keys` find the records; the columns then decide exactly.
    if let Some(id) = &q.message {
        let h = param(&mut params, Sql::Integer(key_hash(id)));
        let p = param(&mut params, Sql::Text(id.clone()));
        filters.push(format!(
            "id IN (SELECT id FROM record_keys WHERE message = {h} OR published = {h}) \
             AND (message_id = {p} OR published_id = {p})"
        ));
    }
    if let Some(id) = &q.trace {
        let h = param(&mut params, Sql::Integer(key_hash(id)));
        let p = param(&mut params, Sql::Text(id.clone()));
        filters.push(format!(
            "id IN (SELECT id FROM record_keys WHERE trace = {h}) AND trace_id = {p}"
        ));
    }
    for (column, value) in [
        ("subscription", &q.subscription),
        ("realm", &q.realm),
        ("outcome", &q.outcome),
        ("action", &q.action),
    ] {
        if let Some(v) = value {
            let p = param(&mut params, Sql::Text(v.clone()));
            filters.push(format!("{column} = {p}"));
        }
    }
    if let Some(ms) = q.since_ms {
        let p = param(&mut params, Sql::Integer(ms));
        filters.push(format!("ts >= {p}"));
    }
    if let Some(ms) = q.until_ms {
        let p = param(&mut params, Sql::Integer(ms));
        filters.push(format!("ts <= {p}"));
    }
    if let Some(id) = q.after_id {
        let p = param(&mut params, Sql::Integer(id));
        filters.push(format!("id > {p}"));
    }
    if let Some(text) = &q.text {
        let p = param(&mut params, Sql::Text(fts_expression(text)?));
        filters.push(format!(
            "id IN (SELECT rowid FROM records_text WHERE records_text MATCH {p})"
        ));
    }
    let mut sql = "SELECT id, doc FROM records".to_owned();
    if !filters.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&filters.join(" AND "));
    }
    sql.push_str(match q.order {
        Order::Oldest => " ORDER BY ts, id",
        Order::Latest => " ORDER BY ts DESC, id DESC",
        Order::Stored => " ORDER BY id",
    });
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let p = param(&mut params, Sql::Integer(limit));
    sql.push_str(&format!(" LIMIT {p}"));
    Ok((sql, params))
}

/// A read-only connection to an existing store.
#[derive(Debug)]
pub struct LogReader {
    conn: Connection,
    path: PathBuf,
}

impl LogReader {
    /// Opens the store at `path`; never creates it (a missing file is an error naming it).
    pub fn open(path: &Path) -> Result<Self, String> {
        if !path.exists() {
            return Err(format!(
                "no log store at {} (`ferry run` creates it: on by default with the embedded backend; check logs.local.path)",
                path.display()
            ));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let layout: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        if layout != VERSION {
            let why = if layout < VERSION {
                "an older ferry wrote it; the next `ferry run` of this version upgrades it"
            } else {
                "a newer ferry wrote it"
            };
            return Err(format!(
                "the log store at {} has layout {layout}, this ferry reads layout {VERSION}: {why}",
                path.display()
            ));
        }
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    /// The records `q` asks for, oldest first (for [`Order::Stored`], in stored order).
    pub fn read(&self, q: &LogQuery) -> Result<Vec<StoredRecord>, String> {
        let (sql, params) = build(q)?;
        let fail = |e: rusqlite::Error| format!("reading {}: {e}", self.path.display());
        let mut stmt = self.conn.prepare_cached(&sql).map_err(fail)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(fail)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, doc) = row.map_err(fail)?;
            let doc = serde_json::from_str(&doc).unwrap_or(Value::String(doc));
            out.push(StoredRecord { id, doc });
        }
        if q.order == Order::Latest {
            out.reverse();
        }
        Ok(out)
    }
}

impl LogReader {
    /// The id of the last record stored (0 when there is none).
    pub fn last_id(&self) -> Result<i64, String> {
        self.conn
            .query_row("SELECT coalesce(max(id), 0) FROM records", [], |r| r.get(0))
            .map_err(|e| format!("reading {}: {e}", self.path.display()))
    }
}
