//! What only the Pub/Sub backend has to show, on Google's Pub/Sub emulator: ordering keys
//! under retries, a handler longer than the subscription's ack deadline, attempts from a
//! native dead-letter policy's `delivery_attempt`, `ferry check` on such a policy, and a
//! stream that resumes after the emulator went away and came back.
#![cfg(feature = "pubsub")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    conformance::{dead_letters, publish, story},
    fixtures::{BackendFixture, OwnEmulator, Pubsub, SubSetup, emulator_host},
    ordering::{assert_in_order, two_keys},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_keys_hold_under_retries() {
    let ordered = SubSetup {
        ordering: true,
        ..SubSetup::default()
    };
    let f = Pubsub::on(&emulator_host(), ordered).await;
    f.create_queues(&["ps-order", "ps-order-errors"]).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(
            Sub::new("s")
                .set("queue", "\"ps-order\"")
                .set("max_in_flight", "8")
                .set("backoff", "{ min = \"200ms\", max = \"1s\" }"),
        )
        .spawn()
        .await;
    // Each call takes a moment, so the two keys overlap.
    let ids = f
        .backend()
        .await
        .publish(two_keys("ps-order", 100))
        .await
        .unwrap();
    assert_eventually!(
        ids.iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "all done"
    );
    let calls = worker.calls();
    assert_in_order(&calls);
    assert!(
        calls.iter().any(|c| c.concurrent >= 2),
        "the two keys did run side by side"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_longer_than_the_ack_deadline_is_delivered_once() {
    // The fixture's subscriptions have a 10 s ack deadline, Pub/Sub's minimum.
    let f = Pubsub::new().await;
    f.create_queues(&["ps-long", "ps-long-errors"]).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(
            Sub::new("s")
                .set("queue", "\"ps-long\"")
                .set("lease", "\"10s\"")
                .set("handler_timeout", "\"60s\""),
        )
        .spawn()
        .await;
    let id = publish(&f, "ps-long", "long", &[("t.sleep_ms", "14000")]).await;
    assert_eventually!(@within Duration::from_secs(60), ferry.count_for("message.done", &id) == 1, "done");
    assert_eq!(
        worker.calls_for("long").len(),
        1,
        "leased past its 10 s ack deadline by extension: never delivered a second time"
    );
    assert_eventually!(f.is_empty("ps-long").await, "acked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_come_from_delivery_attempt_under_a_native_policy() {
    let native = SubSetup {
        native_max_attempts: Some(10),
        ..SubSetup::default()
    };
    let f = Pubsub::on(&emulator_host(), native).await;
    f.create_queues(&["ps-native", "ps-native-errors"]).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(
            Sub::new("s")
                .set("queue", "\"ps-native\"")
                .set("max_attempts", "3")
                .set("backoff", "{ min = \"100ms\", max = \"1s\" }"),
        )
        .spawn()
        .await;
    let id = publish(&f, "ps-native", "doomed", &[("t.outcome", "retry")]).await;
    assert_eventually!(
        ferry.count_for("message.dead_lettered", &id) == 1,
        "dead-lettered by ferry, before the native policy's 10"
    );
    let attempts = worker.attempts_for("doomed");
    assert_eq!(attempts, [1, 2, 3], "delivery_attempt as the attempt");
    let letters = dead_letters(&f, "ps-native").await;
    assert_eq!(letters.len(), 1);
    let s = story(&letters[0]);
    assert_eq!(
        (
            s["attempts"].as_str(),
            s["reason"].as_str(),
            s["last_error"].as_str()
        ),
        ("3", "max_attempts", "always failing")
    );

    // ferry check warns when the native policy would dead-letter first.
    let strict = SubSetup {
        native_max_attempts: Some(5),
        ..SubSetup::default()
    };
    f.create("ps-native-strict", &strict).await;
    let dir = tempfile::tempdir().unwrap();
    let path = f.config_file(
        &dir,
        Sub::new("s")
            .set("queue", "\"ps-native-strict\"")
            .set("max_attempts", "5"),
    );
    let out = ferry_tests::ferry::run_cli(&path, &["check"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "a warning, not an error: {err}");
    assert!(
        err.contains("dead-letter policy") && err.contains("after 5 delivery attempts"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumption_resumes_after_the_emulator_restarts() {
    let mut emulator = OwnEmulator::start().await;
    let f = Pubsub::on(&emulator.host(), SubSetup::default()).await;
    f.create_queues(&["ps-restart", "ps-restart-errors"]).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(Sub::new("s").set("queue", "\"ps-restart\""))
        .spawn()
        .await;
    let mut before = Vec::new();
    for i in 0..5 {
        before.push(publish(&f, "ps-restart", &format!("before{i}"), &[]).await);
    }
    assert_eventually!(
        before
            .iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "consumed before the restart"
    );

    emulator.stop().await;
    assert_eventually!(
        !ferry.events_of("receive.failed").is_empty(),
        "the broken stream is reported, not silent"
    );
    // The emulator keeps nothing: it comes back empty and the queues are created again.
    emulator.restart().await;
    f.create_queues(&["ps-restart", "ps-restart-errors"]).await;
    let mut after = Vec::new();
    for i in 0..5 {
        after.push(publish(&f, "ps-restart", &format!("after{i}"), &[]).await);
    }
    assert_eventually!(@within Duration::from_secs(60),
        after.iter().all(|id| ferry.count_for("message.done", id) == 1),
        "consumption resumed on a re-opened stream"
    );
    let failed = ferry.events_of("receive.failed");
    assert!(
        failed
            .iter()
            .any(|e| e["message"].as_str().unwrap_or("").contains("ps-restart")),
        "the failure names the subscription: {failed:?}"
    );
}
