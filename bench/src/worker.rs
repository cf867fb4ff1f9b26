//! The no-op workers: [`NoopWorker`], a real `ferry-sdk` worker in this process that
//! answers done at once and records when each message's `Handle` started (by message id),
//! and [`BenchWorker`], the choice between it and the Node one (`--worker rust|node`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use ferry::cli::runtime::Threads;
use ferry_sdk::{Message, Reply};
use tokio::net::TcpListener;

use crate::{cpu::Whose, node_worker::NodeWorker};

/// The name of the threads of the in-process worker's own runtime: its CPU is theirs,
/// apart from the benchmark's (which reads ferry's output meanwhile).
const WORKER_THREADS: &str = "bench-worker";

/// Which no-op worker ferry calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkerKind {
    /// `ferry-sdk`, served inside the benchmark process.
    Rust,
    /// `@ferry/sdk` (`examples/node/src/noop-worker.ts`), a `node` process of its own.
    Node,
}

/// The no-op worker of a run.
pub enum BenchWorker {
    /// In this process.
    Rust(NoopWorker),
    /// A Node process (boxed: it holds the child process and its files).
    Node(Box<NodeWorker>),
}

impl BenchWorker {
    /// Starts the worker of `kind` for a run of `messages` messages; the Rust one on a
    /// runtime of `threads` threads.
    pub async fn start(kind: WorkerKind, messages: usize, threads: u32) -> Self {
        match kind {
            WorkerKind::Rust => Self::Rust(NoopWorker::start(threads).await),
            WorkerKind::Node => Self::Node(Box::new(NodeWorker::start(messages).await)),
        }
    }

    /// Where ferry calls it.
    pub fn url(&self) -> &str {
        match self {
            Self::Rust(w) => w.url(),
            Self::Node(w) => w.url(),
        }
    }

    /// True once `messages` distinct messages were handled.
    pub fn handled(&self, messages: usize) -> bool {
        match self {
            Self::Rust(w) => w.calls() >= messages,
            Self::Node(w) => w.finished(),
        }
    }

    /// Handle start time per message id.
    pub fn starts(&self) -> HashMap<String, SystemTime> {
        match self {
            Self::Rust(w) => w.starts(),
            Self::Node(w) => w.starts(),
        }
    }

    /// Whose CPU is the worker's side of the gRPC calls, and what to call it.
    pub fn process(&self) -> (Whose, &'static str) {
        match self {
            Self::Rust(_) => (Whose::Threads(WORKER_THREADS), "worker CPU (ferry-sdk):"),
            Self::Node(w) => (Whose::Process(w.pid()), "worker CPU (node):"),
        }
    }

    /// Stops a worker process (the in-process one ends with the benchmark).
    pub async fn stop(self) {
        if let Self::Node(w) = self {
            w.stop().await;
        }
    }
}

/// A running no-op worker.
pub struct NoopWorker {
    url: String,
    starts: Arc<Mutex<HashMap<String, SystemTime>>>,
}

impl NoopWorker {
    /// Starts on a free port, on a runtime of its own that lives as long as the benchmark:
    /// `threads` threads (one is tokio's current-thread scheduler, as the SDK's examples
    /// run; two, what `#[tokio::main]` gives a worker process on this machine).
    pub async fn start(threads: u32) -> Self {
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
        let (bound, url) = tokio::sync::oneshot::channel();
        let runtime = ferry::cli::runtime::builder(Threads::Exactly(threads))
            .thread_name(WORKER_THREADS)
            .build()
            .unwrap();
        // Named too: on one thread, this thread is the runtime's.
        let spawned = std::thread::Builder::new()
            .name(WORKER_THREADS.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let _ = bound.send(format!("http://{}", listener.local_addr().unwrap()));
                    let _ = ferry_sdk::serve_on(listener, handler, std::future::pending()).await;
                });
            });
        spawned.expect("starting the worker's thread");
        Self {
            url: url.await.unwrap(),
            starts,
        }
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
