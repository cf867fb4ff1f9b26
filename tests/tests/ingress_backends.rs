//! The webhook ingress on the other backends: SQS (ElasticMQ) standard and FIFO queues, and
//! Pub/Sub (its emulator). A request becomes one message; a repeated delivery answers the
//! original id and enqueues nothing — on SQS standard queues and Pub/Sub through ferry's own
//! de-duplication record, which outlives a ferry restart. While ElasticMQ is stopped the
//! ingress answers 503 with Retry-After and `/readyz` says not ready; once it is back, both
//! recover without a request.
#![cfg(all(feature = "sqs", feature = "pubsub"))]
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use ferry_tests::{
    FerryBuilder, FerryProcess, assert_eventually,
    fixtures::{BackendFixture, OwnElasticMq, Pubsub, Sqs},
    ingress::{Http, take_all},
};

fn ingress_toml(dir: &std::path::Path, queue: &str) -> String {
    format!(
        r#"
[ingress]
listen = "127.0.0.1:0"
retry_after = "2s"
probe_interval = "100ms"
publish_timeout = "5s"
[ingress.dedup]
path = "{dir}/ingress-dedup.db"
[ingress.routes.hooks]
path = "/hooks"
queue = "{queue}"
dedup_id = {{ pointer = "/id" }}
realm = {{ header = "X-Tenant" }}
"#,
        dir = dir.display()
    )
}

async fn start(fixture: &dyn BackendFixture, toml: &str) -> FerryProcess {
    FerryBuilder::new(fixture.backend_toml(), "http://127.0.0.1:9")
        .toml(toml)
        .spawn()
        .await
}

/// Two deliveries of event `id`: the same message id; then the queue holds one message
/// with the body and realm.
async fn one_message_per_event(fixture: &dyn BackendFixture, queue: &str) {
    fixture.create_queues(&[queue]).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = ingress_toml(dir.path(), queue);
    let ferry = start(fixture, &toml).await;
    let http = Http::new();
    let url = format!("{}/hooks", ferry.ingress_url());
    let body = r#"{"id": "evt_1", "type": "delivered"}"#;
    let first = http.post_json(&url, &[("x-tenant", "acme")], body).await;
    let id = first.message_id();
    let again = http.post_json(&url, &[("x-tenant", "acme")], body).await;
    assert_eq!(again.message_id(), id, "a repeat answers the original id");
    // Answered from ferry's own record (on these backends it keeps one).
    assert_eventually!(
        ferry
            .events_of("ingress.accepted")
            .iter()
            .any(|e| e["ferry.duplicate"] == true && e["ferry.message_id"] == id.as_str()),
        "the repeat's event says it was a repeat"
    );
    let backend = fixture.backend().await;
    let got = take_all(backend.as_ref(), queue, Duration::from_millis(500)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].id, id);
    assert_eq!(&got[0].payload[..], body.as_bytes());
    assert_eq!(got[0].attributes["realm"], "acme");
    assert_eq!(got[0].attributes["ingress.route"], "hooks");
    drop(ferry);

    // A restarted ferry still knows the id (the record is a file).
    let ferry = start(fixture, &toml).await;
    let url = format!("{}/hooks", ferry.ingress_url());
    let later = http.post_json(&url, &[("x-tenant", "acme")], body).await;
    assert_eq!(later.message_id(), id, "remembered across a restart");
    let got = take_all(backend.as_ref(), queue, Duration::from_millis(500)).await;
    assert!(got.is_empty(), "{got:?}");
}

#[tokio::test]
async fn sqs_standard_queue_one_message_per_event() {
    one_message_per_event(&Sqs::new().await, "ingress-hooks").await;
}

#[tokio::test]
async fn sqs_fifo_queue_one_message_per_event() {
    one_message_per_event(&Sqs::new().await, "ingress-hooks.fifo").await;
}

#[tokio::test]
async fn pubsub_one_message_per_event() {
    one_message_per_event(&Pubsub::new().await, "ingress-hooks").await;
}

/// ElasticMQ stopped: 503 with Retry-After, `/readyz` not ready, and further requests are
/// refused at once; ElasticMQ back: ready again without a request, and requests accepted.
#[tokio::test]
async fn while_elasticmq_is_stopped_the_ingress_answers_503_and_recovers_after() {
    let mut server = OwnElasticMq::start().await;
    let url = server.url();
    let sqs = Sqs::with_config(|c| c.endpoint = Some(url)).await;
    sqs.create_queues(&["outage"]).await;
    let dir = tempfile::tempdir().unwrap();
    let ferry = start(&sqs, &ingress_toml(dir.path(), "outage")).await;
    let http = Http::new();
    let hooks = format!("{}/hooks", ferry.ingress_url());
    let before = http.post_json(&hooks, &[], r#"{"id": "before"}"#).await;
    assert_eq!(before.status, 202);
    assert_eq!(ferry.admin_get("/readyz").await.0, 200);

    server.stop().await;
    let during = http.post_json(&hooks, &[], r#"{"id": "during-1"}"#).await;
    assert_eq!(
        during.status,
        503,
        "{}",
        String::from_utf8_lossy(&during.body)
    );
    assert_eq!(during.headers["retry-after"], "2");
    assert_eq!(during.json()["status"], 503);
    let (code, body) = ferry.admin_get("/readyz").await;
    assert_eq!(code, 503);
    assert!(body.starts_with("backend refuses publishes"), "{body}");
    let refused = http.post_json(&hooks, &[], r#"{"id": "during-2"}"#).await;
    assert_eq!(
        refused.status, 503,
        "refused at once while the backend is down"
    );

    server.restart().await;
    // ElasticMQ keeps queues in memory: the restarted server has to get its queue back.
    sqs.create_queues(&["outage"]).await;
    assert_eventually!(
        ferry.admin_get("/readyz").await.0 == 200,
        "ready again once ElasticMQ answers"
    );
    let after = http.post_json(&hooks, &[], r#"{"id": "after"}"#).await;
    let id = after.message_id();
    let got = take_all(
        sqs.backend().await.as_ref(),
        "outage",
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id);
    let reasons: Vec<String> = ferry
        .events_of("ingress.rejected")
        .iter()
        .map(|e| e["ferry.reject_reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons, ["backend_unavailable", "backend_unavailable"]);
    server.stop().await;
}
