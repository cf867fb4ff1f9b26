//! `elasticsearch_sink`: the cost of shipping log events to Elasticsearch. Builds N events
//! shaped like ferry's (`message.done` with the full message context), then writes them
//! through the real sink in this process — stamping, the disk spool, bulk requests,
//! response parsing — and measures this process's CPU time, the bulk bytes sent and the
//! wall time until Elasticsearch has confirmed them all. The same events through the stdout
//! sink (to /dev/null) give the baseline. Not a test: it prints figures (recorded in
//! docs/PERFORMANCE.md).
//!
//! `cargo run --release -p ferry-bench --features elasticsearch --bin elasticsearch_sink -- \
//!     --url http://127.0.0.1:9200 --events 100000`
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../cpu.rs"]
#[allow(dead_code)] // whole processes only: no thread of its own to count
mod cpu;
use cpu::{Whose, cpu_of};

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Parser;
use ferry::telemetry::{
    Event, Line, LogSink, MessageContext, Metrics, Origin, Record,
    elasticsearch::{ElasticsearchConfig, ElasticsearchSink},
    events,
    sink::StdoutSink,
};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "CPU and bytes per 1000 log events shipped to Elasticsearch")]
struct Args {
    /// Elasticsearch URL (default: $FERRY_TEST_ELASTICSEARCH_URL).
    #[arg(long, env = "FERRY_TEST_ELASTICSEARCH_URL")]
    url: String,
    /// Events to ship.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// `batch_max_events`.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
}

fn records(origin: &Origin, n: usize) -> Vec<Arc<Line>> {
    (0..n)
        .map(|i| {
            let ctx = MessageContext {
                subscription: "orders".into(),
                queue: "orders".into(),
                message_id: format!("0192f3a1-7c2e-7d41-9a55-{i:012}"),
                attempt: 1,
                realm: format!("client-{}", i % 50),
                trace_id: format!("{:032x}", i as u128 * 7919 + 1),
                span_id: format!("{:016x}", i as u64 * 104_729 + 1),
                series: None,
            };
            let done = events::Done {
                ctx: &ctx,
                duration: Duration::from_micros(1500 + (i as u64 % 1000)),
                published: i % 3,
            };
            let mut r = Record::new();
            done.fill(&mut r);
            Arc::new(r.encode(origin))
        })
        .collect()
}

/// Events written between two flushes: half of a sink's bounded queue.
const CHUNK: usize = ferry::telemetry::sink::QUEUE / 2;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let origin = Origin::new("bench", Some("1.0.0"));
    println!(
        "elasticsearch_sink: events={} batch_max_events={} url={}",
        args.events, args.batch, args.url
    );
    let sample = records(&origin, 1)[0].json().len();
    println!("one event: {sample} bytes of JSON");

    // Baseline: the stdout sink, into /dev/null.
    let devnull = std::fs::File::create("/dev/null").unwrap();
    let stdout = StdoutSink::to_writer(devnull, origin.clone(), Arc::new(Metrics::new()));
    let batch = records(&origin, args.events);
    let (cpu0, t0) = (cpu_of(Whose::Process(std::process::id())), Instant::now());
    // In chunks that fit the sink's bounded queue: a producer faster than the writer
    // would have records dropped (and counted) instead.
    for (i, r) in batch.into_iter().enumerate() {
        stdout.write(r);
        if i % CHUNK == CHUNK - 1 {
            stdout.flush().await;
        }
    }
    stdout.flush().await;
    let (cpu_stdout, wall_stdout) = (
        cpu_of(Whose::Process(std::process::id())) - cpu0,
        t0.elapsed(),
    );

    // The Elasticsearch sink, into a data stream of its own.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ElasticsearchConfig::new(&args.url);
    cfg.data_stream = format!("logs-ferry-bench-{}", std::process::id());
    cfg.spool_dir = dir.path().join("spool");
    cfg.reject_file = dir.path().join("rejects.ndjson");
    cfg.batch_max_events = args.batch;
    cfg.shutdown_timeout = Duration::from_secs(600);
    let metrics = Arc::new(Metrics::new());
    let sink = ElasticsearchSink::start(&cfg, origin.clone(), metrics.clone(), false).unwrap();
    // Install the templates (and create the data stream) before measuring.
    sink.write(records(&origin, 1).remove(0));
    sink.flush().await;
    let warm = metrics.logs.shipped.get();
    let (bytes0, requests0) = (
        metrics.logs.bytes_shipped.get(),
        metrics.logs.request_failures.get(),
    );
    let batch = records(&origin, args.events);
    let (cpu0, t0) = (cpu_of(Whose::Process(std::process::id())), Instant::now());
    for (i, r) in batch.into_iter().enumerate() {
        sink.write(r);
        if i % CHUNK == CHUNK - 1 {
            sink.flush().await;
        }
    }
    sink.flush().await;
    let (cpu_es, wall_es) = (
        cpu_of(Whose::Process(std::process::id())) - cpu0,
        t0.elapsed(),
    );
    let shipped = metrics.logs.shipped.get() - warm;
    let bytes = metrics.logs.bytes_shipped.get() - bytes0;
    assert_eq!(
        shipped as usize, args.events,
        "every event confirmed by Elasticsearch"
    );

    let per_k = |x: f64| x * 1000.0 / args.events as f64;
    println!(
        "stdout sink:        {:.3} s CPU per 1000 events, {:.0} events/s",
        per_k(cpu_stdout),
        args.events as f64 / wall_stdout.as_secs_f64()
    );
    println!(
        "elasticsearch sink: {:.3} s CPU per 1000 events, {:.0} events/s end to end",
        per_k(cpu_es),
        args.events as f64 / wall_es.as_secs_f64()
    );
    println!(
        "bulk bytes:         {:.0} KiB per 1000 events ({bytes} bytes in all)",
        per_k(bytes as f64) / 1024.0
    );
    println!(
        "failed requests:    {}",
        metrics.logs.request_failures.get() - requests0
    );
}
