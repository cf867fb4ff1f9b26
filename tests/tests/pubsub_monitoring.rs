//! Pub/Sub queue depths from Cloud Monitoring: `ferry queue stats` and the console read
//! `subscription/num_undelivered_messages` of a subscription, its retry subscription and
//! its error subscription. Google's emulator has no Monitoring and this machine cannot
//! reach Google, so the Monitoring API is a **mock** ([`MockMonitoring`], answering as
//! Google documents it); Pub/Sub itself is the real emulator. A Monitoring that refuses,
//! answers garbage or is gone gives a clear error and changes nothing else.
#![cfg(feature = "pubsub")]
#![allow(clippy::unwrap_used, missing_docs)]

use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    console::{ConsoleProcess, console_config, sidecar_toml},
    ferry::run_cli,
    fixtures::{BackendFixture, Pubsub},
    monitoring::MockMonitoring,
};
use serde_json::Value;

const SAMPLED: &str = "2026-12-01T10:04:00Z";
const SAMPLED_MS: i64 = 1_796_119_440_000;

/// The fixture's backend section, reading depths from `monitoring`.
fn backend_toml(f: &Pubsub, monitoring: &MockMonitoring) -> String {
    format!(
        "{}monitoring_endpoint = \"{}/\"\n",
        f.backend_toml(),
        monitoring.url()
    )
}

/// A `ferry.toml` in `dir` with `backend` and subscription `orders`.
fn orders_config(dir: &std::path::Path, backend: &str) -> std::path::PathBuf {
    let path = dir.join("ferry.toml");
    std::fs::write(&path, format!("{backend}\n[subscriptions.orders]\n")).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_stats_shows_the_samples_of_the_subscription_its_retries_and_its_dead_letters() {
    let f = Pubsub::new().await;
    f.create_queues(&["orders"]).await;
    let monitoring = MockMonitoring::start().await;
    monitoring.sample("orders", 7, SAMPLED);
    monitoring.sample("orders-retry", 2, "2026-12-01T10:03:00Z");
    monitoring.sample("orders-errors", 3, SAMPLED);
    // Another subscription's sample must not be counted.
    monitoring.sample("billing", 1000, SAMPLED);
    let dir = tempfile::tempdir().unwrap();
    let path = orders_config(dir.path(), &backend_toml(&f, &monitoring));

    let out = run_cli(&path, &["queue", "stats", "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            &line["ready"],
            &line["in_flight"],
            &line["delayed"],
            &line["dead"]
        ),
        (
            &Value::from(7),
            &Value::Null,
            &Value::from(2),
            &Value::from(3)
        ),
        "{line}"
    );
    assert_eq!(line["sampled_at"], SAMPLED);
    let table = run_cli(&path, &["queue", "stats"]).await;
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("Cloud Monitoring's samples"), "{text}");

    let seen = monitoring.seen();
    let asked = seen.last().unwrap();
    assert_eq!(asked.project, f.project());
    assert!(
        asked.query["filter"].ends_with(r#"one_of("orders", "orders-retry", "orders-errors")"#),
        "{:?}",
        asked.query
    );
    assert!(
        asked.query.contains_key("interval.startTime")
            && asked.query.contains_key("interval.endTime")
    );
    // Beside the emulator no credentials are sent (there are none to send).
    assert_eq!(asked.authorization, None);

    // A refusal is named, with what to grant; ferry exits with a failure, not a panic.
    monitoring.fail(Some((
        403,
        r#"{"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "Permission monitoring.timeSeries.list denied"}}"#,
    )));
    let out = run_cli(&path, &["queue", "stats"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("403 PERMISSION_DENIED") && err.contains("roles/monitoring.viewer"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_monitoring_endpoint_beside_the_emulator_stats_say_where_counts_are() {
    let f = Pubsub::new().await;
    f.create_queues(&["orders"]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = orders_config(dir.path(), &f.backend_toml());
    let out = run_cli(&path, &["queue", "stats"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("monitoring_endpoint"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_sampled_depths_and_says_why_when_monitoring_fails() {
    let f = Pubsub::new().await;
    f.create_queues(&["orders"]).await;
    let monitoring = MockMonitoring::start().await;
    monitoring.sample("orders", 7, SAMPLED);
    monitoring.sample("orders-errors", 3, SAMPLED);
    let dir = tempfile::tempdir().unwrap();
    let config = console_config(dir.path(), "gcp", &backend_toml(&f, &monitoring));
    let console = ConsoleProcess::start(dir.path(), &config, 0).await;
    let worker = TestWorker::start().await;
    let _ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml(&sidecar_toml(&console))
        .sub(Sub::new("orders"))
        .spawn()
        .await;
    let state =
        || async { console.get("/api/v1/subscriptions/gcp/orders").await.1["queue_state"].clone() };
    assert_eventually!(
        state().await["counts"]["ready"] == 7,
        "the overview shows the sampled backlog: {}",
        state().await
    );
    let s = state().await;
    assert_eq!(
        (
            &s["counts"]["delayed"],
            &s["counts"]["dead"],
            &s["counts"]["in_flight"]
        ),
        (&Value::from(0), &Value::from(3), &Value::from(0)),
        "no sample of the retry subscription is none waiting: {s}"
    );
    assert_eq!(s["sampled_at_ms"], SAMPLED_MS, "{s}");
    let (_, overview) = console.get("/api/v1/subscriptions").await;
    let row = overview["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "orders")
        .unwrap()
        .clone();
    assert_eq!(row["queue_state"]["counts"]["dead"], 3, "{row}");

    monitoring.fail(Some((
        403,
        r#"{"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied"}}"#,
    )));
    assert_eventually!(
        state().await["error"]
            .as_str()
            .is_some_and(|e| e.contains("roles/monitoring.viewer")),
        "a refusal is shown with what to grant: {}",
        state().await
    );
    assert_eq!(state().await["counts"], Value::Null);
    monitoring.fail(Some((200, "<html>not json</html>")));
    assert_eventually!(
        state().await["error"]
            .as_str()
            .is_some_and(|e| e.contains("not a time series list")),
        "garbage is named as such: {}",
        state().await
    );
    monitoring.fail(None);
    monitoring.sample("orders", 9, "2026-12-01T10:05:00Z");
    assert_eventually!(
        state().await["counts"]["ready"] == 9,
        "the counts come back with Monitoring: {}",
        state().await
    );
    // Messages flowed meanwhile: a failing Monitoring touches nothing else.
    let pubsub = f.pubsub();
    ferry::backend::Backend::publish(
        pubsub,
        vec![ferry::backend::NewMessage::new("orders", "after")],
    )
    .await
    .unwrap();
    assert_eventually!(
        !worker.calls_for("after").is_empty(),
        "the sidecar still delivers"
    );
}
