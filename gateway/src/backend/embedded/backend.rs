//! [`EmbeddedBackend`]: the [`Backend`] trait over the SQLite [`Store`]: every change goes
//! through the store's writer thread (one transaction per batch, answered after the
//! durable commit), and a receive that finds nothing waits — woken at once by publishes
//! from this process, otherwise polled.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::{sync::Notify, time::Instant};

use super::{
    EmbeddedConfig, ops,
    store::{OpenMode, Store},
    writer::Kind,
};
use crate::backend::{
    Backend, BackendError, DeadLetterAdmin, DeadLetterStory, Failure, NewMessage, QueueStats,
    Receipt, Received,
};

/// The embedded SQLite queue.
#[derive(Clone)]
pub struct EmbeddedBackend {
    pub(super) store: Arc<Store>,
    published: Arc<Notify>,
    poll_interval: Duration,
}

impl std::fmt::Debug for EmbeddedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBackend").finish_non_exhaustive()
    }
}

impl EmbeddedBackend {
    /// Opens (creating if needed) the queue file named in `config`.
    pub async fn open(config: &EmbeddedConfig) -> Result<Self, BackendError> {
        Self::open_as(config, OpenMode::Create).await
    }

    /// Opens the queue file named in `config`, refusing one that does not exist (for the
    /// commands that must not create state).
    pub async fn open_existing(config: &EmbeddedConfig) -> Result<Self, BackendError> {
        Self::open_as(config, OpenMode::Existing).await
    }

    async fn open_as(config: &EmbeddedConfig, mode: OpenMode) -> Result<Self, BackendError> {
        let path = config.path.clone();
        let window = config.dedup_window.get();
        let store = tokio::task::spawn_blocking(move || Store::open(&path, window, mode))
            .await
            .map_err(|e| BackendError::Other(e.to_string()))??;
        Ok(Self {
            store: Arc::new(store),
            published: Arc::new(Notify::new()),
            poll_interval: config.poll_interval.get(),
        })
    }

    /// Runs `f` on the read-only connection, on the blocking pool.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.read(f))
            .await
            .map_err(|e| BackendError::Other(format!("embedded queue task failed: {e}")))?
    }

    /// Runs raw SQL against the file. For tests that need to plant malformed rows, as a
    /// foreign producer might.
    pub async fn execute_sql(&self, sql: String) -> Result<usize, BackendError> {
        self.store
            .writer
            .call(Kind::Durable, move |conn| {
                conn.execute(&sql, []).map_err(ops::sql_err)
            })
            .await
    }
}

#[async_trait]
impl Backend for EmbeddedBackend {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        let deadline = Instant::now() + wait;
        loop {
            // Register for wake-ups before looking, so a publish in between is not missed.
            let woken = self.published.notified();
            let q = queue.to_owned();
            let batch = self
                .store
                .writer
                // A receive that fails half-way leaves some rows leased: they come back
                // when their lease lapses, so no savepoint is needed.
                .call(Kind::Quick, move |conn| {
                    ops::receive(conn, &q, max, lease, ops::now_ms())
                })
                .await?;
            let now = Instant::now();
            if !batch.is_empty() || now >= deadline {
                return Ok(batch);
            }
            let nap = self.poll_interval.min(deadline - now);
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn extend(
        &self,
        _queue: &str,
        receipt: &Receipt,
        lease: Duration,
    ) -> Result<(), BackendError> {
        let r = receipt.clone();
        self.store
            .writer
            .call(Kind::Quick, move |conn| {
                ops::extend(conn, &r, lease, ops::now_ms())
            })
            .await
    }

    async fn ack(&self, _queue: &str, receipt: &Receipt) -> Result<(), BackendError> {
        let r = receipt.clone();
        self.store
            .writer
            .call(Kind::Quick, move |conn| ops::ack(conn, &r))
            .await
    }

    async fn release(
        &self,
        _queue: &str,
        receipt: &Receipt,
        delay: Duration,
        failure: Option<&Failure>,
    ) -> Result<(), BackendError> {
        let r = receipt.clone();
        let f = failure.cloned();
        self.store
            .writer
            .call(Kind::Quick, move |conn| {
                ops::release(conn, &r, delay, f.as_ref(), ops::now_ms())
            })
            .await?;
        if delay.is_zero() {
            self.published.notify_waiters();
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        message: &Received,
        error_queue: &str,
        story: &DeadLetterStory,
    ) -> Result<(), BackendError> {
        let (m, q, st) = (message.clone(), error_queue.to_owned(), story.clone());
        self.store
            .writer
            .call(Kind::Durable, move |conn| {
                ops::dead_letter(conn, &m, &q, &st, ops::now_ms())
            })
            .await?;
        self.published.notify_waiters();
        Ok(())
    }

    async fn publish(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, BackendError> {
        let window = self.store.dedup_window_ms;
        let ids = self
            .store
            .writer
            .call(Kind::Durable, move |conn| {
                ops::publish(conn, &messages, ops::now_ms(), window)
            })
            .await?;
        self.published.notify_waiters();
        Ok(ids)
    }

    fn dead_letters(&self) -> Option<&dyn DeadLetterAdmin> {
        Some(self)
    }

    fn stats(&self) -> Option<&dyn QueueStats> {
        Some(self)
    }
}
