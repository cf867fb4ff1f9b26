//! The Node no-op worker (`examples/node/src/noop-worker.ts` on `@ferry/sdk`) as a process
//! of its own, for `--worker node`: built with npm and tsc if needed, started on a free
//! port, and read back through the file of Handle start times it writes once it has seen
//! every message. Its CPU and memory are read from `/proc/<pid>` like ferry's.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::process::{Child, Command};

/// A running Node no-op worker.
pub struct NodeWorker {
    child: Child,
    url: String,
    starts_file: PathBuf,
    _dir: tempfile::TempDir,
}

/// `examples/node`, next to this crate.
fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/node")
}

/// Runs `npm <args>` in `examples/node`, panicking with the command on failure.
fn npm(args: &[&str]) {
    let status = std::process::Command::new("npm")
        .args(args)
        .current_dir(examples_dir())
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running npm {args:?}: {e}"));
    assert!(status.success(), "npm {args:?} failed in examples/node");
}

impl NodeWorker {
    /// Builds `examples/node` (`npm ci` when it has no `node_modules`, then `tsc`) and
    /// starts the worker on a free port; it reports back after `messages` messages.
    pub async fn start(messages: usize) -> Self {
        if !examples_dir().join("node_modules").exists() {
            npm(&["ci", "--no-audit", "--no-fund"]);
        }
        npm(&["run", "build"]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let dir = tempfile::tempdir().unwrap();
        let starts_file = dir.path().join("starts.json");
        let child = Command::new("node")
            .arg(examples_dir().join("build/src/noop-worker.js"))
            .env("FERRY_WORKER_ADDR", &addr)
            .env("NOOP_WORKER_MESSAGES", messages.to_string())
            .env("NOOP_WORKER_STARTS", &starts_file)
            .kill_on_drop(true)
            .spawn()
            .expect("starting node (is Node.js installed?)");
        let listening = SystemTime::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(&addr).await.is_err() {
            assert!(
                SystemTime::now() < listening,
                "the Node worker did not listen on {addr} within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self {
            child,
            url: format!("http://{addr}"),
            starts_file,
            _dir: dir,
        }
    }

    /// Where ferry calls it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The worker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the Node worker is running")
    }

    /// True once the worker has seen every message (its start-times file exists).
    pub fn finished(&self) -> bool {
        self.starts_file.exists()
    }

    /// Handle start time per message id (empty until [`finished`](Self::finished)).
    pub fn starts(&self) -> HashMap<String, SystemTime> {
        let Ok(text) = std::fs::read_to_string(&self.starts_file) else {
            return HashMap::new();
        };
        let starts: HashMap<String, f64> = serde_json::from_str(&text).unwrap();
        starts
            .into_iter()
            .map(|(id, ms)| (id, UNIX_EPOCH + Duration::from_secs_f64(ms / 1000.0)))
            .collect()
    }

    /// Stops the worker (SIGTERM: it drains and exits).
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }
}
