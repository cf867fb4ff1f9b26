//! `console`: the console under a simulated fleet. `--sidecars` simulated sidecars (default
//! 200: 20 services × 10 replicas), each with `--subscriptions` subscriptions (10, shared by
//! the replicas of a service) and `--realms` realms per subscription (50), beat every
//! `--interval` (5 s) against a real `ferry console` (release build), each beat carrying
//! in-flight counts, settled counts and handling-time histograms for every realm. Meanwhile
//! the overview (`GET /api/v1/subscriptions`) is read once a second. Prints the console's
//! CPU per heartbeat, its memory, the heartbeat and overview response times. Not a test:
//! figures for docs/PERFORMANCE.md.
//!
//! `cargo run --release -p ferry-bench --bin console -- --seconds 60`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../cpu.rs"]
#[allow(dead_code)] // whole processes only: no thread of its own to count
mod cpu;
use cpu::{Whose, cpu_of};

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use clap::Parser;
use ferry::control::wire::{
    BUCKET_COUNT, BackendRef, Heartbeat, Limits, RealmReport, SubscriptionReport,
};
use http_body_util::{BodyExt as _, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use tokio::io::AsyncReadExt as _;

#[derive(Debug, Parser)]
#[command(about = "The console under a simulated fleet of sidecars")]
struct Args {
    /// Simulated sidecars.
    #[arg(long, default_value_t = 200)]
    sidecars: usize,
    /// Replicas per service (sidecars of a service share its subscriptions).
    #[arg(long, default_value_t = 10)]
    replicas: usize,
    /// Subscriptions per sidecar.
    #[arg(long, default_value_t = 10)]
    subscriptions: usize,
    /// Realms per subscription.
    #[arg(long, default_value_t = 50)]
    realms: usize,
    /// Heartbeat interval, seconds.
    #[arg(long, default_value_t = 5.0)]
    interval: f64,
    /// How long to run, seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Only measure the sidecar's per-message cost of counting for the console (the
    /// tally), on 1 and 2 threads, and exit.
    #[arg(long)]
    tally: bool,
}

/// Nanoseconds per settled message counted by the tally, `threads` threads at once, 50
/// realms of one subscription (a snapshot taken every million messages, as beats would).
fn tally_cost(threads: usize) -> f64 {
    use ferry::control::{Settled, Tally};
    const PER_THREAD: usize = 5_000_000;
    let tally = Arc::new(Tally::new(std::num::NonZeroUsize::new(100).unwrap()));
    tally.enable();
    let realms: Arc<Vec<String>> = Arc::new((0..50).map(|r| format!("tenant-{r:03}")).collect());
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (tally, realms) = (tally.clone(), realms.clone());
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let realm = &realms[(i + t) % realms.len()];
                    tally.settled(
                        "orders",
                        realm,
                        Settled::Done,
                        Some(Duration::from_micros(1500)),
                    );
                    if t == 0 && i % 1_000_000 == 0 {
                        std::hint::black_box(tally.take("orders"));
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // Wall time per message of one thread (the threads run side by side).
    start.elapsed().as_nanos() as f64 / PER_THREAD as f64
}

const TOKEN: &str = "console-bench-token-0123456789";

fn beat(args: &Args, i: usize, seq: u64) -> Heartbeat {
    let service = i / args.replicas;
    Heartbeat {
        sidecar: format!("sidecar-{i:04}"),
        host: format!("pod-{service}-{}", i % args.replicas),
        pid: 1,
        service: format!("service-{service:02}"),
        ferry_version: "bench".into(),
        backend: BackendRef {
            kind: "sqs".into(),
            locator: "aws:bench-1".into(),
        },
        worker_serving: true,
        interval_ms: (args.interval * 1000.0) as u64,
        seq,
        subscriptions: (0..args.subscriptions)
            .map(|s| SubscriptionReport {
                name: format!("s{service:02}-sub{s}"),
                queue: Some(format!("q-{service}-{s}")),
                error_queue: format!("q-{service}-{s}-errors"),
                realm_attribute: "realm".into(),
                configured: Limits {
                    max_in_flight: 16,
                    max_in_flight_per_realm: Some(4),
                    rate_limit: None,
                },
                effective: Limits {
                    max_in_flight: 16,
                    max_in_flight_per_realm: Some(4),
                    rate_limit: None,
                },
                realms: (0..args.realms)
                    .map(|r| {
                        let n = ((seq as usize + r + s + i) % 7) as u64;
                        let mut histogram = vec![0; BUCKET_COUNT];
                        histogram[4 + r % 5] = n;
                        RealmReport {
                            realm: format!("tenant-{r:03}"),
                            in_flight: (r % 3) as u32,
                            done: n,
                            retried: u64::from(r % 10 == 0),
                            dead_lettered: 0,
                            handling_ms: n * 40,
                            histogram,
                        }
                    })
                    .collect(),
                ..SubscriptionReport::default()
            })
            .collect(),
        ..Heartbeat::default()
    }
}

fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn pct(mut v: Vec<Duration>, q: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.tally {
        for threads in [1, 2] {
            println!(
                "tally: {:.1} ns per settled message per thread, {threads} thread(s) counting at once",
                tally_cost(threads)
            );
        }
        return;
    }
    let bin = ferry_tests::ferry::cargo_build_ferry()
        .release()
        .run()
        .expect("building ferry")
        .path()
        .to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("console.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\nstate = {:?}\nmax_sidecars = 10000\nmax_realms = 1000\n",
            dir.path().join("console.db").display().to_string()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(&bin)
        .args(["console", "--config"])
        .arg(&config)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let base = loop {
        let mut buf = [0u8; 1024];
        let n = stderr.read(&mut buf).await.unwrap();
        assert!(n > 0, "the console exited: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(rest) = seen.split("ferry console: http://").nth(1)
            && rest.contains('\n')
        {
            break format!("http://{}", rest.split('/').next().unwrap());
        }
    };
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let args = Arc::new(args);
    let beat_times = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(0usize));
    let body_bytes = serde_json::to_vec(&beat(&args, 0, 0)).unwrap().len();
    println!(
        "fleet: {} sidecars ({} services x {} replicas), {} subscriptions each ({} distinct), {} realms each, a beat every {}s; one heartbeat body {} KiB",
        args.sidecars,
        args.sidecars.div_ceil(args.replicas),
        args.replicas,
        args.subscriptions,
        args.sidecars.div_ceil(args.replicas) * args.subscriptions,
        args.realms,
        args.interval,
        body_bytes / 1024
    );
    let start = Instant::now();
    let until = start + Duration::from_secs(args.seconds);
    let cpu0 = cpu_of(Whose::Process(pid));
    let mut tasks = Vec::new();
    for i in 0..args.sidecars {
        let (client, args, base, times, failures) = (
            client.clone(),
            args.clone(),
            base.clone(),
            beat_times.clone(),
            failures.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let interval = Duration::from_secs_f64(args.interval);
            // Spread the fleet's beats evenly over the interval.
            tokio::time::sleep(interval.mul_f64(i as f64 / args.sidecars as f64)).await;
            let mut ticker = tokio::time::interval(interval);
            let mut seq = 0;
            while Instant::now() < until {
                ticker.tick().await;
                seq += 1;
                let body = serde_json::to_vec(&beat(&args, i, seq)).unwrap();
                let req = http::Request::post(format!("{base}/api/v1/heartbeat"))
                    .header("authorization", format!("Bearer {TOKEN}"))
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body)))
                    .unwrap();
                let t = Instant::now();
                match client.request(req).await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.into_body().collect().await;
                        times.lock().unwrap().push(t.elapsed());
                    }
                    _ => *failures.lock().unwrap() += 1,
                }
            }
        }));
    }
    let mut overview = Vec::new();
    let mut overview_bytes = 0;
    let mut peak_rss = 0;
    // The first interval fills the fleet; measure the overview after it.
    tokio::time::sleep(Duration::from_secs_f64(args.interval)).await;
    while Instant::now() < until {
        let req = http::Request::get(format!("{base}/api/v1/subscriptions"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let t = Instant::now();
        let r = client.request(req).await.unwrap();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        overview.push(t.elapsed());
        overview_bytes = body.len();
        peak_rss = peak_rss.max(memory_kib(pid).0);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    let cpu = cpu_of(Whose::Process(pid)) - cpu0;
    let elapsed = start.elapsed().as_secs_f64();
    let beats = beat_times.lock().unwrap().clone();
    let (rss, hwm) = memory_kib(pid);
    println!(
        "heartbeats: {} in {elapsed:.0}s ({:.1}/s), {} failed; answered in p50 {:?}, p95 {:?}, max {:?}",
        beats.len(),
        beats.len() as f64 / elapsed,
        failures.lock().unwrap(),
        pct(beats.clone(), 0.5),
        pct(beats.clone(), 0.95),
        pct(beats.clone(), 1.0)
    );
    println!(
        "console CPU: {cpu:.2}s over the run, {:.0}% of one core, {:.2} ms per heartbeat (its rollup writes and queue reads included)",
        cpu / elapsed * 100.0,
        cpu * 1000.0 / beats.len().max(1) as f64
    );
    println!(
        "console memory: RSS {} MiB at the end, peak {} MiB (VmHWM); sampled peak {} MiB",
        rss / 1024,
        hwm / 1024,
        peak_rss / 1024
    );
    println!(
        "overview GET /api/v1/subscriptions ({} KiB): {} reads, p50 {:?}, p95 {:?}, max {:?}",
        overview_bytes / 1024,
        overview.len(),
        pct(overview.clone(), 0.5),
        pct(overview.clone(), 0.95),
        pct(overview, 1.0)
    );
    let _ = child.kill().await;
}
