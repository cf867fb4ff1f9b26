//! `ferry-bench`: pushes N messages through the real `ferry` binary (release build) and a
//! no-op worker — `ferry-sdk` in this process, or with `--worker node` the `@ferry/sdk` one
//! as a `node` process — then prints messages/s, the added latency from ferry's receive to
//! the worker's `Handle` start (p50, p99), the worker's and ferry's CPU seconds per 1000
//! messages and ferry's peak RSS. Not a test: it prints figures (recorded in
//! docs/PERFORMANCE.md).
//!
//! `cargo run --release -p ferry-bench -- --messages 20000 --backend embedded`
//! `cargo run --release -p ferry-bench -- --worker node` (builds `examples/node` with npm)
//! `cargo run --release -p ferry-bench --features sqs -- --backend sqs --baseline` (with
//! `FERRY_TEST_SQS_ENDPOINT` from `scripts/servers/elasticmq.sh`): also runs a direct
//! aws-sdk-sqs consumer with the same limits and prints the ratio. `--server-pid
//! "$FERRY_TEST_SQS_SERVER_PID"` adds the server's CPU; `--pin` gives it a core of its own.
//! `cargo run --release -p ferry-bench --features pubsub --bin ferry-bench -- --backend
//! pubsub --baseline` (with `FERRY_TEST_PUBSUB_EMULATOR_HOST` from
//! `scripts/servers/pubsub.sh`): also runs a direct gcloud-pubsub streaming-pull consumer
//! with the same limits and batched acks, and prints the ratio.
//! `--rate N` publishes the messages at N per second while ferry runs (embedded: through
//! ferry's gateway), instead of loading them first: latency below saturation, and from
//! publish to `Handle`.
//! `FERRY_BENCH_LATENCY_DUMP=<file>` writes each message's receive time and added latency
//! there, to see where the slow ones fall in time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backends;
#[cfg(feature = "sqs")]
mod baseline;
#[cfg(feature = "pubsub")]
mod baseline_pubsub;
mod cpu;
mod instructions;
mod measure;
mod node_worker;
mod paced;
mod pin;
mod worker;

use std::time::{Duration, Instant};

use clap::Parser;
use ferry::cli::runtime::Threads;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Throughput benchmark for ferry")]
struct Args {
    /// Which backend to run through.
    #[arg(long, default_value = "embedded")]
    backend: String,
    /// Which no-op worker ferry calls: the Rust SDK's (in this process) or the Node SDK's.
    #[arg(long, value_enum, default_value = "rust")]
    worker: worker::WorkerKind,
    /// Messages to push.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// The subscription's max_in_flight.
    #[arg(long, default_value_t = 64)]
    max_in_flight: u32,
    /// The subscription's batch_size.
    #[arg(long, default_value_t = 10)]
    batch: u32,
    /// Payload size in bytes.
    #[arg(long, default_value_t = 256)]
    payload_bytes: usize,
    /// Also run the direct-consumer baseline on the same backend (sqs, pubsub) and print
    /// the ratio.
    #[arg(long)]
    baseline: bool,
    /// StreamingPull streams per subscription (pubsub): written into ferry's config as
    /// `backend.pubsub.streams`, and opened by the baseline. Unset: ferry's default, which
    /// the baseline opens too (and nothing is written, so an older ferry runs as well).
    #[arg(long)]
    streams: Option<usize>,
    /// ferry's runtime threads: written into ferry's config as `runtime.threads`. Unset:
    /// ferry's default (one), and nothing is written, so an older ferry runs as well.
    #[arg(long)]
    threads: Option<u32>,
    /// Threads of the runtime the baseline consumer runs on (this process's main runtime):
    /// 1 is tokio's current-thread scheduler, like ferry's default. Unset: one worker per
    /// core, what `#[tokio::main]` gives a team's consumer.
    #[arg(long)]
    consumer_threads: Option<u32>,
    /// Threads of the in-process Rust worker's runtime: 1 is tokio's current-thread
    /// scheduler, as the SDK's examples run; 2 is what `#[tokio::main]` gives a worker on
    /// this two-core machine.
    #[arg(long, default_value_t = 1)]
    worker_threads: u32,
    /// The queue server's process id (ElasticMQ's or the emulator's, printed by
    /// `scripts/servers/*.sh start`): also print its CPU per 1000 messages in each run.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Give the queue server (`--server-pid`) the last CPU and run ferry, the worker and
    /// the baseline on the others, so that they do not compete with the server for CPU.
    #[arg(long, requires = "server_pid")]
    pin: bool,
    /// Count ferry's instructions per message with callgrind (runs `--messages` and twice
    /// as many; 2000 is plenty) instead of timing it.
    #[arg(long)]
    instructions: bool,
    /// Publish the messages at this many per second while ferry runs, instead of loading
    /// them all before it starts (on the embedded queue through ferry's gateway): latency
    /// measured below saturation, where receives bring one or two messages, plus the
    /// latency from the publish call's return to `Handle` start. At most 10 000.
    #[arg(long, conflicts_with_all = ["baseline", "instructions"],
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    rate: Option<u32>,
}

/// CPU seconds of the queue server (if `--server-pid` was given) and of the process doing
/// the client's work (the worker's side of the gRPC calls — this process or the Node
/// worker's — or the baseline consumer), read around one run.
struct Cpu {
    server: Option<f64>,
    whose: cpu::Whose,
    client: f64,
}

impl Cpu {
    fn now(args: &Args, whose: cpu::Whose) -> Self {
        Self {
            server: args
                .server_pid
                .map(|pid| measure::usage_of(pid).cpu_seconds),
            whose,
            client: cpu::cpu_of(whose),
        }
    }

    /// Prints what was spent since `self`, per 1000 of `n` messages.
    fn print_since(&self, args: &Args, n: f64, client_is: &str) {
        let now = Self::now(args, self.whose);
        println!(
            "{client_is:<23}{:.3} s per 1000 messages",
            (now.client - self.client) / n * 1000.0
        );
        if let (Some(before), Some(after)) = (self.server, now.server) {
            println!(
                "queue server CPU:      {:.3} s per 1000 messages",
                (after - before) / n * 1000.0
            );
        }
    }
}

fn main() {
    let args = Args::parse();
    let machine = measure::machine();
    // Pinned before the runtime starts: its threads, and ferry, inherit the affinity.
    let _pinned = match (args.pin, args.server_pid) {
        (true, Some(pid)) => Some(pin::pin(pid).unwrap_or_else(|e| panic!("{e}"))),
        _ => None,
    };
    let threads = args
        .consumer_threads
        .map_or(Threads::PerCore, Threads::Exactly);
    ferry::cli::runtime::build(threads)
        .expect("starting the runtime")
        .block_on(run(args, machine));
}

async fn run(args: Args, machine: String) {
    let backend = backends::open(&args.backend).await;
    let worker = worker::BenchWorker::start(args.worker, args.messages, args.worker_threads).await;
    println!(
        "ferry-bench: backend={} worker={:?} messages={} max_in_flight={} batch={} payload={}B threads={}",
        args.backend,
        args.worker,
        args.messages,
        args.max_in_flight,
        args.batch,
        args.payload_bytes,
        args.threads
            .map_or_else(|| "ferry's default".to_owned(), |n| n.to_string())
    );
    println!("machine: {machine}");

    // The baseline runs before and after ferry (its figure is the mean), so neither side
    // gets the server warmer than the other.
    let before = if args.baseline {
        Some(run_baseline(&backend, &args, "before").await)
    } else {
        None
    };
    let mut backend_toml = backend.config_toml().to_owned();
    if let (true, Some(n)) = (args.backend == "pubsub", args.streams) {
        backend_toml.push_str(&format!("streams = {n}\n"));
    }
    let runtime_toml = args
        .threads
        .map_or_else(String::new, |n| format!("[runtime]\nthreads = {n}\n"));
    // Paced on the embedded queue, the messages are published through ferry's gateway.
    let gateway = (args.rate.is_some() && args.backend == "embedded").then(free_address);
    let gateway_toml = gateway.as_ref().map_or_else(
        || "[gateway]\nenabled = false\n".to_owned(),
        |addr| format!("[gateway]\nenabled = true\nlisten = \"{addr}\"\n"),
    );
    let config_for = |queue: &str| {
        format!(
            "service = \"bench\"\n[worker]\naddress = \"{}\"\n{gateway_toml}[admin]\nenabled = false\n{}\n{}\
             [subscriptions.bench]\nqueue = \"{queue}\"\nmax_in_flight = {}\nbatch_size = {}\nreceive_wait = \"200ms\"\n",
            worker.url(),
            backend_toml,
            runtime_toml,
            args.max_in_flight,
            args.batch
        )
    };
    if args.instructions {
        instructions::run(
            &backend,
            &worker,
            &config_for,
            args.messages,
            args.payload_bytes,
        )
        .await;
        worker.stop().await;
        return;
    }
    let queue = format!("bench-{}", std::process::id());
    backend.create(&queue).await;
    if args.rate.is_none() {
        let loaded = Instant::now();
        backend
            .load(&queue, args.messages, args.payload_bytes)
            .await;
        println!(
            "loaded {} messages in {:.1?}",
            args.messages,
            loaded.elapsed()
        );
    }

    let run = measure::FerryRun::start(&config_for(&queue), backend.features()).await;
    let (worker_whose, worker_cpu_is) = worker.process();
    let cpu = Cpu::now(&args, worker_whose);
    let started = Instant::now();
    let published = match args.rate {
        Some(rate) => {
            let publisher = match &gateway {
                Some(addr) => paced::Publisher::gateway(&format!("http://{addr}")).await,
                None => paced::Publisher::Backend(&backend),
            };
            println!("publishing {} messages at {rate}/s", args.messages);
            paced::publish(&publisher, &queue, args.messages, args.payload_bytes, rate).await
        }
        None => std::collections::HashMap::new(),
    };
    let deadline = started + Duration::from_secs(1800);
    while !worker.handled(args.messages) {
        assert!(
            Instant::now() < deadline,
            "not all messages were handled within 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let with_start_up = started.elapsed();
    let usage = run.usage();
    let n = args.messages as f64;
    println!("\n== results ({})", args.backend);
    cpu.print_since(&args, n, worker_cpu_is);
    if let (worker::BenchWorker::Node(_), cpu::Whose::Process(pid)) = (&worker, worker_whose) {
        let rss = measure::usage_of(pid).peak_rss_kib;
        println!("worker peak RSS:       {:.1} MiB", rss as f64 / 1024.0);
    }
    let events = run.stop().await;
    let latency = measure::latencies(&events.received, &worker.starts());
    let elapsed = events.working().unwrap_or(with_start_up);
    println!(
        "throughput:            {:.0} messages/s ({} in {:.2?}, ferry.started to the last message.done)",
        n / elapsed.as_secs_f64(),
        args.messages,
        elapsed
    );
    println!(
        "  with start-up:       {:.0} messages/s ({:.2?} from spawning ferry)",
        n / with_start_up.as_secs_f64(),
        with_start_up
    );
    println!(
        "added latency p50:     {:.2?} (ferry receive -> Handle start)",
        latency.p50
    );
    println!("added latency p99:     {:.2?}", latency.p99);
    if args.rate.is_some() {
        let starts = worker.starts();
        let end_to_end = measure::percentiles(&published, &starts);
        println!(
            "publish to Handle p50: {:.2?} (the publish call returned -> Handle start; {} of {} matched)",
            end_to_end.p50,
            published
                .keys()
                .filter(|id| starts.contains_key(*id))
                .count(),
            args.messages
        );
        println!("publish to Handle p99: {:.2?}", end_to_end.p99);
    }
    println!(
        "ferry CPU:             {:.3} s per 1000 messages ({:.2} s total)",
        usage.cpu_seconds / n * 1000.0,
        usage.cpu_seconds
    );
    println!(
        "ferry peak RSS:        {:.1} MiB",
        usage.peak_rss_kib as f64 / 1024.0
    );
    backend.finish(&queue).await;
    worker.stop().await;
    if let Some(before) = before {
        let after = run_baseline(&backend, &args, "after").await;
        let baseline = (before + after) / 2.0;
        println!(
            "\nratio ferry/baseline:  {:.2} (ferry {:.0}/s, baseline mean {baseline:.0}/s)",
            n / elapsed.as_secs_f64() / baseline,
            n / elapsed.as_secs_f64()
        );
    }
}

/// `127.0.0.1:<a port free now>`.
fn free_address() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
}

/// Runs the direct-consumer baseline on a queue of its own and prints the comparison.
async fn run_baseline(backend: &backends::BenchBackend, args: &Args, when: &str) -> f64 {
    let queue = format!("bench-baseline-{when}-{}", std::process::id());
    backend.create(&queue).await;
    backend
        .load(&queue, args.messages, args.payload_bytes)
        .await;
    let cpu = Cpu::now(args, cpu::Whose::Process(std::process::id()));
    let (elapsed, what) = consume_baseline(backend, args, &queue).await;
    let n = args.messages as f64;
    let rate = n / elapsed.as_secs_f64();
    println!("\n== baseline {when} ferry ({what}, same limits, in-process no-op handler)");
    println!(
        "throughput:            {rate:.0} messages/s ({} in {elapsed:.2?})",
        args.messages
    );
    cpu.print_since(args, n, "consumer CPU:");
    backend.finish(&queue).await;
    rate
}

/// The streams per subscription of `--streams`, else ferry's default.
#[cfg(feature = "pubsub")]
fn pubsub_streams(args: &Args) -> usize {
    args.streams.unwrap_or_else(|| {
        ferry::backend::pubsub::PubsubConfig::new("default")
            .streams
            .usize()
    })
}

/// Runs the baseline consumer of the backend under benchmark on `queue`.
#[allow(unused_variables, unreachable_code)]
async fn consume_baseline(
    backend: &backends::BenchBackend,
    args: &Args,
    queue: &str,
) -> (Duration, &'static str) {
    #[cfg(feature = "sqs")]
    if let Some(sqs) = backend.sqs() {
        let url = sqs.queue_url(queue).await.unwrap();
        let b = baseline::consume(
            sqs.client(),
            &url,
            args.messages,
            args.max_in_flight as usize,
            args.batch as usize,
        )
        .await;
        return (b.elapsed, "direct aws-sdk-sqs consumer");
    }
    #[cfg(feature = "pubsub")]
    if let Some(client) = backend.pubsub() {
        let b = baseline_pubsub::consume(
            client,
            queue,
            args.messages,
            args.max_in_flight as usize,
            backends::PUBSUB_ACK_DEADLINE,
            Duration::from_millis(5),
            pubsub_streams(args),
        )
        .await;
        return (
            b.elapsed,
            "direct gcloud-pubsub streaming-pull consumer, batched acks",
        );
    }
    panic!("--baseline needs --backend sqs or pubsub, built with that feature");
}
