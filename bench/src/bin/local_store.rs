//! `local_store`: the cost of the local log store. Emits the events of N messages as
//! ferry does under load (`message.received`, then `message.done` 2 ms later, random
//! message and trace ids, paced at `--rate` messages per second) through telemetry into the
//! stdout sink writing to /dev/null — the store off — and into the local store in front of
//! that same stdout sink — the store on — in alternating rounds, measuring this process's
//! CPU (the callers' side and the writer thread: what the store costs inside ferry), the
//! writer thread's own, the bytes the store's file takes per event and what reading one
//! story back costs in the full store. Not a test: it prints figures (recorded in
//! docs/PERFORMANCE.md).
//!
//! `cargo run --release -p ferry-bench --bin local_store -- --messages 30000 --rounds 3`
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// ferry's own allocator (gateway/src/main.rs), so the figures are ferry's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../cpu.rs"]
mod cpu;
use cpu::{Whose, cpu_of};

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Parser;
use ferry::telemetry::{
    Event, LogSink, MessageContext, Metrics, Origin, Record, Telemetry, events,
    local::{LocalSink, LocalStore, LogQuery, LogReader},
    sink::StdoutSink,
};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "CPU and bytes per 1000 log events written to the local log store")]
struct Args {
    /// Messages per round (two events each: `message.received`, then `message.done`).
    #[arg(long, default_value_t = 50_000)]
    messages: usize,
    /// Messages per second, as ferry would log them under load (0: as fast as the sinks
    /// take them, in chunks of half a queue).
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Rounds of each (store off, store on, alternating).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// The context of message `i`: random ids, as real queues and traces have them (the
/// store's indexes see keys in no order).
fn context(i: usize) -> MessageContext {
    MessageContext {
        subscription: "orders".into(),
        queue: "orders".into(),
        message_id: uuid::Uuid::new_v4().to_string(),
        attempt: 1,
        realm: format!("client-{}", i % 50),
        trace_id: uuid::Uuid::new_v4().simple().to_string(),
        span_id: uuid::Uuid::new_v4().simple().to_string()[..16].to_owned(),
        series: None,
    }
}

fn done(ctx: &MessageContext, i: usize) -> events::Done<'_> {
    events::Done {
        ctx,
        duration: Duration::from_micros(1500 + (i as u64 % 1000)),
        published: 0,
    }
}

/// Events written between two flushes when not paced: half of a sink's bounded queue.
const CHUNK: usize = ferry::telemetry::sink::QUEUE / 2;

/// How long a message is "handled": its done event follows its received event by this.
const HANDLING: Duration = Duration::from_millis(2);

/// Writes the events of `messages` messages into `sink`, `rate` messages per second (each
/// `message.done` [`HANDLING`] after its `message.received`), then flushes; returns the
/// process's CPU seconds spent.
async fn write_all(telemetry: &Telemetry, messages: usize, rate: u64) -> f64 {
    let cpu0 = cpu_of(Whose::Process(std::process::id()));
    let started = Instant::now();
    let mut handling: VecDeque<(Instant, usize, MessageContext)> = VecDeque::new();
    let mut next = 0;
    let mut written = 0;
    while next < messages || !handling.is_empty() {
        let now = Instant::now();
        let due = if rate == 0 {
            (next + CHUNK / 2).min(messages)
        } else {
            let elapsed = now.duration_since(started).as_secs_f64();
            ((elapsed * rate as f64) as usize).min(messages)
        };
        while next < due {
            let ctx = context(next);
            telemetry.emit(events::Received {
                ctx: &ctx,
                at: std::time::SystemTime::now(),
            });
            handling.push_back((now, next, ctx));
            next += 1;
            written += 1;
        }
        while let Some((at, _, _)) = handling.front() {
            if rate != 0 && now.duration_since(*at) < HANDLING && next < messages {
                break;
            }
            let Some((_, i, ctx)) = handling.pop_front() else {
                break;
            };
            telemetry.emit(done(&ctx, i));
            written += 1;
        }
        if rate == 0 {
            if written >= CHUNK {
                telemetry.flush().await;
                written = 0;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    telemetry.flush().await;
    cpu_of(Whose::Process(std::process::id())) - cpu0
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
    let sample = {
        let ctx = context(0);
        let event = done(&ctx, 0);
        let mut r = Record::new();
        event.fill(&mut r);
        r.encode(&origin).json().len()
    };
    let events = 2 * args.messages;
    println!(
        "local_store: messages={} ({events} events) rate={}/s rounds={} (one message.done: {sample} bytes of JSON)",
        args.messages, args.rate, args.rounds
    );
    let per_k = |x: f64| x * 1000.0 / events as f64;
    let (mut off, mut on, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
    let mut in_writer = Vec::new();
    let mut lookups = Vec::new();
    for round in 1..=args.rounds {
        let metrics = Arc::new(Metrics::new());
        let off_only = Telemetry::with(origin.clone(), metrics.clone(), stdout(&origin, &metrics));
        let cpu_off = write_all(&off_only, args.messages, args.rate).await;
        drop(off_only);

        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore {
            path: dir.path().join("logs.db"),
            max_size: 4 * 1024 * 1024 * 1024 - 1,
            max_age: Duration::from_secs(3600),
        };
        let sink = LocalSink::start(
            &store,
            stdout(&origin, &metrics),
            origin.clone(),
            metrics.clone(),
        )
        .unwrap();
        let with_store = Telemetry::with(origin.clone(), metrics, Arc::new(sink));
        let cpu_on = write_all(&with_store, args.messages, args.rate).await;
        let writer = cpu_of(Whose::Threads("ferry-log-store"));
        drop(with_store);
        let conn = rusqlite::Connection::open(&store.path).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        let stored: i64 = conn
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
            .unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let size = std::fs::metadata(&store.path).unwrap().len();
        let per_event = size as f64 / stored.max(1) as f64;
        // What reading one story costs in a store this full: a message in the middle.
        let middle: String = conn
            .query_row(
                "SELECT message_id FROM records WHERE id = (SELECT max(id) / 2 FROM records)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let reader = LogReader::open(&store.path).unwrap();
        let started = Instant::now();
        let story = reader
            .read(&LogQuery {
                message: Some(middle),
                limit: 100,
                ..LogQuery::default()
            })
            .unwrap();
        let lookup = started.elapsed();
        assert_eq!(story.len(), 2, "a message's story is its received and done");
        lookups.push(lookup.as_secs_f64() * 1000.0);
        println!(
            "round {round}: store off {:.4} s CPU per 1000 events; on {:.4} s ({:+.2} µs per event, {:.2} µs in its writer thread); {stored} stored, {per_event:.0} bytes per event in the file; one story read in {lookup:.1?}",
            per_k(cpu_off),
            per_k(cpu_on),
            (cpu_on - cpu_off) * 1e6 / events as f64,
            writer * 1e6 / events as f64
        );
        in_writer.push(writer * 1e6 / events as f64);
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
    let (w, x) = range(&in_writer);
    let (y, z) = range(&lookups);
    println!("store off: {a:.4}–{b:.4} s CPU per 1000 events");
    println!("store on:  {c:.4}–{d:.4} s CPU per 1000 events");
    println!("added:     {e:.2}–{g:.2} µs CPU per event");
    println!("writer:    {w:.2}–{x:.2} µs CPU per event in the store's writer thread");
    println!("file:      {h:.0}–{i:.0} bytes per event");
    println!("story:     {y:.1}–{z:.1} ms to read one message's story from the full store");
}
