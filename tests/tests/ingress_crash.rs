//! kill -9 of ferry during a load of 5 000 webhook requests (32 at a time, each with an
//! Idempotency-Key of its own), then a restart, and every request that got no 2xx sent
//! again as a provider would: every request answered 2xx is in the queue exactly once,
//! under the id it was answered with, and none is lost — on the embedded queue and on an
//! SQS FIFO queue (ElasticMQ). A request the queue held when ferry died (published, not
//! yet answered) is answered on its retry with the original id: the backend's
//! de-duplication, not luck, keeps it single.
#![allow(clippy::unwrap_used, missing_docs)]

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use ferry_tests::{
    FerryBuilder, FerryProcess, assert_eventually,
    fixtures::{BackendFixture, Embedded},
    ingress::{Http, take_all},
};

const REQUESTS: usize = 5000;
const CONCURRENCY: usize = 32;
/// Answered requests before the kill.
const KILL_AFTER: usize = 1500;

fn toml(dir: &std::path::Path, queue: &str) -> String {
    format!(
        r#"
[ingress]
listen = "127.0.0.1:0"
[ingress.dedup]
path = "{dir}/ingress-dedup.db"
[ingress.routes.load]
path = "/load"
queue = "{queue}"
dedup_id = {{ header = "Idempotency-Key" }}
"#,
        dir = dir.display()
    )
}

/// Sends requests `todo` to `url`, 32 at a time; returns the 2xx answers (request → id)
/// and the requests that got none. With `kill`, SIGKILLs `ferry` once `KILL_AFTER` were
/// answered.
async fn load(
    url: &str,
    todo: Vec<usize>,
    kill: Option<&FerryProcess>,
) -> (HashMap<usize, String>, Vec<usize>) {
    let http = Http::new();
    let todo = Arc::new(todo);
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(Mutex::new(HashMap::new()));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (http, todo, next) = (http.clone(), todo.clone(), next.clone());
        let (answered, failed, url) = (answered.clone(), failed.clone(), url.to_owned());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&n) = todo.get(i) else { return };
                // A key of this run's own: an SQS FIFO queue remembers ids for 5 minutes,
                // even across a purge, so a rerun must not reuse them.
                let key = format!("req-{}-{n}", std::process::id());
                let body = format!(r#"{{"n": {n}, "pad": "{}"}}"#, "x".repeat(200));
                let headers = [
                    ("content-type", "application/json"),
                    ("idempotency-key", key.as_str()),
                ];
                match http.send("POST", &url, &headers, body).await {
                    Ok(a) if a.status == 202 => {
                        answered.lock().unwrap().insert(n, a.message_id());
                    }
                    Ok(a) => panic!(
                        "request {n}: {} {}",
                        a.status,
                        String::from_utf8_lossy(&a.body)
                    ),
                    Err(_) => failed.lock().unwrap().push(n),
                }
            }
        }));
    }
    if let Some(ferry) = kill {
        assert_eventually!(
            answered.lock().unwrap().len() >= KILL_AFTER,
            "{} answered before the kill",
            answered.lock().unwrap().len()
        );
        ferry.signal(nix::sys::signal::Signal::SIGKILL);
    }
    for w in workers {
        w.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    let failed = failed.lock().unwrap().clone();
    (answered, failed)
}

async fn kill9_during_load(fixture: &dyn BackendFixture, queue: &str) {
    fixture.create_queues(&[queue]).await;
    let dir = tempfile::tempdir().unwrap();
    let builder = FerryBuilder::new(fixture.backend_toml(), "http://127.0.0.1:9")
        .toml(&toml(dir.path(), queue));
    let config = builder.config();
    let mut ferry = builder.spawn().await;
    let (before, failed) = load(
        &format!("{}/load", ferry.ingress_url()),
        (0..REQUESTS).collect(),
        Some(&ferry),
    )
    .await;
    ferry.wait().await;
    assert!(
        before.len() >= KILL_AFTER && !failed.is_empty(),
        "{} answered, {} failed",
        before.len(),
        failed.len()
    );
    assert_eq!(before.len() + failed.len(), REQUESTS);

    // The provider retries what got no 2xx, against the restarted ferry.
    let ferry = FerryBuilder::from_config(config).spawn().await;
    let (after, still) = load(
        &format!("{}/load", ferry.ingress_url()),
        failed.clone(),
        None,
    )
    .await;
    assert!(
        still.is_empty(),
        "{} requests got no answer after the restart",
        still.len()
    );

    let got = take_all(
        fixture.backend().await.as_ref(),
        queue,
        Duration::from_millis(500),
    )
    .await;
    let mut by_n: HashMap<usize, Vec<String>> = HashMap::new();
    for m in &got {
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        by_n.entry(v["n"].as_u64().unwrap() as usize)
            .or_default()
            .push(m.id.clone());
    }
    let twice: Vec<_> = by_n.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(twice.is_empty(), "in the queue more than once: {twice:?}");
    for (n, id) in before.iter().chain(after.iter()) {
        assert_eq!(
            by_n.get(n),
            Some(&vec![id.clone()]),
            "request {n} answered {id}"
        );
    }
    assert_eq!(got.len(), REQUESTS, "every request is in the queue once");
    let ids: HashSet<&String> = got.iter().map(|m| &m.id).collect();
    assert_eq!(ids.len(), REQUESTS);
    // Some retried requests had been published before the kill: their retry got the
    // original id back (the event says so on backends that tell; the id matching the
    // queue's above is the proof on all).
    eprintln!(
        "{} answered before the kill, {} retried after it",
        before.len(),
        failed.len()
    );
}

#[tokio::test]
async fn kill9_during_load_loses_nothing_on_the_embedded_queue() {
    kill9_during_load(&Embedded::new().await, "load").await;
}

#[cfg(feature = "sqs")]
#[tokio::test]
async fn kill9_during_load_loses_nothing_on_sqs_fifo() {
    kill9_during_load(
        &ferry_tests::fixtures::Sqs::new().await,
        "ingress-load.fifo",
    )
    .await;
}
