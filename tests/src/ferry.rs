//! Drives the real `ferry` binary: [`FerryBuilder`] writes a config (backend from the
//! fixture, every port 0) and starts `ferry run`; [`FerryProcess`] collects the JSON events
//! from its stdout and signals or kills it.

use std::{
    path::{Path, PathBuf},
    process::{ExitStatus, Output, Stdio},
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    process::{Child, Command},
};

use crate::assert_eventually;

/// The path of the `ferry` binary (every backend enabled), built once per test process;
/// `FERRY_TEST_BIN` names another one instead (to run a test against an older build).
pub fn ferry_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("FERRY_TEST_BIN") {
            return PathBuf::from(bin);
        }
        cargo_build_ferry()
            .all_features()
            .run()
            .expect("building the ferry binary")
            .path()
            .to_path_buf()
    })
    .clone()
}

/// The path of the `ferry-blast` example binary `name` (built once by cargo).
pub fn blast_bin(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    escargot::CargoBuild::new()
        .manifest_path(manifest)
        .package("ferry-blast")
        .bin(name)
        .run()
        .unwrap()
        .path()
        .to_path_buf()
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A cargo build of the workspace's `ferry` binary, for a program that cargo itself runs
/// (a test, the benchmark) to build ferry with.
///
/// cargo gives such a program its own package's CARGO_PKG_* and CARGO_MANIFEST_*
/// variables. Some build scripts (ring's) ask to rerun when those change, and cargo
/// compares them with its own environment: left in, every build from a test or the
/// benchmark rebuilt ferry and half its dependencies after any build from a shell, and
/// back again. They are removed here.
pub fn cargo_build_ferry() -> escargot::CargoBuild {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut build = escargot::CargoBuild::new();
    for (key, _) in std::env::vars_os() {
        let name = key.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || name == "CARGO_CRATE_NAME"
        {
            build = build.env_remove(&key);
        }
    }
    build.manifest_path(manifest).package("ferry").bin("ferry")
}

/// One `[subscriptions.<name>]` table.
#[derive(Debug, Clone)]
pub struct Sub {
    name: String,
    lines: Vec<String>,
}

impl Sub {
    /// A subscription with fast test defaults (short backoff, lease and waits).
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            lines: Vec::new(),
        }
        .set("backoff", "{ min = \"20ms\", max = \"200ms\" }")
        .set("receive_wait", "\"200ms\"")
        .set("realm_requeue_delay", "\"50ms\"")
    }

    /// Sets `key = value` (value in TOML syntax).
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.lines.retain(|l| !l.starts_with(&format!("{key} =")));
        self.lines.push(format!("{key} = {value}"));
        self
    }

    fn toml(&self) -> String {
        format!("[subscriptions.{}]\n{}\n", self.name, self.lines.join("\n"))
    }
}

/// Builds a ferry config and process.
pub struct FerryBuilder {
    backend_toml: String,
    worker_url: String,
    subs: Vec<Sub>,
    extra: Vec<String>,
    dir: Arc<tempfile::TempDir>,
    command: Vec<String>,
    env: Vec<(String, String)>,
    raw: Option<String>,
    health_interval: String,
}

impl FerryBuilder {
    /// Ferry on the fixture's backend, calling the worker at `worker_url`.
    pub fn new(backend_toml: String, worker_url: &str) -> Self {
        Self {
            backend_toml,
            worker_url: worker_url.to_owned(),
            subs: Vec::new(),
            extra: Vec::new(),
            dir: Arc::new(tempfile::tempdir().unwrap()),
            command: Vec::new(),
            env: Vec::new(),
            raw: None,
            health_interval: "100ms".to_owned(),
        }
    }

    /// A ferry that runs exactly `config` (e.g. the [`config`](Self::config) of an earlier
    /// builder, to restart "the same" ferry).
    pub fn from_config(config: String) -> Self {
        Self {
            raw: Some(config),
            ..Self::new(String::new(), "")
        }
    }

    /// Adds a subscription.
    #[allow(clippy::should_implement_trait)]
    pub fn sub(mut self, sub: Sub) -> Self {
        self.subs.push(sub);
        self
    }

    /// Adds raw TOML (for `[limits]`, `[shutdown]`, …).
    pub fn toml(mut self, text: &str) -> Self {
        self.extra.push(text.to_owned());
        self
    }

    /// Sets `worker.health_interval` (100 ms by default, so tests see health changes fast).
    pub fn health_interval(mut self, interval: &str) -> Self {
        interval.clone_into(&mut self.health_interval);
        self
    }

    /// Runs `command` as the supervised worker (`ferry run -- command`).
    pub fn worker_command(mut self, command: &[&str]) -> Self {
        self.command = command.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Sets an environment variable for ferry (and so for its child worker).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// The config text.
    pub fn config(&self) -> String {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut t = format!(
            "service = \"conformance\"\n[worker]\naddress = \"{}\"\nhealth_interval = \"{}\"\nstop_timeout = \"5s\"\n\
             [gateway]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n{}\n",
            self.worker_url, self.health_interval, self.backend_toml
        );
        for e in &self.extra {
            t.push_str(e);
            t.push('\n');
        }
        for s in &self.subs {
            t.push_str(&s.toml());
        }
        t
    }

    /// Writes the config and starts `ferry run`; returns once `ferry.started` is logged.
    pub async fn spawn(self) -> FerryProcess {
        let path = self.dir.path().join("ferry.toml");
        std::fs::write(&path, self.config()).unwrap();
        let mut cmd = Command::new(ferry_bin());
        cmd.arg("run")
            .arg("--config")
            .arg(&path)
            .envs(self.env.iter().cloned());
        if !self.command.is_empty() {
            cmd.arg("--").args(&self.command);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let not_json = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let (sink, odd) = (events.clone(), not_json.clone());
        let (reading, mut gate) = tokio::sync::watch::channel(true);
        let reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            loop {
                // Paused: stop reading, so ferry's writes to stdout block.
                let _ = gate.wait_for(|open| *open).await;
                let Ok(Some(line)) = lines.next_line().await else {
                    break;
                };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => sink.lock().unwrap().push(v),
                    Err(_) => {
                        eprintln!("[ferry stdout, not JSON] {line}");
                        odd.lock().unwrap().push(line);
                    }
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr_text = Arc::new(Mutex::new(String::new()));
        let err_sink = stderr_text.clone();
        tokio::spawn(async move {
            let mut buf = String::new();
            let _ = stderr.read_to_string(&mut buf).await;
            err_sink.lock().unwrap().push_str(&buf);
        });
        let mut p = FerryProcess {
            child,
            reader: Some(reader),
            reading,
            not_json,
            events,
            stderr: stderr_text,
            config_path: path,
            _dir: self.dir,
        };
        assert_eventually!(
            p.started().is_some() || p.exited(),
            "ferry did not start; stderr: {}",
            p.stderr()
        );
        assert!(
            p.started().is_some(),
            "ferry exited at start; stderr: {}",
            p.stderr()
        );
        p
    }
}

/// The processes whose parent is `pid` (from `/proc/*/stat`; empty where there is no
/// `/proc`).
fn children_of(pid: u32) -> Vec<nix::unistd::Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .is_some_and(|ppid| ppid.parse() == Ok(pid))
            })
        })
        .map(nix::unistd::Pid::from_raw)
        .collect()
}

/// A running `ferry run`.
pub struct FerryProcess {
    child: Child,
    /// Reads the JSON events from stdout until it closes.
    reader: Option<tokio::task::JoinHandle<()>>,
    /// Whether the reader reads (see [`FerryProcess::pause_stdout`]).
    reading: tokio::sync::watch::Sender<bool>,
    /// Lines of stdout that were not JSON.
    not_json: Arc<Mutex<Vec<String>>>,
    events: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<String>>,
    config_path: PathBuf,
    _dir: Arc<tempfile::TempDir>,
}

/// Ends ferry and the worker it supervises (`ferry run -- cmd`), which would outlive the
/// SIGKILL alone; when a test fails, prints what this ferry logged, so the failure
/// explains itself.
impl Drop for FerryProcess {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // Found before ferry dies: its children then belong to init.
            let workers = children_of(pid);
            let _ = self.child.start_kill();
            for worker in workers {
                let _ = nix::sys::signal::kill(worker, nix::sys::signal::Signal::SIGKILL);
            }
        }
        if !std::thread::panicking() {
            return;
        }
        eprintln!("---- events of ferry ({}) ----", self.config_path.display());
        for e in self.events() {
            eprintln!("{e}");
        }
        eprintln!("---- stderr of ferry ----\n{}", self.stderr());
    }
}

impl FerryProcess {
    fn started(&self) -> Option<Value> {
        self.events_of("ferry.started").into_iter().next()
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// What ferry wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Stops reading ferry's stdout (after at most one more line): once the pipe is full,
    /// ferry's writes to stdout block, as with a stuck log collector.
    pub fn pause_stdout(&self) {
        self.reading.send_replace(false);
    }

    /// Reads ferry's stdout again.
    pub fn resume_stdout(&self) {
        self.reading.send_replace(true);
    }

    /// Lines ferry wrote to stdout that were not JSON objects.
    pub fn not_json(&self) -> Vec<String> {
        self.not_json.lock().unwrap().clone()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// `VmRSS` and `VmHWM` (peak) of the process, in KiB, from `/proc`.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap()
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// All events so far.
    pub fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }

    /// Events with `event.action == action`.
    pub fn events_of(&self, action: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event.action"] == action)
            .collect()
    }

    /// How many `action` events are about message `id`.
    pub fn count_for(&self, action: &str, id: &str) -> usize {
        self.events_of(action)
            .iter()
            .filter(|e| e["ferry.message_id"] == id)
            .count()
    }

    /// The config file path (for CLI commands against the same config).
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The admin address.
    pub fn admin_addr(&self) -> String {
        self.started().unwrap()["ferry.admin.address"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The webhook ingress's base URL (`http://host:port`).
    pub fn ingress_url(&self) -> String {
        format!(
            "http://{}",
            self.started().unwrap()["ferry.ingress.address"]
                .as_str()
                .expect("ferry serves no ingress")
        )
    }

    /// The gateway API address (`http://...`).
    pub fn gateway_url(&self) -> String {
        format!(
            "http://{}",
            self.started().unwrap()["ferry.gateway.address"]
                .as_str()
                .unwrap()
        )
    }

    /// GETs `path` on the admin endpoint: (status code, body).
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        let (code, _, body) = self.admin_get_with(path, &[]).await;
        (code, body)
    }

    /// GETs `path` on the admin endpoint with extra `headers`: (status code, response
    /// headers, body).
    pub async fn admin_get_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, String, String) {
        let mut s = tokio::net::TcpStream::connect(self.admin_addr())
            .await
            .unwrap();
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let code = out
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let (head, body) = out.split_once("\r\n\r\n").unwrap_or((out.as_str(), ""));
        (code, head.to_owned(), body.to_owned())
    }

    /// Sends a signal (SIGTERM, SIGKILL, …).
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id().unwrap()).unwrap());
        nix::sys::signal::kill(pid, sig).unwrap();
    }

    /// Waits (up to 60 s) for ferry to exit, and for every event it wrote to be read.
    pub async fn wait(&mut self) -> ExitStatus {
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("ferry did not exit")
            .unwrap();
        if let Some(reader) = self.reader.take() {
            tokio::time::timeout(Duration::from_secs(10), reader)
                .await
                .expect("ferry's stdout did not close after it exited")
                .unwrap();
        }
        status
    }

    /// Runs a `ferry` CLI command against this process's config.
    pub async fn cli(&self, args: &[&str]) -> Output {
        run_cli(&self.config_path, args).await
    }
}

/// Asserts how ferry treats a queue problem found at start-up (`finding`, as printed):
/// `ferry run` exits 1 naming it, `ferry check` succeeds and reports it as a warning.
/// Returns what `run` printed on stderr.
pub async fn assert_run_refuses_and_check_warns(config: &Path, finding: &str) -> String {
    let out = run_cli(config, &["run"]).await;
    let run_err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{run_err}");
    assert!(run_err.contains(finding), "{run_err}");
    let out = run_cli(config, &["check"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("ferry: warning: {finding}")), "{err}");
    run_err
}

/// Runs `ferry ARGS --config CONFIG`.
pub async fn run_cli(config: &Path, args: &[&str]) -> Output {
    Command::new(ferry_bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .await
        .unwrap()
}
