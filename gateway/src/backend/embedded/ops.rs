//! The embedded queue's operations as SQL on one connection, inside a transaction the
//! caller ([`super::writer`]) owns. Each function is synchronous and touches nothing but
//! the connection; times are Unix milliseconds passed in, so a batch of operations sees
//! one clock.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rusqlite::{Connection, OptionalExtension, params};

use crate::backend::{
    BackendError, DeadLetterStory, Failure, NewMessage, Receipt, Received, STORY_PREFIX,
    strip_story,
};

pub(super) fn now_ms() -> i64 {
    to_ms(SystemTime::now())
}

pub(super) fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn dur_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn sql_err(e: rusqlite::Error) -> BackendError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            BackendError::Unavailable(format!("embedded queue busy: {e}"))
        }
        _ => BackendError::Other(format!("embedded queue: {e}")),
    }
}

/// A token no other lease of any process gets: this process's random prefix and a
/// counter.
fn lease_token() -> String {
    use std::sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    };
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(rand::random);
    format!("{prefix:016x}{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn parse_receipt(receipt: &Receipt) -> Result<i64, BackendError> {
    receipt
        .0
        .split_once('.')
        .and_then(|(seq, _)| seq.parse().ok())
        .ok_or_else(|| BackendError::Other(format!("malformed receipt `{}`", receipt.0)))
}

pub(super) fn decode_attributes(text: &str) -> Result<BTreeMap<String, String>, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("attributes are not a JSON object of strings: {e}"))
}

fn encode_attributes(attributes: &BTreeMap<String, String>) -> String {
    serde_json::to_string(attributes).unwrap_or_else(|_| "{}".to_owned())
}

/// The ready messages of a queue, due first. `(SELECT ?n)`, not `?n`: SQLite built with
/// STAT4 (the bundled one is) marks a statement expired whenever a variable its planner
/// looked at is bound again, and prepares it again on the next run — every receive; a
/// scalar subquery is still a constraint on the index (see the query-plan test), and the
/// prepared plan stays.
pub(super) const RECEIVE: &str =
    "SELECT seq, id, payload, attributes, dedup_id, published_at, attempts,
        first_failure_at, last_failure_at, last_error
 FROM messages WHERE queue = (SELECT ?1) AND visible_at <= (SELECT ?2)
 ORDER BY visible_at, seq LIMIT (SELECT ?3)";

/// Leases up to `max` ready messages of `queue` for `lease`.
pub(super) fn receive(
    conn: &Connection,
    queue: &str,
    max: usize,
    lease: Duration,
    now: i64,
) -> Result<Vec<Received>, BackendError> {
    let mut select = conn.prepare_cached(RECEIVE).map_err(sql_err)?;
    let mut lease_row = conn
        .prepare_cached(
            "UPDATE messages SET receipt = ?1, visible_at = ?2, attempts = attempts + 1 WHERE seq = ?3",
        )
        .map_err(sql_err)?;
    let mut rows = select
        .query(params![queue, now, i64::try_from(max).unwrap_or(i64::MAX)])
        .map_err(sql_err)?;
    let mut out = Vec::with_capacity(max.min(64));
    while let Some(r) = rows.next().map_err(sql_err)? {
        let seq: i64 = r.get(0).map_err(sql_err)?;
        let attrs: String = r.get(3).map_err(sql_err)?;
        let attempts: i64 = r.get(6).map_err(sql_err)?;
        let failure = match (
            r.get::<_, Option<i64>>(7).map_err(sql_err)?,
            r.get::<_, Option<i64>>(8).map_err(sql_err)?,
            r.get::<_, Option<String>>(9).map_err(sql_err)?,
        ) {
            (Some(first), Some(last), Some(err)) => Some(Failure {
                last_error: err,
                first_at: from_ms(first),
                last_at: from_ms(last),
            }),
            _ => None,
        };
        let receipt = Receipt(format!("{seq}.{}", lease_token()));
        lease_row
            .execute(params![receipt.0, now.saturating_add(dur_ms(lease)), seq])
            .map_err(sql_err)?;
        let (attributes, malformed) = match decode_attributes(&attrs) {
            Ok(a) => (a, None),
            Err(e) => (BTreeMap::new(), Some(e)),
        };
        out.push(Received {
            id: r.get(1).map_err(sql_err)?,
            queue: queue.to_owned(),
            payload: r.get::<_, Vec<u8>>(2).map_err(sql_err)?.into(),
            attributes,
            malformed,
            attempt: u32::try_from(attempts.saturating_add(1)).unwrap_or(u32::MAX),
            published_at: Some(from_ms(r.get(5).map_err(sql_err)?)),
            dedup_id: r.get(4).map_err(sql_err)?,
            failures: failure,
            receipt,
        });
    }
    Ok(out)
}

/// Runs `sql` with `?1` = seq, `?2` = receipt, then `extra`; fails with
/// [`BackendError::LeaseLost`] when no row was changed (the lease is no longer held).
fn on_lease(
    conn: &Connection,
    receipt: &Receipt,
    sql: &str,
    extra: &[&dyn rusqlite::ToSql],
) -> Result<(), BackendError> {
    let seq = parse_receipt(receipt)?;
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&seq, &receipt.0];
    args.extend_from_slice(extra);
    let n = conn
        .prepare_cached(sql)
        .and_then(|mut s| s.execute(args.as_slice()))
        .map_err(sql_err)?;
    if n == 0 {
        Err(BackendError::LeaseLost(receipt.0.clone()))
    } else {
        Ok(())
    }
}

pub(super) fn extend(
    conn: &Connection,
    receipt: &Receipt,
    lease: Duration,
    now: i64,
) -> Result<(), BackendError> {
    on_lease(
        conn,
        receipt,
        "UPDATE messages SET visible_at = ?3 + ?4 WHERE seq = ?1 AND receipt = ?2 AND visible_at > ?3",
        &[&now, &dur_ms(lease)],
    )
}

pub(super) fn ack(conn: &Connection, receipt: &Receipt) -> Result<(), BackendError> {
    // An expired lease may still be acked if nobody has received the message since.
    on_lease(
        conn,
        receipt,
        "DELETE FROM messages WHERE seq = ?1 AND receipt = ?2",
        &[],
    )
}

pub(super) fn release(
    conn: &Connection,
    receipt: &Receipt,
    delay: Duration,
    failure: Option<&Failure>,
    now: i64,
) -> Result<(), BackendError> {
    let visible_at = now.saturating_add(dur_ms(delay));
    match failure {
        None => on_lease(
            conn,
            receipt,
            "UPDATE messages SET receipt = NULL, visible_at = ?3, attempts = MAX(attempts - 1, 0)
             WHERE seq = ?1 AND receipt = ?2",
            &[&visible_at],
        ),
        Some(f) => on_lease(
            conn,
            receipt,
            "UPDATE messages SET receipt = NULL, visible_at = ?3, last_error = ?4,
                    first_failure_at = COALESCE(first_failure_at, ?5), last_failure_at = ?6
             WHERE seq = ?1 AND receipt = ?2",
            &[
                &visible_at,
                &f.last_error,
                &to_ms(f.first_at),
                &to_ms(f.last_at),
            ],
        ),
    }
}

/// Moves a leased message to `error_queue` with its story (several statements: the caller
/// runs it in a savepoint).
pub(super) fn dead_letter(
    conn: &Connection,
    msg: &Received,
    error_queue: &str,
    story: &DeadLetterStory,
    now: i64,
) -> Result<(), BackendError> {
    let seq = parse_receipt(&msg.receipt)?;
    let mut attributes = msg.attributes.clone();
    attributes.extend(story.to_attributes());
    if msg.malformed.is_some() {
        // Attributes that could not be decoded are kept verbatim.
        let raw: Option<String> = conn
            .query_row(
                "SELECT attributes FROM messages WHERE seq = ?1",
                [seq],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        if let Some(raw) = raw {
            attributes.insert(format!("{STORY_PREFIX}raw_attributes"), raw);
        }
    }
    let n = conn
        .execute(
            "DELETE FROM messages WHERE seq = ?1 AND receipt = ?2",
            params![seq, msg.receipt.0],
        )
        .map_err(sql_err)?;
    if n == 0 {
        return Err(BackendError::LeaseLost(msg.receipt.0.clone()));
    }
    conn.execute(
        "INSERT INTO messages (queue, id, payload, attributes, dedup_id, published_at, visible_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![
            error_queue,
            msg.id,
            msg.payload.as_ref(),
            encode_attributes(&attributes),
            msg.dedup_id,
            now
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// Publishes `messages`; a de-duplication id seen within the window reports the original
/// id and inserts nothing (several statements: the caller runs it in a savepoint).
pub(super) fn publish(
    conn: &Connection,
    messages: &[NewMessage],
    now: i64,
    dedup_window_ms: i64,
) -> Result<Vec<String>, BackendError> {
    conn.prepare_cached("DELETE FROM dedup WHERE expires_at < ?1")
        .and_then(|mut s| s.execute([now]))
        .map_err(sql_err)?;
    let mut find = conn
        .prepare_cached("SELECT message_id FROM dedup WHERE queue = ?1 AND dedup_id = ?2")
        .map_err(sql_err)?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO messages (queue, id, payload, attributes, dedup_id, ordering_key, published_at, visible_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(sql_err)?;
    let mut remember = conn
        .prepare_cached(
            "INSERT INTO dedup (queue, dedup_id, message_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(sql_err)?;
    let mut ids = Vec::with_capacity(messages.len());
    for m in messages {
        if let Some(dedup) = &m.dedup_id {
            let existing: Option<String> = find
                .query_row(params![m.queue, dedup], |r| r.get(0))
                .optional()
                .map_err(sql_err)?;
            if let Some(existing) = existing {
                ids.push(existing);
                continue;
            }
        }
        // A v4 UUID from the thread's generator (no system call per message).
        let id = uuid::Builder::from_random_bytes(rand::random())
            .into_uuid()
            .to_string();
        let visible_at = m.deliver_at.map_or(now, to_ms).max(now);
        insert
            .execute(params![
                m.queue,
                id,
                m.payload.as_ref(),
                encode_attributes(&m.attributes),
                m.dedup_id,
                m.ordering_key,
                now,
                visible_at
            ])
            .map_err(sql_err)?;
        if let Some(dedup) = &m.dedup_id {
            remember
                .execute(params![
                    m.queue,
                    dedup,
                    id,
                    now.saturating_add(dedup_window_ms)
                ])
                .map_err(sql_err)?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Moves up to `limit` dead letters of `error_queue` back to their source queue (several
/// statements: the caller runs it in a savepoint).
pub(super) fn redrive(
    conn: &Connection,
    error_queue: &str,
    default_queue: &str,
    limit: usize,
    now: i64,
) -> Result<usize, BackendError> {
    let rows = {
        let mut stmt = conn
            .prepare(
                "SELECT seq, attributes FROM messages
                 WHERE queue = ?1 AND (receipt IS NULL OR visible_at <= ?2)
                 ORDER BY seq LIMIT ?3",
            )
            .map_err(sql_err)?;
        stmt.query_map(
            params![error_queue, now, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .map_err(sql_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql_err)?
    };
    for (seq, attrs) in &rows {
        let all: BTreeMap<String, String> = serde_json::from_str(attrs).unwrap_or_default();
        let target = all
            .get(&format!("{STORY_PREFIX}source_queue"))
            .cloned()
            .unwrap_or_else(|| default_queue.to_owned());
        conn.execute(
            "UPDATE messages SET queue = ?1, attributes = ?2, receipt = NULL, visible_at = ?3,
                    attempts = 0, first_failure_at = NULL, last_failure_at = NULL, last_error = NULL
             WHERE seq = ?4",
            params![target, encode_attributes(&strip_story(&all)), now, seq],
        )
        .map_err(sql_err)?;
    }
    Ok(rows.len())
}
