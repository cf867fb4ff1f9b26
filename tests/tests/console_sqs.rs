//! The console over SQS (ElasticMQ): a partitioned subscription (`queue_prefix`) shows its
//! realm queues with their counts and the dead letters they share, and chosen dead letters
//! are redriven and deleted by id (SQS cannot fetch by id: the console finds them by
//! receiving, and leaves the others in place).
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

use ferry::backend::{Backend, NewMessage};
use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    console::{ConsoleProcess, console_config, sidecar_toml},
    fixtures::{BackendFixture, Sqs},
};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_subscription_shows_its_realm_queues_and_its_dead_letters() {
    let f = Sqs::new().await;
    let prefix = "console-p-";
    for q in ["console-p-errors", "console-p-acme", "console-p-globex"] {
        f.create_queue(q, &[]).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = console_config(dir.path(), "mq", &f.backend_toml());
    let console = ConsoleProcess::start(dir.path(), &config, 0).await;
    let worker = TestWorker::start().await;
    let _ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml(&sidecar_toml(&console))
        .sub(
            Sub::new("tenants")
                .set("queue_prefix", &format!("\"{prefix}\""))
                .set("error_queue", "\"console-p-errors\"")
                .set("discovery_interval", "\"300ms\""),
        )
        .spawn()
        .await;
    let sqs = f.sqs();
    let mut letters = Vec::new();
    for (queue, payload) in [
        ("console-p-acme", "acme-dead-1"),
        ("console-p-acme", "acme-dead-2"),
        ("console-p-globex", "globex-dead-1"),
    ] {
        letters.push((
            payload,
            sqs.publish(vec![
                NewMessage::new(queue, payload).attribute("t.outcome", "dead_letter"),
            ])
            .await
            .unwrap()
            .remove(0),
        ));
    }
    let detail = || async { console.get("/api/v1/subscriptions/mq/tenants").await.1 };
    assert_eventually!(
        detail().await["queue_state"]["counts"]["dead"] == 3,
        "the console counts the 3 dead letters of the shared error queue: {}",
        detail().await
    );
    let d = detail().await;
    let partitions: Vec<&str> = d["queue_state"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["queue"].as_str().unwrap())
        .collect();
    assert_eq!(partitions, ["console-p-acme", "console-p-globex"]);
    assert_eq!(d["queue"], "console-p-*");
    assert_eq!(d["backend_kind"], "sqs");

    let (code, list) = console
        .get("/api/v1/subscriptions/mq/tenants/dead-letters")
        .await;
    assert_eq!(code, 200, "{list}");
    let listed: Vec<(&str, &str)> = list["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap(),
                l["story"]["source_queue"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed.len(), 3, "{list}");
    let id_of = |payload: &str| {
        letters
            .iter()
            .find(|(p, _)| *p == payload)
            .unwrap()
            .1
            .clone()
    };
    assert!(listed.contains(&(id_of("globex-dead-1").as_str(), "console-p-globex")));

    // Delete one, redrive another (back to its own realm queue), by id.
    let calls_before = worker.calls_for("acme-dead-2").len();
    let send = |path: &'static str, body: Value| {
        let console = &console;
        async move {
            console
                .send(
                    "POST",
                    &format!("/api/v1/subscriptions/mq/tenants/dead-letters/{path}"),
                    &body,
                )
                .await
        }
    };
    let (code, body) = send("delete", json!({"ids": [id_of("acme-dead-1")]})).await;
    assert_eq!((code, &body["deleted"]), (200, &json!(1)), "{body}");
    let (code, body) = send("redrive", json!({"ids": [id_of("acme-dead-2")]})).await;
    assert_eq!((code, &body["redriven"]), (200, &json!(1)), "{body}");
    assert_eventually!(
        worker.calls_for("acme-dead-2").len() == calls_before + 1,
        "the redriven letter is delivered from its realm queue"
    );
    assert_eq!(
        worker.calls_for("acme-dead-2").last().unwrap().realm,
        "acme"
    );
    assert_eventually!(
        {
            let (_, l) = console
                .get("/api/v1/subscriptions/mq/tenants/dead-letters")
                .await;
            let mut payloads: Vec<String> = l["dead_letters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["payload"]["text"].as_str().unwrap().to_owned())
                .collect();
            payloads.sort();
            payloads == ["acme-dead-2", "globex-dead-1"]
        },
        "the deleted one is gone, the other untouched, the redriven one dead again"
    );
}
