//! ferry's memory stays bounded whatever the input: realm values (tenant keys from message
//! attributes) cannot grow the metrics without bound, and a stdout nobody reads turns into
//! counted, reported drops instead of heap.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashSet;

use ferry::backend::NewMessage;
use ferry_tests::{
    Sub, TestWorker, assert_eventually,
    conformance::ferry_on,
    fixtures::{BackendFixture, Embedded},
};

/// The default of `metrics.max_realms`.
const MAX_REALMS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_realms_stay_under_the_label_cap() {
    const REALMS: usize = 5000;
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let messages = (0..REALMS)
        .map(|i| {
            NewMessage::new("q-realms", format!("m{i}")).attribute("realm", format!("tenant-{i}"))
        })
        .collect();
    f.backend().await.publish(messages).await.unwrap();
    let ferry = ferry_on(&f, &worker.url(), &["q-realms"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-realms\"")
                .set("max_in_flight", "64"),
        )
        .spawn()
        .await;
    assert_eventually!(
        @within std::time::Duration::from_secs(120),
        ferry.events_of("message.done").len() == REALMS,
        "all {REALMS} done"
    );
    let (_, metrics) = ferry.admin_get("/metrics").await;
    let realms: HashSet<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("ferry_messages_done_total{"))
        .filter_map(|l| l.split("realm=\"").nth(1)?.split('"').next())
        .collect();
    assert!(
        realms.len() <= MAX_REALMS + 1,
        "{} realm label values on /metrics",
        realms.len()
    );
    assert!(realms.contains("_other"), "the rest is counted as _other");
    let done: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("ferry_messages_done_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(done as usize, REALMS, "every message is still counted");
    // Log records keep the real realm.
    assert!(
        ferry
            .events_of("message.done")
            .iter()
            .any(|e| e["ferry.realm"] == "tenant-4999")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_stdout_keeps_memory_bounded_and_reports_what_it_dropped() {
    const MESSAGES: usize = 20_000;
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let ferry = ferry_on(&f, &worker.url(), &["q-stdout"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-stdout\"")
                .set("max_in_flight", "64"),
        )
        .spawn()
        .await;
    let warm = (0..100)
        .map(|i| NewMessage::new("q-stdout", format!("w{i}")))
        .collect();
    f.backend().await.publish(warm).await.unwrap();
    assert_eventually!(ferry.events_of("message.done").len() == 100, "warm-up done");
    let (before, _) = ferry.memory_kib();
    ferry.pause_stdout();
    let messages = (0..MESSAGES)
        .map(|i| NewMessage::new("q-stdout", format!("m{i}")))
        .collect();
    f.backend().await.publish(messages).await.unwrap();
    assert_eventually!(
        @within std::time::Duration::from_secs(240),
        worker.finished() == MESSAGES + 100 && f.is_empty("q-stdout").await,
        "every message handled while stdout is blocked"
    );
    let (_, peak) = ferry.memory_kib();
    ferry.resume_stdout();
    let grown_mib = peak.saturating_sub(before) / 1024;
    assert!(
        grown_mib < 48,
        "peak RSS grew by {grown_mib} MiB (from {before} KiB) while stdout was blocked"
    );
    // What could not be written is counted and reported once stdout moves again.
    assert_eventually!(
        !ferry.events_of("logs.dropped").is_empty(),
        "a logs.dropped event"
    );
    let reported: u64 = ferry
        .events_of("logs.dropped")
        .iter()
        .map(|e| e["ferry.logs.dropped"].as_u64().unwrap())
        .sum();
    assert!(reported > 0);
    let (_, metrics) = ferry.admin_get("/metrics").await;
    let counted = metrics
        .lines()
        .find(|l| l.starts_with("ferry_log_queue_dropped_total{sink=\"stdout\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no stdout drop counter in:\n{metrics}"));
    assert_eq!(counted as u64, reported, "counted and reported agree");
    assert!(ferry.not_json().is_empty(), "{:?}", ferry.not_json());
}
