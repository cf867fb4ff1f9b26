//! Conformance cases: leases and admission limits (in flight, per realm, rate).

use std::time::Duration;

use super::{ferry_on, publish};
use crate::{Sub, TestWorker, assert_eventually, fixtures::BackendFixture};

pub async fn slow_handler_is_delivered_once(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-slow"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-slow\"")
                .set("lease", "\"1s\"")
                .set("handler_timeout", "\"20s\""),
        )
        .spawn()
        .await;
    // Runs for 3.5 leases: without lease extension it would be delivered again.
    let id = publish(f, "q-slow", "slow", &[("t.sleep_ms", "3500")]).await;
    assert_eventually!(
        ferry.count_for("message.done", &id) == 1,
        "slow message done"
    );
    assert_eq!(worker.calls_for("slow").len(), 1, "delivered exactly once");
    let (_, metrics) = ferry.admin_get("/metrics").await;
    let extensions: u64 = metrics
        .lines()
        .find(|l| l.starts_with("ferry_lease_extensions_total{subscription=\"s\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(
        extensions >= 3,
        "the lease was extended while the handler ran ({extensions})"
    );
}

pub async fn concurrency_limits_hold(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-conc"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-conc\"")
                .set("max_in_flight", "4")
                .set("max_in_flight_per_realm", "2"),
        )
        .spawn()
        .await;
    let mut ids = Vec::new();
    for i in 0..24 {
        let realm = ["a", "b", "c"][i % 3];
        ids.push(
            publish(
                f,
                "q-conc",
                &format!("m{i}"),
                &[("realm", realm), ("t.sleep_ms", "150")],
            )
            .await,
        );
    }
    assert_eventually!(
        ids.iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "all done"
    );
    let calls = worker.calls();
    let max = calls.iter().map(|c| c.concurrent).max().unwrap();
    let max_realm = calls.iter().map(|c| c.concurrent_in_realm).max().unwrap();
    assert!(max <= 4, "{max} concurrent calls with max_in_flight = 4");
    assert!(
        max_realm <= 2,
        "{max_realm} concurrent calls of one realm with max_in_flight_per_realm = 2"
    );
    assert!(max >= 2, "calls did run concurrently ({max})");
}

pub async fn busy_realm_does_not_starve_others(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-fair"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-fair\"")
                .set("max_in_flight", "4")
                .set("max_in_flight_per_realm", "1"),
        )
        .spawn()
        .await;
    let mut busy = Vec::new();
    for i in 0..10 {
        busy.push(
            publish(
                f,
                "q-fair",
                &format!("busy{i}"),
                &[("realm", "busy"), ("t.sleep_ms", "400")],
            )
            .await,
        );
    }
    let mut quiet = Vec::new();
    for i in 0..3 {
        quiet.push(publish(f, "q-fair", &format!("quiet{i}"), &[("realm", "quiet")]).await);
    }
    assert_eventually!(
        quiet
            .iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "quiet realm done"
    );
    let calls = worker.calls();
    let busy_started = calls.iter().filter(|c| c.realm == "busy").count();
    assert!(
        busy_started < 10,
        "the quiet realm waited for the busy realm ({busy_started} busy calls first)"
    );
    assert!(
        ferry
            .events_of("message.handed_back")
            .iter()
            .any(|e| e["ferry.hand_back_reason"] == "realm_busy")
    );
    assert_eventually!(
        busy.iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "busy realm done too"
    );
    let attempts: Vec<u32> = worker
        .calls()
        .iter()
        .filter(|c| c.realm == "busy")
        .map(|c| c.attempt)
        .collect();
    assert!(
        attempts.iter().all(|a| *a == 1),
        "hand-backs for a busy realm burn no attempts: {attempts:?}"
    );
}

pub async fn rate_limit_holds(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-rate"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-rate\"")
                .set("rate_limit", "10.0"),
        )
        .spawn()
        .await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(publish(f, "q-rate", &format!("r{i}"), &[]).await);
    }
    assert_eventually!(
        ids.iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "all done"
    );
    let mut starts: Vec<_> = worker.calls().iter().map(|c| c.started).collect();
    starts.sort();
    let span = *starts.last().unwrap() - starts[0];
    // 12 starts at 10/s with a burst of 1 need 11 intervals (1.1 s) of tokens. The token is
    // taken before the receive (so that a message held waiting for it is always leased):
    // when the first message arrives after its token was taken, the second starts at once
    // on the next token, so the starts span 10 intervals; the worker's clock sees each call
    // a little after its token. At least 9 intervals: an unlimited or bursting ferry starts
    // all 12 within a few milliseconds, a doubled rate in 0.55 s.
    assert!(
        span >= Duration::from_millis(900),
        "12 messages started within {span:?} at 10/s"
    );
}
