//! The no-op worker: a real `ferry-sdk` worker that answers done at once and records when
//! each message's `Handle` started (by message id).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use ferry_sdk::{Message, Reply};
use tokio::net::TcpListener;

/// A running no-op worker.
pub struct NoopWorker {
    url: String,
    starts: Arc<Mutex<HashMap<String, SystemTime>>>,
}

impl NoopWorker {
    /// Starts on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let starts: Arc<Mutex<HashMap<String, SystemTime>>> = Arc::default();
        let record = starts.clone();
        let handler = move |msg: Message| {
            record
                .lock()
                .unwrap()
                .entry(msg.id)
                .or_insert_with(SystemTime::now);
            async { Reply::done() }
        };
        tokio::spawn(async move {
            let _ = ferry_sdk::serve_on(listener, handler, std::future::pending()).await;
        });
        Self { url, starts }
    }

    /// Where ferry calls it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Distinct messages handled.
    pub fn calls(&self) -> usize {
        self.starts.lock().unwrap().len()
    }

    /// Handle start time per message id.
    pub fn starts(&self) -> HashMap<String, SystemTime> {
        self.starts.lock().unwrap().clone()
    }
}
