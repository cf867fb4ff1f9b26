//! The Pub/Sub retry path, on Google's Pub/Sub emulator: a message retried, handed back or
//! redriven for one subscription reaches that subscription alone (an observer subscription
//! on the same topic sees each published message once), attempts on an ordered key count
//! only what the worker was given, a copy keeps the first publish time, and a subscription
//! without its retry resources is reported before ferry starts.
#![cfg(feature = "pubsub")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;

use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    conformance::{dead_letters, publish},
    ferry::assert_run_refuses_and_check_warns,
    fixtures::{BackendFixture, Pubsub, SubSetup, emulator_host},
    ordering::keyed,
};
use nix::sys::signal::Signal;

/// The payloads the observer `id` received, each with how often, after asserting that none
/// carries a `ferry.*` attribute.
async fn observed(f: &Pubsub, id: &str) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for m in f.drain(id).await {
        let internal: Vec<&String> = m
            .attributes
            .keys()
            .filter(|k| k.starts_with("ferry."))
            .collect();
        assert!(
            internal.is_empty(),
            "the observer got ferry's internal attributes {internal:?}"
        );
        *seen
            .entry(String::from_utf8_lossy(&m.data).into_owned())
            .or_insert(0) += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_redrives_reach_their_own_subscription_alone() {
    let f = Pubsub::new().await;
    // Two ferry subscriptions and an observer on one topic (fan-out).
    f.create_queues(&["ps-fan", "ps-fan-errors", "ps-fan-b-errors"])
        .await;
    f.create_on("ps-fan", "ps-fan-b", &SubSetup::default())
        .await;
    f.observe("ps-fan", "ps-fan-observer").await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(
            Sub::new("a")
                .set("queue", "\"ps-fan\"")
                .set("max_attempts", "3"),
        )
        .sub(
            Sub::new("b")
                .set("queue", "\"ps-fan-b\"")
                .set("max_attempts", "3"),
        )
        .spawn()
        .await;
    let doomed = publish(&f, "ps-fan", "doomed", &[("t.outcome", "retry")]).await;
    let flaky = publish(&f, "ps-fan", "flaky", &[("t.fail_until", "2")]).await;
    assert_eventually!(
        ferry.count_for("message.dead_lettered", &doomed) == 2
            && ferry.count_for("message.done", &flaky) == 2,
        "doomed dead-lettered and flaky done, once by each subscription"
    );
    assert_eq!(
        worker.calls_for("doomed").len(),
        6,
        "max_attempts = 3 calls per subscription, no copy from the other one"
    );
    assert_eq!(worker.calls_for("flaky").len(), 4);
    assert_eq!(dead_letters(&f, "ps-fan").await.len(), 1);
    assert_eq!(dead_letters(&f, "ps-fan-b").await.len(), 1);

    // Redrive a's letter only: it goes back to ps-fan alone.
    let redrive = ferry.cli(&["dlq", "redrive", "--subscription", "a"]).await;
    assert!(
        String::from_utf8_lossy(&redrive.stdout).contains("redrove 1 message(s)"),
        "{redrive:?}"
    );
    assert_eventually!(
        ferry.count_for("message.dead_lettered", &doomed) == 3,
        "the redriven letter fails again on a"
    );
    assert_eq!(
        worker.calls_for("doomed").len(),
        9,
        "three more calls, by a"
    );
    assert_eq!(dead_letters(&f, "ps-fan").await.len(), 1);
    assert_eq!(dead_letters(&f, "ps-fan-b").await.len(), 1);

    let seen = observed(&f, "ps-fan-observer").await;
    assert_eq!(
        seen,
        BTreeMap::from([("doomed".to_owned(), 1), ("flaky".to_owned(), 1)]),
        "the observer receives each published message exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_hand_backs_and_retries_stay_on_their_subscription() {
    let native = SubSetup {
        native_max_attempts: Some(10),
        ..SubSetup::default()
    };
    let f = Pubsub::on(&emulator_host(), native).await;
    f.create_queues(&["ps-nhb", "ps-nhb-errors"]).await;
    f.observe("ps-nhb", "ps-nhb-observer").await;
    let worker = TestWorker::start().await;
    let builder = FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml("[shutdown]\ngrace = \"300ms\"")
        .sub(
            Sub::new("s")
                .set("queue", "\"ps-nhb\"")
                .set("max_attempts", "3")
                .set("handler_timeout", "\"60s\""),
        );
    let config = builder.config();
    let mut ferry = builder.spawn().await;
    let flaky = publish(&f, "ps-nhb", "flaky", &[("t.fail_until", "2")]).await;
    assert_eventually!(ferry.count_for("message.done", &flaky) == 1, "flaky done");
    let slow = publish(&f, "ps-nhb", "slow", &[("t.sleep_ms", "3000")]).await;
    assert_eventually!(worker.calls_for("slow").len() == 1, "slow call started");
    // Shutdown after the grace hands the running delivery back at once (no delay).
    ferry.signal(Signal::SIGTERM);
    assert!(ferry.wait().await.success());
    assert_eq!(ferry.count_for("message.handed_back", &slow), 1);
    let again = FerryBuilder::from_config(config).spawn().await;
    assert_eventually!(again.count_for("message.done", &slow) == 1, "slow done");
    let attempts: Vec<u32> = worker.calls_for("slow").iter().map(|c| c.attempt).collect();
    assert_eq!(
        attempts,
        [1, 1],
        "the hand-back did not count, after a restart"
    );
    assert_eq!(worker.attempts_for("flaky"), [1, 2]);

    let seen = observed(&f, "ps-nhb-observer").await;
    assert_eq!(
        seen,
        BTreeMap::from([("flaky".to_owned(), 1), ("slow".to_owned(), 1)]),
        "the observer receives each published message exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_on_an_ordered_key_count_what_the_worker_was_given() {
    let ordered = SubSetup {
        ordering: true,
        native_max_attempts: Some(100),
    };
    let f = Pubsub::on(&emulator_host(), ordered).await;
    f.create_queues(&["ps-okey", "ps-okey-errors"]).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(
            Sub::new("s")
                .set("queue", "\"ps-okey\"")
                .set("max_attempts", "3")
                .set("max_in_flight", "8"),
        )
        .spawn()
        .await;
    // One key, twelve messages, each failing its first call once.
    let messages = (0..12)
        .map(|k| keyed("ps-okey", &format!("m{k:02}"), "K").attribute("t.fail_until", "2"))
        .collect();
    let ids = f.backend().await.publish(messages).await.unwrap();
    assert_eventually!(
        ids.iter().all(|id| ferry.count_for("message.done", id) == 1
            || ferry.count_for("message.dead_lettered", id) == 1),
        "every message settled"
    );
    let mut calls = worker.calls();
    calls.sort_by_key(|c| c.started);
    let got: Vec<(String, u32)> = calls
        .iter()
        .map(|c| (c.payload.clone(), c.attempt))
        .collect();
    let want: Vec<(String, u32)> = (0..12)
        .flat_map(|k| [(format!("m{k:02}"), 1), (format!("m{k:02}"), 2)])
        .collect();
    assert_eq!(
        got, want,
        "in key order, each message's first call is attempt 1 and its retry attempt 2"
    );
    assert!(dead_letters(&f, "ps-okey").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_copy_keeps_the_first_publish_time() {
    let f = Pubsub::new().await;
    f.create_queues(&["ps-when", "ps-when-errors"]).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(Sub::new("s").set("queue", "\"ps-when\""))
        .spawn()
        .await;
    // The first call takes a while, so the retry is published well after the original.
    let id = publish(
        &f,
        "ps-when",
        "when",
        &[("t.fail_until", "2"), ("t.sleep_ms", "300")],
    )
    .await;
    assert_eventually!(ferry.count_for("message.done", &id) == 1, "done");
    let calls = worker.calls_for("when");
    assert_eq!(calls.len(), 2);
    assert!(calls[0].published_at.is_some());
    assert_eq!(
        calls[1].published_at, calls[0].published_at,
        "published_at is when the message was first published"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_retry_subscription_is_reported_before_start() {
    let f = Pubsub::new().await;
    f.create_queues(&["ps-bare-errors"]).await;
    // A subscription without its retry topic and subscription.
    f.observe("ps-bare", "ps-bare").await;
    let dir = tempfile::tempdir().unwrap();
    let path = f.config_file(&dir, Sub::new("s").set("queue", "\"ps-bare\""));
    let err = assert_run_refuses_and_check_warns(&path, "queue `ps-bare-retry`").await;
    assert!(
        err.contains("subscriptions.s") && err.contains("roles/pubsub"),
        "names the missing retry resources and the roles: {err}"
    );
}
