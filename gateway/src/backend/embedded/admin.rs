//! The embedded backend's dead-letter and statistics capabilities.

use async_trait::async_trait;
use rusqlite::params;

use super::{
    EmbeddedBackend,
    store::{encode_attributes, now_ms, sql_err},
};
use crate::backend::{
    BackendError, DeadLetter, DeadLetterAdmin, QueueStats, STORY_PREFIX, Stats, strip_story,
};

#[async_trait]
impl DeadLetterAdmin for EmbeddedBackend {
    async fn list(&self, error_queue: &str, limit: usize) -> Result<Vec<DeadLetter>, BackendError> {
        let q = error_queue.to_owned();
        self.run(move |s| {
            let conn = s.conn.lock().map_err(|_| BackendError::Other("lock poisoned".into()))?;
            let mut stmt = conn
                .prepare("SELECT id, payload, attributes FROM messages WHERE queue = ?1 ORDER BY seq LIMIT ?2")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![q, limit as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, String>(2)?))
                })
                .map_err(sql_err)?;
            let mut out = Vec::new();
            for row in rows {
                let (id, payload, attrs) = row.map_err(sql_err)?;
                let attributes = serde_json::from_str(&attrs).unwrap_or_else(|e| {
                    [(format!("{STORY_PREFIX}raw_attributes"), format!("{attrs} ({e})"))].into()
                });
                out.push(DeadLetter { id, payload: payload.into(), attributes });
            }
            Ok(out)
        })
        .await
    }

    async fn redrive(
        &self,
        error_queue: &str,
        default_queue: &str,
        limit: usize,
    ) -> Result<usize, BackendError> {
        let (eq, dq) = (error_queue.to_owned(), default_queue.to_owned());
        let moved = self
            .run(move |s| {
                let now = now_ms();
                s.with_tx(|tx| {
                    let rows = {
                        let mut stmt = tx
                            .prepare(
                                "SELECT seq, attributes FROM messages
                                 WHERE queue = ?1 AND (receipt IS NULL OR visible_at <= ?2)
                                 ORDER BY seq LIMIT ?3",
                            )
                            .map_err(sql_err)?;
                        stmt.query_map(params![eq, now, limit as i64], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                            .map_err(sql_err)?
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(sql_err)?
                    };
                    for (seq, attrs) in &rows {
                        let all: std::collections::BTreeMap<String, String> =
                            serde_json::from_str(attrs).unwrap_or_default();
                        let target = all
                            .get(&format!("{STORY_PREFIX}source_queue"))
                            .cloned()
                            .unwrap_or_else(|| dq.clone());
                        tx.execute(
                            "UPDATE messages SET queue = ?1, attributes = ?2, receipt = NULL, visible_at = ?3,
                                    attempts = 0, first_failure_at = NULL, last_failure_at = NULL, last_error = NULL
                             WHERE seq = ?4",
                            params![target, encode_attributes(&strip_story(&all)), now, seq],
                        )
                        .map_err(sql_err)?;
                    }
                    Ok(rows.len())
                })
            })
            .await?;
        Ok(moved)
    }
}

#[async_trait]
impl QueueStats for EmbeddedBackend {
    async fn stats(&self, queue: &str, error_queue: &str) -> Result<Stats, BackendError> {
        let (q, eq) = (queue.to_owned(), error_queue.to_owned());
        self.run(move |s| {
            let conn = s
                .conn
                .lock()
                .map_err(|_| BackendError::Other("lock poisoned".into()))?;
            let now = now_ms();
            let (ready, in_flight, delayed): (i64, i64, i64) = conn
                .query_row(
                    "SELECT COALESCE(SUM(visible_at <= ?2), 0),
                            COALESCE(SUM(visible_at > ?2 AND receipt IS NOT NULL), 0),
                            COALESCE(SUM(visible_at > ?2 AND receipt IS NULL), 0)
                     FROM messages WHERE queue = ?1",
                    params![q, now],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map_err(sql_err)?;
            let dead: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM messages WHERE queue = ?1",
                    params![eq],
                    |r| r.get(0),
                )
                .map_err(sql_err)?;
            let u = |n: i64| u64::try_from(n).unwrap_or(0);
            Ok(Stats {
                ready: u(ready),
                in_flight: u(in_flight),
                delayed: u(delayed),
                dead: u(dead),
            })
        })
        .await
    }
}
