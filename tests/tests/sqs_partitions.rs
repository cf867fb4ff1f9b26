//! SQS partitioned subscriptions: one subscription over every queue named `<prefix><realm>`,
//! discovered periodically, polled fairly, with per-realm limits and metrics.
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

use ferry::backend::{Backend, NewMessage};
use ferry_tests::{
    FerryBuilder, FerryProcess, Sub, TestWorker, assert_eventually,
    fixtures::{BackendFixture, Sqs},
};

async fn partitioned(
    f: &Sqs,
    worker: &TestWorker,
    prefix: &str,
    extra: &[(&str, &str)],
) -> FerryProcess {
    let mut sub = Sub::new("s")
        .set("queue_prefix", &format!("\"{prefix}\""))
        .set("error_queue", &format!("\"{prefix}errors\""))
        .set("discovery_interval", "\"300ms\"");
    for (k, v) in extra {
        sub = sub.set(k, v);
    }
    FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(sub)
        .spawn()
        .await
}

async fn publish(f: &Sqs, queue: &str, payload: &str, attrs: &[(&str, &str)]) -> String {
    let mut m = NewMessage::new(queue, payload.to_owned());
    for (k, v) in attrs {
        m = m.attribute(*k, *v);
    }
    f.sqs().publish(vec![m]).await.unwrap().remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_realm_queue_is_picked_up() {
    let f = Sqs::new().await;
    let prefix = "sqs-pnew-";
    f.delete_queue("sqs-pnew-late").await;
    f.create_queue("sqs-pnew-errors", &[]).await;
    f.create_queue("sqs-pnew-early", &[]).await;
    let worker = TestWorker::start().await;
    let ferry = partitioned(&f, &worker, prefix, &[]).await;
    let early = publish(&f, "sqs-pnew-early", "from early", &[]).await;
    assert_eventually!(
        ferry.count_for("message.done", &early) == 1,
        "the early realm is consumed"
    );
    f.create_queue("sqs-pnew-late", &[]).await;
    let late = publish(&f, "sqs-pnew-late", "from late", &[("realm", "ignored")]).await;
    assert_eventually!(
        ferry.count_for("message.done", &late) == 1,
        "a queue created later is consumed"
    );
    let realm_of = |p: &str| worker.calls_for(p)[0].realm.clone();
    assert_eq!(
        (realm_of("from early"), realm_of("from late")),
        ("early".to_owned(), "late".to_owned()),
        "the realm is the queue's suffix"
    );
    let (_, metrics) = ferry.admin_get("/metrics").await;
    assert!(
        metrics.contains("ferry_messages_done_total{subscription=\"s\",realm=\"late\"} 1"),
        "{metrics}"
    );
    let s = f
        .sqs()
        .stats()
        .unwrap()
        .stats("sqs-pnew-late", "sqs-pnew-errors")
        .await
        .unwrap();
    assert_eq!(s, Default::default(), "acked in the realm's own queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_realm_does_not_starve_others() {
    let f = Sqs::new().await;
    for q in ["sqs-pfair-errors", "sqs-pfair-busy", "sqs-pfair-quiet"] {
        f.create_queue(q, &[]).await;
    }
    let mut busy = Vec::new();
    for i in 0..8 {
        busy.push(
            publish(
                &f,
                "sqs-pfair-busy",
                &format!("busy{i}"),
                &[("t.sleep_ms", "400")],
            )
            .await,
        );
    }
    let worker = TestWorker::start().await;
    let ferry = partitioned(
        &f,
        &worker,
        "sqs-pfair-",
        &[("max_in_flight", "4"), ("max_in_flight_per_realm", "1")],
    )
    .await;
    assert_eventually!(!worker.calls().is_empty(), "the busy realm started");
    let mut quiet = Vec::new();
    for i in 0..3 {
        quiet.push(publish(&f, "sqs-pfair-quiet", &format!("quiet{i}"), &[]).await);
    }
    assert_eventually!(
        quiet
            .iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "the quiet realm is served"
    );
    let busy_started = worker.calls().iter().filter(|c| c.realm == "busy").count();
    assert!(
        busy_started < 8,
        "the quiet realm waited for the busy one ({busy_started} busy calls first)"
    );
    assert_eventually!(
        busy.iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "the busy realm is done too"
    );
    let calls = worker.calls();
    assert!(
        calls.iter().all(|c| c.concurrent_in_realm == 1),
        "at most one call per realm at a time"
    );
    assert!(
        calls.iter().all(|c| c.attempt == 1),
        "no attempt was burned"
    );
    assert!(
        ferry.events_of("message.handed_back").is_empty(),
        "a realm at its limit is not even received from"
    );
}

/// `ferry queue stats` has a row per realm queue and one for the shared error queue;
/// `ferry dlq redrive` sends each dead letter back to its own realm queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_and_redrive_cover_every_realm_queue() {
    let f = Sqs::new().await;
    for q in ["sqs-pcli-errors", "sqs-pcli-alpha", "sqs-pcli-beta"] {
        f.create_queue(q, &[]).await;
    }
    let worker = TestWorker::start().await;
    let ferry = partitioned(&f, &worker, "sqs-pcli-", &[]).await;
    let a = publish(
        &f,
        "sqs-pcli-alpha",
        "poison a",
        &[("t.outcome", "dead_letter")],
    )
    .await;
    let b = publish(
        &f,
        "sqs-pcli-beta",
        "poison b",
        &[("t.outcome", "dead_letter")],
    )
    .await;
    assert_eventually!(
        ferry.count_for("message.dead_lettered", &a) == 1
            && ferry.count_for("message.dead_lettered", &b) == 1,
        "both dead-lettered"
    );
    let out = ferry.cli(&["queue", "stats", "--json"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let queues: Vec<&str> = rows.iter().map(|r| r["queue"].as_str().unwrap()).collect();
    assert_eq!(
        queues,
        ["sqs-pcli-alpha", "sqs-pcli-beta", "sqs-pcli-errors"],
        "{rows:?}"
    );
    assert_eq!(rows[2]["dead"], 2, "{rows:?}");
    assert!(
        rows[0]["dead"].is_null(),
        "the realm rows leave dead to the error row"
    );
    // Redrive: each letter returns to its realm queue and is handled there (the worker
    // answers dead_letter again, so each is dead-lettered a second time).
    let out = ferry.cli(&["dlq", "redrive"]).await;
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("redrove 2 message(s)"), "{said}");
    assert_eventually!(
        worker.calls_for("poison a").len() == 2 && worker.calls_for("poison b").len() == 2,
        "each letter came back through its own realm queue"
    );
    let realms: Vec<String> = ["poison a", "poison b"]
        .iter()
        .map(|p| worker.calls_for(p)[1].realm.clone())
        .collect();
    assert_eq!(realms, ["alpha", "beta"]);
}
