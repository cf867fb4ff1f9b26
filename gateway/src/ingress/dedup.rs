//! Ferry's own de-duplication record, for backends that do not de-duplicate by id with
//! the original message id of their own (SQS standard queues, SQS FIFO beyond its 5 minute
//! window, Pub/Sub): a SQLite file mapping `(queue, dedup id)` to the message id of the
//! first request, for `window`, at most `max_entries` ids (the oldest forgotten first).
//!
//! One thread owns the connection and commits what is waiting in one transaction (WAL,
//! `synchronous = NORMAL`: a commit survives ferry being killed, not a power loss). An id
//! is recorded after the backend confirmed the publish and before the answer, so a
//! provider's retry of an answered request finds it. [`KeyLocks`] makes a second request
//! with the same id wait for the first, so two concurrent deliveries publish once.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

/// Commands waiting for the record's thread at most (callers wait for room beyond it).
const QUEUE: usize = 4096;
/// The most commands committed in one transaction.
const BATCH: usize = 512;
/// How often expired ids are deleted and the size bound enforced.
const PRUNE_EVERY: Duration = Duration::from_secs(10);

enum Cmd {
    Get {
        key: String,
        now_ms: i64,
        reply: oneshot::Sender<Result<Option<String>, String>>,
    },
    Put {
        key: String,
        id: String,
        expires_ms: i64,
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// The record.
#[derive(Debug, Clone)]
pub struct DedupRecord {
    tx: mpsc::Sender<Cmd>,
    window: Duration,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn key(queue: &str, dedup_id: &str) -> String {
    format!("{queue}\n{dedup_id}")
}

fn sql(e: rusqlite::Error) -> String {
    format!("the ingress de-duplication record: {e}")
}

impl DedupRecord {
    /// Opens (creating) the record at `path` and starts its thread.
    pub fn open(path: &Path, window: Duration, max_entries: u32) -> Result<Self, String> {
        let conn = Connection::open(path).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS dedup (
                 key        TEXT PRIMARY KEY,
                 message_id TEXT NOT NULL,
                 expires_at INTEGER NOT NULL
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS dedup_expiry ON dedup (expires_at);",
        )
        .map_err(sql)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("ferry-ingress-dedup".into())
            .spawn(move || run(conn, rx, i64::from(max_entries)))
            .map_err(|e| format!("starting the de-duplication record: {e}"))?;
        Ok(Self { tx, window })
    }

    /// The message id first published with `dedup_id` to `queue`, if within the window.
    pub async fn get(&self, queue: &str, dedup_id: &str) -> Result<Option<String>, String> {
        let (reply, rx) = oneshot::channel();
        let cmd = Cmd::Get {
            key: key(queue, dedup_id),
            now_ms: now_ms(),
            reply,
        };
        self.tx.send(cmd).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Records that `dedup_id` on `queue` was published as `id`; returns once committed.
    pub async fn put(&self, queue: &str, dedup_id: &str, id: &str) -> Result<(), String> {
        let window = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
        let (reply, rx) = oneshot::channel();
        let cmd = Cmd::Put {
            key: key(queue, dedup_id),
            id: id.to_owned(),
            expires_ms: now_ms().saturating_add(window),
            reply,
        };
        self.tx.send(cmd).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

fn stopped() -> String {
    "the ingress de-duplication record stopped".into()
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Cmd>, max_entries: i64) {
    let mut last_prune = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let mut done: Vec<(Cmd, Result<Option<String>, String>)> = Vec::new();
        let outcome = (|| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction()?;
            for cmd in batch.drain(..) {
                let r = match &cmd {
                    Cmd::Get { key, now_ms, .. } => tx
                        .prepare_cached(
                            "SELECT message_id FROM dedup WHERE key = ?1 AND expires_at > ?2",
                        )?
                        .query_row(params![key, now_ms], |r| r.get::<_, String>(0))
                        .optional()
                        .map_err(sql),
                    Cmd::Put {
                        key,
                        id,
                        expires_ms,
                        ..
                    } => tx
                        .prepare_cached(
                            "INSERT INTO dedup (key, message_id, expires_at) VALUES (?1, ?2, ?3)
                             ON CONFLICT (key) DO UPDATE SET message_id = excluded.message_id,
                                 expires_at = excluded.expires_at
                             WHERE dedup.expires_at <= ?4",
                        )?
                        .execute(params![key, id, expires_ms, now_ms()])
                        .map(|_| None)
                        .map_err(sql),
                };
                done.push((cmd, r));
            }
            tx.commit()
        })();
        let failed = outcome.err().map(sql);
        for (cmd, r) in done {
            let r = match &failed {
                Some(e) => Err(e.clone()),
                None => r,
            };
            match cmd {
                Cmd::Get { reply, .. } => {
                    let _ = reply.send(r);
                }
                Cmd::Put { reply, .. } => {
                    let _ = reply.send(r.map(|_| ()));
                }
            }
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            let _ = prune(&conn, max_entries);
        }
    }
}

/// Deletes expired ids, then the oldest beyond `max_entries`.
fn prune(conn: &Connection, max_entries: i64) -> Result<(), rusqlite::Error> {
    conn.execute(
        "DELETE FROM dedup WHERE expires_at <= ?1",
        params![now_ms()],
    )?;
    let count: i64 = conn.query_row("SELECT count(*) FROM dedup", [], |r| r.get(0))?;
    if count > max_entries {
        conn.execute(
            "DELETE FROM dedup WHERE key IN (SELECT key FROM dedup ORDER BY expires_at LIMIT ?1)",
            params![count - max_entries],
        )?;
    }
    Ok(())
}

/// One lock per de-duplication id being handled, so that concurrent requests with the same
/// id are handled one after the other. Holds an entry only while a request holds its lock.
#[derive(Debug, Default, Clone)]
pub struct KeyLocks(Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

/// A held key lock; released (and forgotten when nobody waits) on drop.
pub struct KeyGuard {
    locks: KeyLocks,
    key: String,
    lock: Option<Arc<tokio::sync::Mutex<()>>>,
    _held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl KeyLocks {
    /// Waits for the lock of `(queue, dedup_id)`.
    pub async fn lock(&self, queue: &str, dedup_id: &str) -> KeyGuard {
        let key = key(queue, dedup_id);
        let lock = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone();
        let held = lock.clone().lock_owned().await;
        KeyGuard {
            locks: self.clone(),
            key,
            lock: Some(lock),
            _held: Some(held),
        }
    }

    /// Ids with a lock now (held or waited for).
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no id has a lock.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        self._held = None;
        let lock = self.lock.take();
        let mut map = self.locks.0.lock().unwrap_or_else(PoisonError::into_inner);
        // The map's reference and ours: nobody else waits, forget the key.
        if lock.is_some_and(|l| Arc::strong_count(&l) == 2) {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_id_is_remembered_across_a_reopen_and_forgotten_after_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        let r = DedupRecord::open(&path, Duration::from_secs(60), 1000).unwrap();
        assert_eq!(r.get("q", "a").await, Ok(None));
        r.put("q", "a", "m1").await.unwrap();
        assert_eq!(r.get("q", "a").await, Ok(Some("m1".into())));
        assert_eq!(r.get("other", "a").await, Ok(None), "per queue");
        // A second put keeps the first id while it is remembered.
        r.put("q", "a", "m2").await.unwrap();
        assert_eq!(r.get("q", "a").await, Ok(Some("m1".into())));
        drop(r);
        let r = DedupRecord::open(&path, Duration::from_millis(1), 1000).unwrap();
        assert_eq!(r.get("q", "a").await, Ok(Some("m1".into())), "durable");
        r.put("q", "b", "m3").await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(r.get("q", "b").await, Ok(None), "expired");
    }

    #[tokio::test]
    async fn the_size_bound_forgets_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("d.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE dedup (key TEXT PRIMARY KEY, message_id TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;",
        )
        .unwrap();
        let far = now_ms() + 1_000_000;
        for i in 0..10 {
            conn.execute(
                "INSERT INTO dedup VALUES (?1, 'm', ?2)",
                params![format!("k{i}"), far + i],
            )
            .unwrap();
        }
        prune(&conn, 4).unwrap();
        let left: Vec<String> = conn
            .prepare("SELECT key FROM dedup ORDER BY key")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(left, ["k6", "k7", "k8", "k9"]);
    }

    #[tokio::test]
    async fn key_locks_serialise_one_id_and_forget_it_after() {
        let locks = KeyLocks::default();
        let first = locks.lock("q", "a").await;
        let other = locks.lock("q", "b").await;
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move { locks.lock("q", "a").await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "the same id waits");
        drop(first);
        let second = waiter.await.unwrap();
        drop((second, other));
        assert!(locks.is_empty());
    }
}
