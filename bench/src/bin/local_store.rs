//! `local_store`: the cost of the local log store. Builds N events shaped like ferry's
//! (`message.done` with the full message context) and writes them the way telemetry does
//! (`write_record`) through the stdout sink into /dev/null — the store off — and through
//! the local store in front of that same stdout sink — the store on — in alternating
//! rounds, measuring this process's CPU (the caller's side and the writer thread: what the
//! store costs inside ferry) and the bytes the store's file takes per event. Not a test: it
//! prints figures (recorded in docs/PERFORMANCE.md).
//!
//! `cargo run --release -p ferry-bench --bin local_store -- --events 100000 --rounds 5`
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// ferry's own allocator (gateway/src/main.rs), so the figures are ferry's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::{sync::Arc, time::Duration};

use clap::Parser;
use ferry::telemetry::{
    Event, LogSink, MessageContext, Metrics, Origin, Record, events,
    local::{LocalSink, LocalStore},
    sink::StdoutSink,
};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "CPU and bytes per 1000 log events written to the local log store")]
struct Args {
    /// Events per round.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Rounds of each (store off, store on, alternating).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

/// This process's CPU seconds (user + system, every thread).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<f64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    (fields.get(11).copied().unwrap_or(0.0) + fields.get(12).copied().unwrap_or(0.0)) / hz
}

fn records(origin: &Origin, n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let ctx = MessageContext {
                subscription: "orders".into(),
                queue: "orders".into(),
                message_id: format!("0192f3a1-7c2e-7d41-9a55-{i:012}"),
                attempt: 1,
                realm: format!("client-{}", i % 50),
                trace_id: format!("{:032x}", i as u128 * 7919 + 1),
                span_id: format!("{:016x}", i as u64 * 31 + 1),
                series: None,
            };
            let mut r = Record::new(origin);
            events::Done {
                ctx: &ctx,
                duration: Duration::from_micros(1500 + (i as u64 % 1000)),
                published: i % 3,
            }
            .fill(&mut r);
            r
        })
        .collect()
}

/// Events written between two flushes: half of a sink's bounded queue.
const CHUNK: usize = ferry::telemetry::sink::QUEUE / 2;

async fn write_all(sink: &dyn LogSink, batch: Vec<Record>) -> f64 {
    let cpu0 = cpu_seconds();
    // In chunks that fit the bounded queues: a producer faster than the writer would
    // have records dropped (and counted) instead.
    for (i, r) in batch.into_iter().enumerate() {
        sink.write_record(r);
        if i % CHUNK == CHUNK - 1 {
            sink.flush().await;
        }
    }
    sink.flush().await;
    cpu_seconds() - cpu0
}

fn stdout(origin: &Origin, metrics: &Arc<Metrics>) -> Arc<dyn LogSink> {
    let devnull = std::fs::File::create("/dev/null").unwrap();
    Arc::new(StdoutSink::to_writer(
        devnull,
        origin.clone(),
        metrics.clone(),
    ))
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let origin = Origin::new("bench", Some("1.0.0"));
    let sample = serde_json::to_vec(&records(&origin, 1)[0]).unwrap().len();
    println!(
        "local_store: events={} rounds={} (one event: {sample} bytes of JSON)",
        args.events, args.rounds
    );
    let per_k = |x: f64| x * 1000.0 / args.events as f64;
    let (mut off, mut on, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let metrics = Arc::new(Metrics::new());
        let cpu_off = write_all(&*stdout(&origin, &metrics), records(&origin, args.events)).await;

        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore {
            path: dir.path().join("logs.db"),
            max_size: 4 * 1024 * 1024 * 1024 - 1,
            max_age: Duration::from_secs(3600),
        };
        let sink =
            LocalSink::start(&store, stdout(&origin, &metrics), origin.clone(), metrics).unwrap();
        let cpu_on = write_all(&sink, records(&origin, args.events)).await;
        drop(sink);
        let conn = rusqlite::Connection::open(&store.path).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        let stored: i64 = conn
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
            .unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let size = std::fs::metadata(&store.path).unwrap().len();
        let per_event = size as f64 / stored.max(1) as f64;
        println!(
            "round {round}: store off {:.4} s CPU per 1000 events; on {:.4} s ({:+.2} µs per event); {stored} stored, {per_event:.0} bytes per event in the file",
            per_k(cpu_off),
            per_k(cpu_on),
            (cpu_on - cpu_off) * 1e6 / args.events as f64
        );
        off.push(per_k(cpu_off));
        on.push(per_k(cpu_on));
        bytes.push(per_event);
    }
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    };
    let (a, b) = range(&off);
    let (c, d) = range(&on);
    let deltas: Vec<f64> = on.iter().zip(&off).map(|(x, y)| (x - y) * 1000.0).collect();
    let (e, g) = range(&deltas);
    let (h, i) = range(&bytes);
    println!("store off: {a:.4}–{b:.4} s CPU per 1000 events");
    println!("store on:  {c:.4}–{d:.4} s CPU per 1000 events");
    println!("added:     {e:.2}–{g:.2} µs CPU per event");
    println!("file:      {h:.0}–{i:.0} bytes per event");
}
