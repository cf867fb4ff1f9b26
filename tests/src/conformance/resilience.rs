//! Conformance cases: the worker going away, draining shutdown, and a crash of ferry.

use nix::sys::signal::Signal;

use super::{ferry_on, publish};
use crate::{Sub, TestWorker, assert_eventually, fixtures::BackendFixture};

pub async fn worker_down_burns_no_attempts(f: &dyn BackendFixture) {
    let mut worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-down"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-down\"")
                .set("max_attempts", "2"),
        )
        .spawn()
        .await;
    let slow = publish(f, "q-down", "in flight", &[("t.sleep_ms", "60000")]).await;
    assert_eventually!(
        worker.calls_for("in flight").len() == 1,
        "slow call started"
    );
    worker.crash().await;
    assert_eventually!(
        ferry
            .events_of("message.handed_back")
            .iter()
            .any(|e| e["ferry.message_id"] == slow.as_str()
                && e["ferry.hand_back_reason"] == "worker_unavailable"),
        "the in-flight message is handed back"
    );
    assert_eventually!(
        ferry.admin_get("/readyz").await.0 == 503,
        "not ready while the worker is down"
    );
    let mut later = Vec::new();
    for i in 0..3 {
        later.push(publish(f, "q-down", &format!("while down {i}"), &[]).await);
    }
    assert_eventually!(
        f.ready("q-down").await == 4,
        "nothing is pulled while the worker is down"
    );
    if let Some(leased) = f.in_flight("q-down").await {
        assert_eq!(leased, 0);
    }
    worker.restart().await;
    assert_eventually!(
        later
            .iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "resumed when the worker returned"
    );
    let again = worker.calls_for("in flight");
    assert_eq!(
        again.len(),
        2,
        "the handed-back message was delivered again"
    );
    assert_eq!(again[1].attempt, 1, "the crash did not burn an attempt");
    for c in worker
        .calls()
        .iter()
        .filter(|c| c.payload.starts_with("while down"))
    {
        assert_eq!(
            c.attempt, 1,
            "{} arrived as attempt {}",
            c.payload, c.attempt
        );
    }
}

pub async fn sigterm_drains_in_flight(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let mut ferry = ferry_on(f, &worker.url(), &["q-drain"])
        .await
        .toml("[shutdown]\ngrace = \"20s\"")
        .sub(
            Sub::new("s")
                .set("queue", "\"q-drain\"")
                .set("max_in_flight", "2")
                .set("batch_size", "1"),
        )
        .spawn()
        .await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(publish(f, "q-drain", &format!("d{i}"), &[("t.sleep_ms", "800")]).await);
    }
    assert_eventually!(worker.calls().len() >= 2, "two calls running");
    ferry.signal(Signal::SIGTERM);
    let status = ferry.wait().await;
    assert!(status.success(), "ferry exits 0 after draining: {status:?}");
    let calls = worker.calls();
    assert!(
        calls.iter().all(|c| c.finished.is_some()),
        "every started call finished before exit"
    );
    let done = ids
        .iter()
        .filter(|id| ferry.count_for("message.done", id) == 1)
        .count();
    assert_eq!(done, calls.len(), "every started call was settled");
    assert!(
        ferry.events_of("message.handed_back").is_empty(),
        "nothing needed handing back within the grace period"
    );
    let ready = f.ready("q-drain").await;
    assert_eq!(
        done as u64 + ready,
        6,
        "nothing lost: {done} done, {ready} ready"
    );
    if let Some(leased) = f.in_flight("q-drain").await {
        assert_eq!(leased, 0, "no message left leased");
    }
    assert!(ferry.events_of("ferry.stopped").len() == 1);
}

pub async fn sigterm_hands_back_after_grace(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let builder = ferry_on(f, &worker.url(), &["q-grace"])
        .await
        .toml("[shutdown]\ngrace = \"300ms\"")
        .sub(
            Sub::new("s")
                .set("queue", "\"q-grace\"")
                .set("handler_timeout", "\"60s\""),
        );
    let config = builder.config();
    let mut ferry = builder.spawn().await;
    let id = publish(f, "q-grace", "too slow", &[("t.sleep_ms", "60000")]).await;
    assert_eventually!(worker.calls_for("too slow").len() == 1, "call started");
    ferry.signal(Signal::SIGTERM);
    assert!(ferry.wait().await.success());
    assert_eq!(ferry.count_for("message.handed_back", &id), 1);
    let ready = f.ready("q-grace").await;
    let leased = f.in_flight("q-grace").await.unwrap_or(0);
    assert_eq!(
        (ready, leased),
        (1, 0),
        "handed back at once (visible now), not left leased"
    );
    // A new ferry gets it again as attempt 1: the shutdown did not count.
    let again = crate::FerryBuilder::from_config(config).spawn().await;
    assert_eventually!(
        worker.calls_for("too slow").len() == 2,
        "delivered again after restart"
    );
    assert_eq!(worker.calls_for("too slow")[1].attempt, 1);
    drop(again);
}

pub async fn kill9_then_restart_loses_nothing(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let builder = ferry_on(f, &worker.url(), &["q-kill"]).await.sub(
        Sub::new("s")
            .set("queue", "\"q-kill\"")
            .set("lease", "\"1s\"")
            .set("max_in_flight", "4"),
    );
    let config = builder.config();
    let mut ferry = builder.spawn().await;
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(publish(f, "q-kill", &format!("k{i}"), &[("t.sleep_ms", "50")]).await);
    }
    assert_eventually!(
        worker.finished() >= 10,
        "some messages processed before the crash"
    );
    ferry.signal(Signal::SIGKILL);
    ferry.wait().await;
    let killed = std::time::Instant::now();
    let _second = crate::FerryBuilder::from_config(config).spawn().await;
    let all_finished = || {
        let calls = worker.calls();
        let mut seen: Vec<&str> = calls
            .iter()
            .filter(|c| c.finished.is_some())
            .map(|c| c.payload.as_str())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len() == 40
    };
    // Every message processed, then the queue found empty (a backend that buffers leased
    // messages, like Pub/Sub's streaming pull, can look empty before it has processed them).
    assert_eventually!(@within f.crash_redelivery_window(), all_finished() && f.is_empty("q-kill").await, "queue drained after restart");
    let calls = worker.calls();
    let mut seen: Vec<&str> = calls
        .iter()
        .filter(|c| c.finished.is_some())
        .map(|c| c.payload.as_str())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 40, "every message was processed");
    let duplicates = calls.len() - 40;
    println!(
        "kill -9 mid-stream: {} calls for 40 messages ({duplicates} redelivered after the crash); \
         all processed {:?} after the crash",
        calls.len(),
        killed.elapsed()
    );
    assert!(
        duplicates <= 4,
        "only messages in flight at the crash (max_in_flight = 4) are redelivered, got {duplicates}"
    );
}
