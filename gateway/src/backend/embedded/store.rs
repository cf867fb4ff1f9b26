//! Synchronous queue operations on the SQLite file; [`super::EmbeddedBackend`] runs them on
//! the blocking thread pool. Every operation is one transaction.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::schema::SCHEMA;
use crate::backend::{BackendError, DeadLetterStory, Failure, NewMessage, Receipt, Received};

/// The open SQLite file.
pub(super) struct Store {
    pub(super) conn: Mutex<Connection>,
    dedup_window_ms: i64,
}

pub(super) fn now_ms() -> i64 {
    to_ms(SystemTime::now())
}

pub(super) fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(super) fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

pub(super) fn dur_ms(d: Duration) -> i64 {
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

fn parse_receipt(receipt: &Receipt) -> Result<i64, BackendError> {
    receipt
        .0
        .split_once('.')
        .and_then(|(seq, _)| seq.parse().ok())
        .ok_or_else(|| BackendError::Other(format!("malformed receipt `{}`", receipt.0)))
}

fn decode_attributes(text: &str) -> Result<BTreeMap<String, String>, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("attributes are not a JSON object of strings: {e}"))
}

pub(super) fn encode_attributes(attributes: &BTreeMap<String, String>) -> String {
    serde_json::to_string(attributes).unwrap_or_else(|_| "{}".to_owned())
}

impl Store {
    pub(super) fn open(path: &Path, dedup_window: Duration) -> Result<Self, BackendError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                BackendError::Other(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path)
            .map_err(|e| BackendError::Other(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(sql_err)?;
        conn.execute_batch(SCHEMA).map_err(sql_err)?;
        Ok(Self {
            conn: Mutex::new(conn),
            dedup_window_ms: dur_ms(dedup_window),
        })
    }

    pub(super) fn with_tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| BackendError::Other("embedded queue lock poisoned".into()))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        let out = f(&tx)?;
        tx.commit().map_err(sql_err)?;
        Ok(out)
    }

    pub(super) fn receive(
        &self,
        queue: &str,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        let now = now_ms();
        self.with_tx(|tx| {
            let mut select = tx
                .prepare_cached(
                    "SELECT seq, id, payload, attributes, dedup_id, published_at, attempts,
                            first_failure_at, last_failure_at, last_error
                     FROM messages WHERE queue = ?1 AND visible_at <= ?2
                     ORDER BY visible_at, seq LIMIT ?3",
                )
                .map_err(sql_err)?;
            let rows = select
                .query_map(params![queue, now, max as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                        r.get::<_, Option<String>>(9)?,
                    ))
                })
                .map_err(sql_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql_err)?;
            let mut lease_row = tx
                .prepare_cached("UPDATE messages SET receipt = ?1, visible_at = ?2, attempts = attempts + 1 WHERE seq = ?3")
                .map_err(sql_err)?;
            let mut out = Vec::with_capacity(rows.len());
            for (seq, id, payload, attrs, dedup_id, published_at, attempts, first, last, last_error) in rows {
                let receipt = Receipt(format!("{seq}.{}", uuid::Uuid::new_v4().simple()));
                lease_row
                    .execute(params![receipt.0, now + dur_ms(lease), seq])
                    .map_err(sql_err)?;
                let (attributes, malformed) = match decode_attributes(&attrs) {
                    Ok(a) => (a, None),
                    Err(e) => (BTreeMap::new(), Some(e)),
                };
                let failures = match (first, last, last_error) {
                    (Some(first), Some(last), Some(err)) => Some(Failure {
                        last_error: err,
                        first_at: from_ms(first),
                        last_at: from_ms(last),
                    }),
                    _ => None,
                };
                out.push(Received {
                    id,
                    queue: queue.to_owned(),
                    payload: payload.into(),
                    attributes,
                    malformed,
                    attempt: u32::try_from(attempts + 1).unwrap_or(u32::MAX),
                    published_at: Some(from_ms(published_at)),
                    dedup_id,
                    failures,
                    receipt,
                });
            }
            Ok(out)
        })
    }

    /// Runs `sql` (with `?1` = seq, `?2` = receipt, `?3` = now, then `extra`) and fails
    /// with [`BackendError::LeaseLost`] when the lease is no longer held.
    fn on_lease(
        &self,
        receipt: &Receipt,
        sql: &str,
        extra: &[&dyn rusqlite::ToSql],
    ) -> Result<(), BackendError> {
        let seq = parse_receipt(receipt)?;
        let now = now_ms();
        self.with_tx(|tx| {
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&seq, &receipt.0];
            if sql.contains("?3") {
                args.push(&now);
            }
            args.extend_from_slice(extra);
            let n = tx.execute(sql, args.as_slice()).map_err(sql_err)?;
            if n == 0 {
                Err(BackendError::LeaseLost(receipt.0.clone()))
            } else {
                Ok(())
            }
        })
    }

    pub(super) fn extend(&self, receipt: &Receipt, lease: Duration) -> Result<(), BackendError> {
        self.on_lease(
            receipt,
            "UPDATE messages SET visible_at = ?3 + ?4 WHERE seq = ?1 AND receipt = ?2 AND visible_at > ?3",
            &[&dur_ms(lease)],
        )
    }

    pub(super) fn ack(&self, receipt: &Receipt) -> Result<(), BackendError> {
        // An expired lease may still be acked if nobody has received the message since.
        self.on_lease(
            receipt,
            "DELETE FROM messages WHERE seq = ?1 AND receipt = ?2",
            &[],
        )
    }

    pub(super) fn release(
        &self,
        receipt: &Receipt,
        delay: Duration,
        failure: Option<&Failure>,
    ) -> Result<(), BackendError> {
        match failure {
            None => self.on_lease(
                receipt,
                "UPDATE messages SET receipt = NULL, visible_at = ?3 + ?4, attempts = MAX(attempts - 1, 0)
                 WHERE seq = ?1 AND receipt = ?2",
                &[&dur_ms(delay)],
            ),
            Some(f) => self.on_lease(
                receipt,
                "UPDATE messages SET receipt = NULL, visible_at = ?3 + ?4, last_error = ?5,
                        first_failure_at = COALESCE(first_failure_at, ?6), last_failure_at = ?7
                 WHERE seq = ?1 AND receipt = ?2",
                &[&dur_ms(delay), &f.last_error, &to_ms(f.first_at), &to_ms(f.last_at)],
            ),
        }
    }

    pub(super) fn dead_letter(
        &self,
        msg: &Received,
        error_queue: &str,
        story: &DeadLetterStory,
    ) -> Result<(), BackendError> {
        let seq = parse_receipt(&msg.receipt)?;
        let now = now_ms();
        let mut attributes = msg.attributes.clone();
        attributes.extend(story.to_attributes());
        self.with_tx(|tx| {
            if msg.malformed.is_some() {
                // Attributes that could not be decoded are kept verbatim.
                let raw: Option<String> = tx
                    .query_row("SELECT attributes FROM messages WHERE seq = ?1", [seq], |r| r.get(0))
                    .optional()
                    .map_err(sql_err)?;
                if let Some(raw) = raw {
                    attributes.insert(format!("{}raw_attributes", crate::backend::STORY_PREFIX), raw);
                }
            }
            let n = tx
                .execute("DELETE FROM messages WHERE seq = ?1 AND receipt = ?2", params![seq, msg.receipt.0])
                .map_err(sql_err)?;
            if n == 0 {
                return Err(BackendError::LeaseLost(msg.receipt.0.clone()));
            }
            tx.execute(
                "INSERT INTO messages (queue, id, payload, attributes, dedup_id, published_at, visible_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![error_queue, msg.id, msg.payload.as_ref(), encode_attributes(&attributes), msg.dedup_id, now],
            )
            .map_err(sql_err)?;
            Ok(())
        })
    }

    pub(super) fn publish(&self, messages: &[NewMessage]) -> Result<Vec<String>, BackendError> {
        let now = now_ms();
        let window = self.dedup_window_ms;
        self.with_tx(|tx| {
            tx.execute("DELETE FROM dedup WHERE expires_at < ?1", [now]).map_err(sql_err)?;
            let mut ids = Vec::with_capacity(messages.len());
            for m in messages {
                if let Some(dedup) = &m.dedup_id {
                    let existing: Option<String> = tx
                        .query_row(
                            "SELECT message_id FROM dedup WHERE queue = ?1 AND dedup_id = ?2",
                            params![m.queue, dedup],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(sql_err)?;
                    if let Some(existing) = existing {
                        ids.push(existing);
                        continue;
                    }
                }
                let id = uuid::Uuid::new_v4().to_string();
                let visible_at = m.deliver_at.map_or(now, to_ms).max(now);
                tx.execute(
                    "INSERT INTO messages (queue, id, payload, attributes, dedup_id, ordering_key, published_at, visible_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![m.queue, id, m.payload.as_ref(), encode_attributes(&m.attributes), m.dedup_id, m.ordering_key, now, visible_at],
                )
                .map_err(sql_err)?;
                if let Some(dedup) = &m.dedup_id {
                    tx.execute(
                        "INSERT INTO dedup (queue, dedup_id, message_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
                        params![m.queue, dedup, id, now.saturating_add(window)],
                    )
                    .map_err(sql_err)?;
                }
                ids.push(id);
            }
            Ok(ids)
        })
    }
}
