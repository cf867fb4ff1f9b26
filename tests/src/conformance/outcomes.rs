//! Conformance cases: how each answer of the worker settles the message.

use std::time::Duration;

use super::{dead_letters, ferry_on, publish, story};
use crate::{StatusWorker, Sub, TestWorker, assert_eventually, fixtures::BackendFixture};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

pub async fn done_acks_and_logs_in_context(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-done"])
        .await
        .sub(Sub::new("s").set("queue", "\"q-done\""))
        .spawn()
        .await;
    let id = publish(
        f,
        "q-done",
        "hello",
        &[
            ("color", "blue"),
            ("realm", "acme"),
            ("traceparent", TRACEPARENT),
        ],
    )
    .await;
    assert_eventually!(
        ferry.count_for("message.done", &id) == 1,
        "message {id} done"
    );
    let calls = worker.calls_for("hello");
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].attempt, calls[0].realm.as_str()), (1, "acme"));
    assert_eq!(calls[0].attributes["color"], "blue");
    assert_eq!(calls[0].trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eventually!(f.is_empty("q-done").await, "queue empty after ack");
    // The worker's log line carries the message's context.
    let line = ferry
        .events_of("worker.log")
        .into_iter()
        .find(|e| e["ferry.message_id"] == id.as_str())
        .unwrap();
    assert_eq!(line["ferry.subscription"], "s");
    assert_eq!(line["ferry.realm"], "acme");
    assert_eq!(line["trace.id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(line["labels.handled_by"], "test-worker");
    assert_eq!(line["service.name"], "conformance");
    let (code, metrics) = ferry.admin_get("/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("ferry_messages_done_total{subscription=\"s\",realm=\"acme\"} 1"),
        "{metrics}"
    );
    assert_eq!(ferry.admin_get("/readyz").await.0, 200);
}

pub async fn retry_then_done(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-retry"])
        .await
        .sub(Sub::new("s").set("queue", "\"q-retry\""))
        .spawn()
        .await;
    let id = publish(f, "q-retry", "flaky", &[("t.fail_until", "3")]).await;
    assert_eventually!(
        ferry.count_for("message.done", &id) == 1,
        "done after retries"
    );
    let attempts = worker.attempts_for("flaky");
    assert_eq!(attempts, [1, 2, 3]);
    assert_eq!(ferry.count_for("message.retried", &id), 2);
}

pub async fn worker_chosen_delay_is_honoured_and_capped(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-delay"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-delay\"")
                .set("backoff", "{ min = \"20ms\", max = \"1s\" }"),
        )
        .spawn()
        .await;
    let a = publish(f, "q-delay", "later", &[("t.retry_after_ms", "700")]).await;
    // One hour, capped by backoff.max (1 s).
    let b = publish(f, "q-delay", "capped", &[("t.retry_after_ms", "3600000")]).await;
    assert_eventually!(
        ferry.count_for("message.done", &a) == 1 && ferry.count_for("message.done", &b) == 1,
        "both done"
    );
    let calls = worker.calls_for("later");
    let waited = calls[1].started - calls[0].finished.unwrap();
    assert!(
        waited >= Duration::from_millis(700),
        "redelivered after {waited:?}, before the 700 ms the worker asked for"
    );
    let retried = ferry
        .events_of("message.retried")
        .into_iter()
        .find(|e| e["ferry.message_id"] == b.as_str())
        .unwrap();
    assert_eq!(
        retried["ferry.retry_delay_ms"], 1000,
        "a chosen delay is capped at backoff.max"
    );
}

pub async fn max_attempts_dead_letters_with_story(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-max"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-max\"")
                .set("max_attempts", "3"),
        )
        .spawn()
        .await;
    let id = publish(
        f,
        "q-max",
        "doomed",
        &[("t.outcome", "retry"), ("order", "42")],
    )
    .await;
    assert_eventually!(
        ferry.count_for("message.dead_lettered", &id) == 1,
        "dead-lettered"
    );
    assert_eq!(worker.calls_for("doomed").len(), 3);
    let dl = dead_letters(f, "q-max").await;
    assert_eq!(dl.len(), 1);
    assert_eq!(&dl[0].payload[..], b"doomed");
    assert_eq!(
        dl[0].attributes["order"], "42",
        "the message's own attributes are kept"
    );
    let s = story(&dl[0]);
    assert_eq!(s["source_queue"], "q-max");
    assert_eq!(s["subscription"], "s");
    assert_eq!(s["message_id"], id);
    assert_eq!(s["attempts"], "3");
    assert_eq!(s["reason"], "max_attempts");
    assert_eq!(s["last_error"], "always failing");
    assert!(
        s["first_failure_at"] <= s["last_failure_at"] && s["first_failure_at"].len() >= 20,
        "{s:?}"
    );
    assert_eq!(f.dead("q-max").await, 1);
}

pub async fn dead_letter_outcome(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-poison"])
        .await
        .sub(Sub::new("s").set("queue", "\"q-poison\""))
        .spawn()
        .await;
    let id = publish(f, "q-poison", "poison", &[("t.outcome", "dead_letter")]).await;
    assert_eventually!(
        ferry.count_for("message.dead_lettered", &id) == 1,
        "dead-lettered"
    );
    assert_eq!(
        worker.calls_for("poison").len(),
        1,
        "no retry after a dead-letter answer"
    );
    let s = story(&dead_letters(f, "q-poison").await[0]);
    assert_eq!(
        (
            s["reason"].as_str(),
            s["last_error"].as_str(),
            s["attempts"].as_str()
        ),
        ("worker", "poison message", "1")
    );
}

pub async fn grpc_status_mapping(f: &dyn BackendFixture) {
    let worker = StatusWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-status"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-status\"")
                .set("max_attempts", "3"),
        )
        .spawn()
        .await;
    let bad = publish(f, "q-status", "bad", &[("t.code", "invalid_argument")]).await;
    let unimpl = publish(f, "q-status", "unimpl", &[("t.code", "unimplemented")]).await;
    let internal = publish(f, "q-status", "internal", &[("t.code", "internal")]).await;
    assert_eventually!(
        [&bad, &unimpl, &internal]
            .iter()
            .all(|id| ferry.count_for("message.dead_lettered", id) == 1),
        "all three dead-lettered"
    );
    let calls = worker.calls();
    let count = |id: &str| calls.iter().filter(|(m, _)| m == id).count();
    assert_eq!(
        (count(&bad), count(&unimpl)),
        (1, 1),
        "bad-request codes dead-letter at once"
    );
    assert_eq!(
        count(&internal),
        3,
        "INTERNAL is retried up to max_attempts"
    );
    let letters = dead_letters(f, "q-status").await;
    let reason_of = |id: &str| {
        story(
            letters
                .iter()
                .find(|d| story(d)["message_id"] == id)
                .unwrap(),
        )
    };
    assert_eq!(reason_of(&bad)["reason"], "status");
    assert!(reason_of(&bad)["last_error"].contains("InvalidArgument"));
    assert_eq!(reason_of(&internal)["reason"], "max_attempts");
}

pub async fn malformed_and_oversized_are_dead_lettered(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-bad"])
        .await
        .toml("[limits]\nmax_payload_bytes = 64")
        .sub(Sub::new("s").set("queue", "\"q-bad\""))
        .spawn()
        .await;
    let big = publish(f, "q-bad", &"x".repeat(100), &[]).await;
    let long_realm = "r".repeat(300);
    let realm = publish(f, "q-bad", "bad realm", &[("realm", &long_realm)]).await;
    let planted = f.plant_undecodable("q-bad").await;
    let good = publish(f, "q-bad", "fine", &[]).await;
    assert_eventually!(
        ferry.count_for("message.done", &good) == 1,
        "a good message after bad ones is still processed"
    );
    assert_eventually!(
        dead_letters(f, "q-bad").await.len() == 2 + usize::from(planted),
        "bad messages dead-lettered"
    );
    let letters = dead_letters(f, "q-bad").await;
    let find = |id: &str| {
        story(
            letters
                .iter()
                .find(|d| story(d)["message_id"] == id)
                .unwrap(),
        )
    };
    assert_eq!(find(&big)["reason"], "malformed");
    assert_eq!(
        find(&big)["last_error"],
        "payload of 100 bytes exceeds limits.max_payload_bytes (64)"
    );
    assert!(find(&realm)["last_error"].contains("malformed realm attribute `realm`"));
    if planted {
        let s = letters
            .iter()
            .map(story)
            .find(|s| s["last_error"].starts_with("malformed attributes"))
            .unwrap();
        assert!(
            s.contains_key("raw_attributes"),
            "the undecodable attributes are kept verbatim: {s:?}"
        );
    }
    assert_eq!(
        worker.calls().len(),
        1,
        "the worker only saw the good message"
    );
}
