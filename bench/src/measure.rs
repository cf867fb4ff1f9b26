//! Running the release `ferry` binary and measuring it: CPU time and peak RSS from
//! `/proc/<pid>`, receive timestamps from its `message.received` events.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// A running ferry under measurement.
pub struct FerryRun {
    child: Child,
    received: Arc<Mutex<HashMap<String, SystemTime>>>,
    reader: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// CPU and memory used by ferry.
pub struct Usage {
    /// User + system CPU seconds.
    pub cpu_seconds: f64,
    /// Peak resident set (VmHWM), KiB.
    pub peak_rss_kib: u64,
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
    /// Builds ferry in release mode with `features` and runs it with `config`.
    pub async fn start(config: &str, features: &[&str]) -> Self {
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut build = escargot::CargoBuild::new()
            .manifest_path(manifest)
            .package("ferry")
            .bin("ferry")
            .release();
        if !features.is_empty() {
            build = build.features(features.join(" "));
        }
        let bin = build.run().expect("building ferry").path().to_path_buf();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferry.toml");
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(bin)
            .arg("run")
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let received: Arc<Mutex<HashMap<String, SystemTime>>> = Arc::default();
        let sink = received.clone();
        let stdout = child.stdout.take().unwrap();
        let reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                // Cheap pre-filter: parse only receive events.
                if !line.contains("\"message.received\"") {
                    continue;
                }
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if let (Some(id), Some(t)) = (
                    v["ferry.message_id"].as_str(),
                    v["@timestamp"].as_str().and_then(parse_time),
                ) {
                    sink.lock().unwrap().entry(id.to_owned()).or_insert(t);
                }
            }
        });
        Self {
            child,
            received,
            reader,
            _dir: dir,
        }
    }

    /// CPU and peak memory so far.
    pub fn usage(&self) -> Usage {
        usage_of(self.child.id().unwrap())
    }

    /// Stops ferry (SIGTERM, drain) and returns the receive time of each message.
    pub async fn stop(mut self) -> HashMap<String, SystemTime> {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await;
        let _ = (&mut self.reader).await; // stdout closed: the reader has seen every line
        self.received.lock().unwrap().clone()
    }
}

/// CPU and peak memory of process `pid` so far (`/proc/<pid>/stat` and `status`).
pub fn usage_of(pid: u32) -> Usage {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name: utime is field 14, stime 15 (1-based).
    let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let cpu_seconds = (ticks(11) + ticks(12)) / hz;
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
    let mut d: Vec<Duration> = received
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
