//! The embedded backend's dead-letter and statistics capabilities.

use async_trait::async_trait;
use rusqlite::params;

use super::{
    EmbeddedBackend, dlq,
    ops::{self, now_ms, sql_err},
    writer::Kind,
};
use crate::backend::{BackendError, DeadLetter, DeadLetterAdmin, QueueStats, STORY_PREFIX, Stats};

#[async_trait]
impl DeadLetterAdmin for EmbeddedBackend {
    async fn list(&self, error_queue: &str, limit: usize) -> Result<Vec<DeadLetter>, BackendError> {
        let q = error_queue.to_owned();
        self.read(move |conn| {
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
            .store
            .writer
            .call(Kind::Durable, move |conn| {
                ops::redrive(conn, &eq, &dq, limit, now_ms())
            })
            .await?;
        Ok(moved)
    }

    async fn redrive_ids(
        &self,
        error_queue: &str,
        default_queue: &str,
        ids: &[String],
    ) -> Result<usize, BackendError> {
        let (eq, dq, ids) = (
            error_queue.to_owned(),
            default_queue.to_owned(),
            ids.to_vec(),
        );
        self.store
            .writer
            .call(Kind::Durable, move |conn| {
                dlq::redrive_ids(conn, &eq, &dq, &ids, now_ms())
            })
            .await
    }

    async fn delete_ids(&self, error_queue: &str, ids: &[String]) -> Result<usize, BackendError> {
        let (eq, ids) = (error_queue.to_owned(), ids.to_vec());
        self.store
            .writer
            .call(Kind::Durable, move |conn| dlq::delete_ids(conn, &eq, &ids))
            .await
    }

    async fn purge(&self, error_queue: &str) -> Result<usize, BackendError> {
        let eq = error_queue.to_owned();
        self.store
            .writer
            .call(Kind::Durable, move |conn| dlq::purge(conn, &eq, now_ms()))
            .await
    }
}

#[async_trait]
impl QueueStats for EmbeddedBackend {
    async fn stats(&self, queue: &str, error_queue: &str) -> Result<Stats, BackendError> {
        let (q, eq) = (queue.to_owned(), error_queue.to_owned());
        self.read(move |conn| {
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
