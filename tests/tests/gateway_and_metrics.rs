//! ferry's own gateway API and its metrics, on the embedded backend: a web API publishes
//! through `Gateway.Publish` with the Rust SDK's client and the message is consumed; a
//! message ferry would refuse is refused with the field and the reason; `/metrics` counts
//! every outcome by subscription and realm and times the `Handle` calls, on one runtime
//! thread (the default) and on four.
#![allow(clippy::unwrap_used, missing_docs)]

use ferry_sdk::{GatewayClient, Outgoing};
use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    conformance::publish,
    fixtures::{BackendFixture, Embedded},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_publishes_for_a_web_api() {
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(Sub::new("s").set("queue", "\"orders\""))
        .spawn()
        .await;
    let client = GatewayClient::connect(ferry.gateway_url()).await.unwrap();
    let ids = client
        .publish(vec![
            Outgoing::new("orders", "from the web api")
                .attribute("order", "7")
                .realm("acme"),
        ])
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eventually!(
        ferry.count_for("message.done", &ids[0]) == 1,
        "consumed by the subscription"
    );
    let call = &worker.calls_for("from the web api")[0];
    assert_eq!(
        (
            call.id.as_str(),
            call.realm.as_str(),
            call.attributes["order"].as_str()
        ),
        (ids[0].as_str(), "acme", "7")
    );
    assert!(
        ferry
            .events_of("message.published")
            .iter()
            .any(|e| e["ferry.published_id"] == ids[0].as_str()
                && e["ferry.destination"] == "orders"),
        "the publish is logged: {:?}",
        ferry.events_of("message.published")
    );

    // ferry's own attributes are not for publishers: refused with the field and reason.
    let refused = client
        .publish(vec![
            Outgoing::new("orders", "forged").attribute("ferry.attempts", "9"),
        ])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("messages[0]") && refused.contains("ferry."),
        "{refused}"
    );
    assert!(worker.calls_for("forged").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_outcome_by_subscription_and_realm() {
    // The default runtime: one thread (tokio's current-thread scheduler).
    count_every_outcome("").await;
}

/// The same deliveries, retries and dead letters on tokio's multi-thread scheduler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_runtime_threads_settle_every_outcome_alike() {
    count_every_outcome("[runtime]\nthreads = 4\n").await;
}

/// Runs a done, a retried and a dead-lettered message through a ferry with `runtime_toml`
/// and checks what `/metrics` counted.
async fn count_every_outcome(runtime_toml: &str) {
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml(runtime_toml)
        .sub(
            Sub::new("s")
                .set("queue", "\"q\"")
                .set("backoff", "{ min = \"20ms\", max = \"100ms\" }"),
        )
        .spawn()
        .await;
    let done = publish(&f, "q", "fine", &[("realm", "acme")]).await;
    let flaky = publish(
        &f,
        "q",
        "flaky",
        &[("realm", "acme"), ("t.fail_until", "2")],
    )
    .await;
    let poison = publish(
        &f,
        "q",
        "poison",
        &[("realm", "zeta"), ("t.outcome", "dead_letter")],
    )
    .await;
    assert_eventually!(
        ferry.count_for("message.done", &done) == 1
            && ferry.count_for("message.done", &flaky) == 1
            && ferry.count_for("message.dead_lettered", &poison) == 1,
        "all settled"
    );
    let (code, metrics) = ferry.admin_get("/metrics").await;
    assert_eq!(code, 200);
    let has = |line: &str| {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing `{line}` in:\n{metrics}"
        );
    };
    has("ferry_messages_received_total{subscription=\"s\",realm=\"acme\"} 3");
    has("ferry_messages_received_total{subscription=\"s\",realm=\"zeta\"} 1");
    has("ferry_messages_done_total{subscription=\"s\",realm=\"acme\"} 2");
    has("ferry_messages_retried_total{subscription=\"s\",realm=\"acme\"} 1");
    has("ferry_messages_dead_lettered_total{subscription=\"s\",realm=\"zeta\"} 1");
    has("ferry_messages_in_flight{subscription=\"s\",realm=\"acme\"} 0");
    has("ferry_handle_duration_seconds_count{subscription=\"s\",realm=\"acme\"} 3");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ferry_handle_duration_seconds_bucket{") && l.contains("le=")),
        "the Handle time histogram has buckets:\n{metrics}"
    );
}

/// `/metrics` speaks both formats by `Accept`, has every counter at 0 before it moves,
/// `ferry_build_info`, and the standard process metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_speak_both_formats_and_start_at_zero() {
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(Sub::new("s").set("queue", "\"idle\""))
        .spawn()
        .await;
    let (code, head, classic) = ferry.admin_get_with("/metrics", &[]).await;
    assert_eq!(code, 200);
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    for line in [
        "# TYPE ferry_messages_done_total counter",
        "ferry_messages_done_total{subscription=\"s\",realm=\"\"} 0",
        "ferry_messages_received_total{subscription=\"s\",realm=\"\"} 0",
        "ferry_messages_handed_back_total{subscription=\"s\",reason=\"worker_unavailable\"} 0",
        "ferry_messages_published_total{subscription=\"s\"} 0",
        "# TYPE ferry_build_info gauge",
        "# TYPE process_cpu_seconds_total counter",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_open_fds gauge",
    ] {
        assert!(classic.contains(line), "`{line}` missing from:\n{classic}");
    }
    assert!(!classic.contains("# EOF"), "{classic}");
    assert!(
        classic.contains(&format!(
            "ferry_build_info{{version=\"{}\"",
            env!("CARGO_PKG_VERSION")
        )),
        "{classic}"
    );
    let (code, head, open) = ferry
        .admin_get_with(
            "/metrics",
            &[("Accept", "application/openmetrics-text; version=1.0.0")],
        )
        .await;
    assert_eq!(code, 200);
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(
        open.contains("# TYPE ferry_messages_done counter"),
        "{open}"
    );
    assert!(open.contains("# EOF"), "{open}");
}
