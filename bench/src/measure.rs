//! Running the release `ferry` binary and measuring it: CPU time and peak RSS from
//! `/proc/<pid>`; from its events, when it started, when each message was received and
//! when the last one was done. Its stdout is only collected while it runs and parsed after
//! it stopped, so reading the events takes no CPU away from the run being measured.

use std::{
    collections::HashMap,
    process::Stdio,
    time::{Duration, SystemTime},
};

use tokio::{
    io::AsyncReadExt,
    process::{Child, Command},
};

/// A running ferry under measurement.
pub struct FerryRun {
    child: Child,
    reader: tokio::task::JoinHandle<Vec<u8>>,
    _dir: tempfile::TempDir,
}

/// CPU and memory used by ferry.
pub struct Usage {
    /// User + system CPU seconds.
    pub cpu_seconds: f64,
    /// Peak resident set (VmHWM), KiB.
    pub peak_rss_kib: u64,
}

/// What ferry's events say about a run.
pub struct Events {
    /// Receive time per message id (`message.received`).
    pub received: HashMap<String, SystemTime>,
    /// `ferry.started`: set-up done, the receive loops begin.
    pub started: Option<SystemTime>,
    /// The last `message.done` (logged once the backend confirmed the settle).
    pub last_done: Option<SystemTime>,
}

impl Events {
    fn parse(out: &[u8]) -> Self {
        let mut events = Self {
            received: HashMap::new(),
            started: None,
            last_done: None,
        };
        for line in out.split(|b| *b == b'\n') {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            let at = v["@timestamp"].as_str().and_then(parse_time);
            match (v["event.action"].as_str(), at) {
                (Some("message.received"), Some(t)) => {
                    if let Some(id) = v["ferry.message_id"].as_str() {
                        events.received.entry(id.to_owned()).or_insert(t);
                    }
                }
                (Some("ferry.started"), Some(t)) => events.started = Some(t),
                (Some("message.done"), Some(t)) => {
                    events.last_done = events.last_done.max(Some(t));
                }
                _ => {}
            }
        }
        events
    }

    /// From `ferry.started` to the last `message.done`: the span the baseline's own timing
    /// (first receive to last confirmed delete) corresponds to.
    pub fn working(&self) -> Option<Duration> {
        self.last_done?.duration_since(self.started?).ok()
    }
}

/// Latency percentiles.
pub struct Latency {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

fn parse_time(s: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

impl FerryRun {
    /// Builds ferry in release mode with `features` (or takes the binary named by
    /// `FERRY_BENCH_FERRY_BIN`) and runs it with `config`.
    pub async fn start(config: &str, features: &[&str]) -> Self {
        Self::start_wrapped(config, features, &[]).await
    }

    /// [`FerryRun::start`] with ferry run by `wrapper` (e.g. `valgrind --tool=callgrind`).
    pub async fn start_wrapped(config: &str, features: &[&str], wrapper: &[&str]) -> Self {
        let bin = match std::env::var_os("FERRY_BENCH_FERRY_BIN") {
            // A ferry built elsewhere, e.g. with frame pointers for `perf`.
            Some(bin) => std::path::PathBuf::from(bin),
            None => build_ferry(features),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferry.toml");
        std::fs::write(&path, config).unwrap();
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .arg("run")
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let reader = tokio::spawn(async move {
            let mut out = Vec::with_capacity(16 << 20);
            let _ = stdout.read_to_end(&mut out).await;
            out
        });
        Self {
            child,
            reader,
            _dir: dir,
        }
    }

    /// CPU and peak memory so far.
    pub fn usage(&self) -> Usage {
        usage_of(self.child.id().unwrap())
    }

    /// Stops ferry (SIGTERM, drain) and returns what its events say.
    pub async fn stop(mut self) -> Events {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await;
        // stdout closed: the reader has every line.
        let out = (&mut self.reader).await.unwrap_or_default();
        Events::parse(&out)
    }
}

/// Builds the release `ferry` binary with `features` and returns its path.
fn build_ferry(features: &[&str]) -> std::path::PathBuf {
    let mut build = ferry_tests::ferry::cargo_build_ferry().release();
    if !features.is_empty() {
        build = build.features(features.join(" "));
    }
    build.run().expect("building ferry").path().to_path_buf()
}

/// CPU and peak memory of process `pid` so far (`/proc/<pid>/stat` and `status`).
pub fn usage_of(pid: u32) -> Usage {
    let cpu_seconds = crate::cpu::cpu_of(crate::cpu::Whose::Process(pid));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak_rss_kib = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    Usage {
        cpu_seconds,
        peak_rss_kib,
    }
}

/// Percentiles of (Handle start - ferry receive) over messages seen by both.
pub fn latencies(
    received: &HashMap<String, SystemTime>,
    starts: &HashMap<String, SystemTime>,
) -> Latency {
    if let Some(path) = std::env::var_os("FERRY_BENCH_LATENCY_DUMP") {
        dump_latencies(&path, received, starts);
    }
    percentiles(received, starts)
}

/// The percentiles of the time from `since` to `starts`, over the message ids in both.
pub fn percentiles(
    since: &HashMap<String, SystemTime>,
    starts: &HashMap<String, SystemTime>,
) -> Latency {
    let mut d: Vec<Duration> = since
        .iter()
        .filter_map(|(id, r)| {
            starts
                .get(id)
                .map(|s| s.duration_since(*r).unwrap_or_default())
        })
        .collect();
    d.sort();
    let pick = |q: f64| {
        d.get(((d.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Latency {
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

/// Writes one line per message, `<receive time, Unix µs> <added latency, µs>`, in receive
/// order, to `path`: where the slow messages fall in time (they come in clusters when
/// another thread holds the cores).
fn dump_latencies(
    path: &std::ffi::OsStr,
    received: &HashMap<String, SystemTime>,
    starts: &HashMap<String, SystemTime>,
) {
    let mut rows: Vec<(u128, u128)> = received
        .iter()
        .filter_map(|(id, r)| {
            let at = r.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_micros();
            let added = starts.get(id)?.duration_since(*r).unwrap_or_default();
            Some((at, added.as_micros()))
        })
        .collect();
    rows.sort_unstable();
    let text: String = rows.iter().map(|(at, us)| format!("{at} {us}\n")).collect();
    if let Err(e) = std::fs::write(path, text) {
        eprintln!(
            "cannot write the latencies to {}: {e}",
            path.to_string_lossy()
        );
    }
}

/// A one-line description of the machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cores} cores, {cpu}")
}
