//! The local log store on the embedded backend, black-box: real ferry processes write it,
//! `ferry logs` reads it — a message's story, each filter, text search, `--since`, `-f`,
//! two sidecars sharing one store, the size and age bounds, the store off with other
//! backends, and a store that cannot be written never stalling deliveries.
#![allow(clippy::unwrap_used, missing_docs)]

use std::{path::PathBuf, process::Stdio, sync::Arc, time::Duration};

use ferry::backend::NewMessage;
use ferry_tests::{
    FerryBuilder, FerryProcess, Sub, TestWorker, assert_eventually,
    conformance::publish,
    ferry::{ferry_bin, run_cli},
    fixtures::{BackendFixture, Embedded},
};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// `ferry logs ARGS --json` against `ferry`'s config: the records, or the error.
async fn logs_json(ferry: &FerryProcess, args: &[&str]) -> Result<Vec<Value>, String> {
    let mut all = args.to_vec();
    all.push("--json");
    let out = ferry.cli(&[&["logs"][..], &all].concat()).await;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect())
}

async fn logs_text(ferry: &FerryProcess, args: &[&str]) -> String {
    let out = ferry.cli(&[&["logs"][..], args].concat()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ids(records: &[Value], key: &str) -> Vec<String> {
    records
        .iter()
        .map(|r| r[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The events about message `id` that ferry printed on stdout.
fn stdout_story(ferry: &FerryProcess, id: &str) -> Vec<Value> {
    ferry
        .events()
        .into_iter()
        .filter(|e| e["ferry.message_id"] == id || e["ferry.published_id"] == id)
        .collect()
}

async fn embedded_ferry(f: &Embedded, w: &TestWorker, extra: &str) -> FerryProcess {
    FerryBuilder::new(f.backend_toml(), &w.url())
        .toml(extra)
        .sub(Sub::new("orders").set("queue", "\"q-orders\""))
        .sub(Sub::new("billing").set("queue", "\"q-billing\""))
        .spawn()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messages_story_is_every_step_in_order() {
    let f = Embedded::new().await;
    let w = TestWorker::start().await;
    let ferry = embedded_ferry(&f, &w, "").await;
    let id = publish(
        &f,
        "q-orders",
        "p",
        &[("t.fail_until", "2"), ("realm", "acme")],
    )
    .await;
    assert_eventually!(ferry.count_for("message.done", &id) == 1, "handled");
    // Every event on stdout about the message is in the store, in the same order.
    let want = stdout_story(&ferry, &id);
    assert!(want.len() >= 4, "{want:?}");
    assert_eventually!(
        logs_json(&ferry, &["--message", &id]).await.ok().as_deref() == Some(&want[..]),
        "the stored story equals stdout's: {:?} vs {want:?}",
        logs_json(&ferry, &["--message", &id]).await
    );
    let actions = ids(&want, "event.action");
    let pos = |a: &str| actions.iter().position(|x| x == a).unwrap();
    assert!(
        pos("message.received") < pos("message.retried"),
        "{actions:?}"
    );
    assert!(pos("message.retried") < pos("message.done"), "{actions:?}");
    let text = logs_text(&ferry, &["--message", &id]).await;
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with(&format!(
            "message {id}: {} events; received 2 times",
            want.len()
        )),
        "{text}"
    );
    assert!(last.contains("outcome: done"), "{last}");
    // An unknown id is an error, not an empty story.
    let err = logs_json(&ferry, &["--message", "no-such-id"])
        .await
        .unwrap_err();
    assert!(err.contains("no events about message no-such-id"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_text_and_since_select_the_records() {
    let f = Embedded::new().await;
    let w = TestWorker::start().await;
    let ferry = embedded_ferry(&f, &w, "").await;
    let a = publish(&f, "q-orders", "a", &[("realm", "r1")]).await;
    assert_eventually!(ferry.count_for("message.done", &a) == 1, "a handled");
    let b = publish(
        &f,
        "q-billing",
        "b",
        &[("realm", "r2"), ("t.outcome", "dead_letter")],
    )
    .await;
    assert_eventually!(
        ferry.count_for("message.dead_lettered", &b) == 1,
        "b dead-lettered"
    );
    let b_first = stdout_story(&ferry, &b)[0]["@timestamp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eventually!(
        logs_json(&ferry, &["--message", &b])
            .await
            .is_ok_and(|r| r.len() == stdout_story(&ferry, &b).len()),
        "b's story stored"
    );
    let has = |records: &[Value], id: &str| records.iter().any(|r| r["ferry.message_id"] == id);

    let orders = logs_json(&ferry, &["--subscription", "orders"])
        .await
        .unwrap();
    assert!(has(&orders, &a) && !has(&orders, &b), "{orders:?}");
    assert!(orders.iter().all(|r| r["ferry.subscription"] == "orders"));

    let r2 = logs_json(&ferry, &["--realm", "r2"]).await.unwrap();
    assert!(has(&r2, &b) && !has(&r2, &a), "{r2:?}");
    assert!(r2.iter().all(|r| r["ferry.realm"] == "r2"));

    let failures = logs_json(&ferry, &["--outcome", "failure"]).await.unwrap();
    assert!(!failures.is_empty() && failures.iter().all(|r| r["event.outcome"] == "failure"));
    assert!(has(&failures, &b) && !has(&failures, &a), "{failures:?}");

    let dead = logs_json(&ferry, &["--action", "message.dead_lettered"])
        .await
        .unwrap();
    assert_eq!(ids(&dead, "ferry.message_id"), vec![b.clone()]);

    // Text: the worker's reason, a prefix, and an excluded word.
    let poison = logs_json(&ferry, &["-q", "poison"]).await.unwrap();
    assert!(has(&poison, &b) && !has(&poison, &a), "{poison:?}");
    assert!(
        poison
            .iter()
            .all(|r| r.to_string().to_lowercase().contains("poison"))
    );
    let prefix = logs_json(&ferry, &["-q", "pois*"]).await.unwrap();
    assert_eq!(prefix, poison);
    let phrase = logs_json(&ferry, &["-q", "\"poison message\""])
        .await
        .unwrap();
    assert_eq!(phrase, poison);
    let none = logs_json(&ferry, &["-q", "poison -message"]).await.unwrap();
    assert!(none.is_empty(), "{none:?}");

    // --since a time: only what came at or after it; a duration: everything recent.
    let since = logs_json(&ferry, &["--since", &b_first]).await.unwrap();
    assert!(has(&since, &b) && !has(&since, &a), "{since:?}");
    let recent = logs_json(&ferry, &["--since", "1h"]).await.unwrap();
    assert!(has(&recent, &a) && has(&recent, &b));
    let future = logs_json(&ferry, &["--since", "2100-01-01T00:00:00Z"])
        .await
        .unwrap();
    assert!(future.is_empty());
    // --limit: the latest ones.
    let two = logs_json(&ferry, &["--limit", "2"]).await.unwrap();
    assert_eq!(two.len(), 2);
    let err = logs_json(&ferry, &["--since", "yesterday-ish"])
        .await
        .unwrap_err();
    assert!(err.contains("--since"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_prints_records_stored_after_it_started_and_stops_on_sigterm() {
    let f = Embedded::new().await;
    let w = TestWorker::start().await;
    let ferry = embedded_ferry(&f, &w, "").await;
    let mut follow = tokio::process::Command::new(ferry_bin())
        .args(["logs", "-f", "--json", "--config"])
        .arg(ferry.config_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let sink = lines.clone();
    let mut out = BufReader::new(follow.stdout.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(l)) = out.next_line().await {
            sink.lock().unwrap().push(serde_json::from_str(&l).unwrap());
        }
    });
    for n in 0..2 {
        let id = publish(&f, "q-orders", &format!("m{n}"), &[]).await;
        assert_eventually!(
            lines
                .lock()
                .unwrap()
                .iter()
                .any(|r| r["ferry.message_id"] == id && r["event.action"] == "message.done"),
            "-f printed message {n}'s done"
        );
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(follow.id().unwrap()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), follow.wait())
        .await
        .expect("ferry logs -f did not stop on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sidecars_on_one_host_share_one_store() {
    let f = Embedded::new().await;
    let w = TestWorker::start().await;
    let front = FerryBuilder::new(f.backend_toml(), &w.url())
        .env("FERRY_SERVICE", "front")
        .sub(Sub::new("front").set("queue", "\"q-front\""))
        .spawn()
        .await;
    let back = FerryBuilder::new(f.backend_toml(), &w.url())
        .env("FERRY_SERVICE", "back")
        .sub(Sub::new("back").set("queue", "\"q-back\""))
        .spawn()
        .await;
    let id = publish(
        &f,
        "q-front",
        "fan",
        &[("t.fanout", "3"), ("t.fanout_to", "q-back")],
    )
    .await;
    assert_eventually!(front.count_for("message.done", &id) == 1, "front handled");
    assert_eventually!(
        back.events_of("message.done").len() == 3,
        "back handled the 3 follow-ups"
    );
    let children = ids(&back.events_of("message.done"), "ferry.message_id");
    // Either sidecar's config reads both sidecars' records.
    for reader in [&front, &back] {
        assert_eventually!(
            logs_json(reader, &["--action", "message.done"])
                .await
                .is_ok_and(|r| r.len() == 4),
            "4 done events stored"
        );
        let done = logs_json(reader, &["--action", "message.done"])
            .await
            .unwrap();
        let services = ids(&done, "service.name");
        assert_eq!(
            services.iter().filter(|s| *s == "front").count(),
            1,
            "{services:?}"
        );
        assert_eq!(
            services.iter().filter(|s| *s == "back").count(),
            3,
            "{services:?}"
        );
        for child in &children {
            let story = logs_json(reader, &["--message", child]).await.unwrap();
            assert!(
                story.iter().any(|r| r["service.name"] == "back"),
                "{story:?}"
            );
        }
    }
    // The sender's story includes where it published its follow-ups.
    let story = logs_json(&front, &["--message", &id]).await.unwrap();
    assert!(
        story
            .iter()
            .any(|r| r["event.action"] == "message.published"),
        "{story:?}"
    );
}

fn store_path(f: &Embedded) -> PathBuf {
    let toml = f.backend_toml();
    let queue = toml.split('"').nth(1).unwrap();
    PathBuf::from(queue).with_extension("logs.db")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_older_than_max_age_are_deleted() {
    let f = Embedded::new().await;
    let w = TestWorker::start().await;
    let ferry = embedded_ferry(&f, &w, "[logs.local]\nmax_age = \"1s\"").await;
    let id = publish(&f, "q-orders", "old", &[]).await;
    assert_eventually!(
        logs_json(&ferry, &["--message", &id]).await.is_ok(),
        "stored at first"
    );
    assert_eventually!(
        logs_json(&ferry, &["--message", &id])
            .await
            .is_err_and(|e| e.contains("no events about message")),
        "deleted once older than 1s"
    );
    // The store still takes new records.
    let id = publish(&f, "q-orders", "new", &[]).await;
    assert_eventually!(
        logs_json(&ferry, &["--message", &id]).await.is_ok(),
        "new stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_stays_within_max_size_keeping_the_newest() {
    let f = Embedded::new().await;
    let w = TestWorker::start().await;
    let ferry = embedded_ferry(&f, &w, "[logs.local]\nmax_size = 262144").await;
    let msgs: Vec<NewMessage> = (0..1000)
        .map(|i| NewMessage::new("q-orders", format!("m{i}")))
        .collect();
    let ids = f.backend().await.publish(msgs).await.unwrap();
    let last = ids.last().unwrap().clone();
    assert_eventually!(
        ferry.count_for("message.done", &last) == 1
            && ferry.events_of("message.done").len() == 1000,
        "all handled"
    );
    assert_eventually!(
        logs_json(&ferry, &["--message", &last]).await.is_ok(),
        "the newest is stored"
    );
    assert_eventually!(
        logs_json(&ferry, &["--message", &ids[0]]).await.is_err(),
        "the oldest is deleted"
    );
    let path = store_path(&f);
    assert_eventually!(
        std::fs::metadata(&path).unwrap().len() <= 262_144,
        "{} is {} bytes",
        path.display(),
        std::fs::metadata(&path).unwrap().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_be_written_never_stalls_deliveries() {
    let f = Embedded::new().await;
    let w = TestWorker::start().await;
    let ferry = embedded_ferry(&f, &w, "").await;
    let path = store_path(&f);
    assert_eventually!(path.exists(), "the store exists");
    // Another process holds the store's write lock, as a stuck sidecar or a slow disk would.
    let lock = rusqlite::Connection::open(&path).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let msgs: Vec<NewMessage> = (0..2000)
        .map(|i| NewMessage::new("q-orders", format!("m{i}")))
        .collect();
    let ids = f.backend().await.publish(msgs).await.unwrap();
    assert_eventually!(
        ferry.events_of("message.done").len() == 2000,
        "every message delivered while the store is locked"
    );
    let (_, metrics) = ferry.admin_get("/metrics").await;
    let dropped: f64 = metrics
        .lines()
        .find(|l| l.starts_with("ferry_log_queue_dropped_total{sink=\"local\"}"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0.0);
    assert!(dropped > 0.0, "{metrics}");
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    assert_eventually!(
        logs_json(&ferry, &["--action", "logs.dropped"])
            .await
            .is_ok_and(|r| r.iter().any(|r| r["ferry.logs.sink"] == "local")),
        "the drops are reported in the store"
    );
    let _ = ids;
}

#[tokio::test]
async fn other_backends_have_no_store_unless_configured() {
    let dir = tempfile::tempdir().unwrap();
    let sqs = "[backend.sqs]\nregion = \"us-east-1\"\nendpoint = \"http://127.0.0.1:1\"\n[subscriptions.a]\n";
    let off = dir.path().join("off.toml");
    std::fs::write(&off, sqs).unwrap();
    let out = run_cli(&off, &["logs"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("[logs.local]"), "{err}");
    let store = dir.path().join("s.logs.db");
    let on = dir.path().join("on.toml");
    std::fs::write(
        &on,
        format!(
            "{sqs}[logs.local]\nenabled = true\npath = {:?}\n",
            store.display().to_string()
        ),
    )
    .unwrap();
    let out = run_cli(&on, &["logs"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("no log store at {}", store.display())),
        "{err}"
    );
    assert!(!store.exists(), "a read never creates the store");
    // The embedded backend with the store turned off.
    let emb = dir.path().join("emb.toml");
    std::fs::write(
        &emb,
        format!(
            "[backend.embedded]\npath = {:?}\n[logs.local]\nenabled = false\n[subscriptions.a]\n",
            dir.path().join("q.db").display().to_string()
        ),
    )
    .unwrap();
    let out = run_cli(&emb, &["logs"]).await;
    assert_eq!(out.status.code(), Some(64));
}
