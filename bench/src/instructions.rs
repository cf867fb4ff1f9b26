//! `ferry-bench --instructions`: the one figure noise cannot move — the instructions ferry
//! executes per message, counted by `valgrind --tool=callgrind` (this machine has no
//! hardware counters for `perf stat -e instructions`). Ferry runs under callgrind twice,
//! with N and 2N messages; the difference of the two totals divided by N is the cost of a
//! message, without ferry's start-up and shutdown. Same binary, same inputs: the same
//! count on a quiet or a busy machine, so a change is judged by it.

use std::{path::Path, time::Duration};

use crate::{backends::BenchBackend, measure, worker::BenchWorker};

/// The callgrind total (`summary:` line) of the run written to `file`.
fn total_instructions(file: &Path) -> u64 {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("reading callgrind's output {}: {e}", file.display()));
    text.lines()
        .find_map(|l| l.strip_prefix("summary:"))
        .or_else(|| text.lines().find_map(|l| l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no instruction total in {}", file.display()))
}

/// Runs `messages` through ferry under callgrind; returns ferry's total instructions.
async fn one_run(
    backend: &BenchBackend,
    worker: &BenchWorker,
    config_for: &dyn Fn(&str) -> String,
    messages: usize,
    payload_bytes: usize,
    handled_before: usize,
) -> u64 {
    let queue = format!("bench-ir-{messages}-{}", std::process::id());
    backend.create(&queue).await;
    backend.load(&queue, messages, payload_bytes).await;
    let dir = tempfile::tempdir().unwrap();
    // FERRY_BENCH_CALLGRIND_DIR keeps the profiles there (for callgrind_annotate).
    let out = std::env::var_os("FERRY_BENCH_CALLGRIND_DIR").map_or_else(
        || dir.path().join("callgrind.out"),
        |keep| std::path::PathBuf::from(keep).join(format!("callgrind.{messages}.out")),
    );
    let run = measure::FerryRun::start_wrapped(
        &config_for(&queue),
        backend.features(),
        &[
            "valgrind",
            "--tool=callgrind",
            &format!("--callgrind-out-file={}", out.display()),
        ],
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(1800);
    while !worker.handled(handled_before + messages) {
        assert!(
            std::time::Instant::now() < deadline,
            "not all handled in 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run.stop().await;
    backend.finish(&queue).await;
    total_instructions(&out)
}

/// Prints ferry's instructions per message over `n` and `2n` messages.
pub async fn run(
    backend: &BenchBackend,
    worker: &BenchWorker,
    config_for: &dyn Fn(&str) -> String,
    n: usize,
    payload_bytes: usize,
) {
    println!(
        "counting instructions with callgrind: {n} then {} messages",
        2 * n
    );
    let small = one_run(backend, worker, config_for, n, payload_bytes, 0).await;
    let large = one_run(backend, worker, config_for, 2 * n, payload_bytes, n).await;
    let per_message = large.saturating_sub(small) as f64 / n as f64;
    println!("ferry instructions, {n} messages:      {small}");
    println!("ferry instructions, {} messages:      {large}", 2 * n);
    println!("ferry instructions per message:   {per_message:.0}");
}
