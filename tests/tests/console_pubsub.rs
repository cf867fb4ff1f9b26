//! The console over Google's Pub/Sub emulator: Pub/Sub has no message counts in its API
//! and the emulator no Cloud Monitoring, so the console says so instead of showing numbers
//! (with Monitoring: `pubsub_monitoring.rs`), and it still lists, redrives and
//! deletes dead letters by id (found by pulling, the others given back at once).
#![cfg(feature = "pubsub")]
#![allow(clippy::unwrap_used, missing_docs)]

use ferry::backend::{Backend, NewMessage};
use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    console::{ConsoleProcess, console_config, sidecar_toml},
    fixtures::{BackendFixture, Pubsub},
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_dead_letters_are_listed_redriven_and_deleted_without_counts() {
    let f = Pubsub::new().await;
    f.create_queues(&["orders"]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = console_config(dir.path(), "gcp", &f.backend_toml());
    let console = ConsoleProcess::start(dir.path(), &config, 0).await;
    let worker = TestWorker::start().await;
    let _ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml(&sidecar_toml(&console))
        .sub(Sub::new("orders"))
        .spawn()
        .await;
    let pubsub = f.pubsub();
    pubsub
        .publish(vec![
            NewMessage::new("orders", "dead-1").attribute("t.outcome", "dead_letter"),
            NewMessage::new("orders", "dead-2").attribute("t.outcome", "dead_letter"),
        ])
        .await
        .unwrap();
    let list = || async {
        console
            .get("/api/v1/subscriptions/gcp/orders/dead-letters")
            .await
            .1
    };
    assert_eventually!(
        list().await["dead_letters"]
            .as_array()
            .is_some_and(|l| l.len() == 2),
        "both dead letters are listed: {}",
        list().await
    );
    let (_, d) = console.get("/api/v1/subscriptions/gcp/orders").await;
    assert_eq!(d["backend_kind"], "pubsub");
    assert_eventually!(
        console.get("/api/v1/subscriptions/gcp/orders").await.1["queue_state"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("reports no queue counts")),
        "the console says why there are no counts"
    );
    let letters = list().await["dead_letters"].as_array().unwrap().clone();
    let id = |payload: &str| {
        letters
            .iter()
            .find(|l| l["payload"]["text"] == payload)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let before = worker.calls_for("dead-2").len();
    let (code, body) = console
        .send(
            "POST",
            "/api/v1/subscriptions/gcp/orders/dead-letters/redrive",
            &json!({"ids": [id("dead-2")]}),
        )
        .await;
    assert_eq!((code, &body["redriven"]), (200, &json!(1)), "{body}");
    assert_eventually!(
        worker.calls_for("dead-2").len() == before + 1,
        "the redriven letter is delivered again"
    );
    let (code, body) = console
        .send(
            "POST",
            "/api/v1/subscriptions/gcp/orders/dead-letters/delete",
            &json!({"ids": [id("dead-1")]}),
        )
        .await;
    assert_eq!((code, &body["deleted"]), (200, &json!(1)), "{body}");
    assert_eventually!(
        {
            let l = list().await;
            let p: Vec<&str> = l["dead_letters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["payload"]["text"].as_str().unwrap_or_default())
                .collect();
            p == ["dead-2"]
        },
        "dead-1 is deleted; dead-2 was dead-lettered again"
    );
}
