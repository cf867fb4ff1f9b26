//! SQS: what a dead letter looks like on the wire (the story as one `ferry.dlq` attribute,
//! within the 10-attribute limit), redrive (a failed one gives back what it took), and the
//! commands that talk to SQS: start-up errors for missing queues, `ferry check` warnings,
//! `ferry queue stats`.
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;
use ferry::backend::{Backend, NewMessage};
use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    conformance::a_failed_redrive_leaves_its_letters_listed,
    ferry::{assert_run_refuses_and_check_warns, run_cli},
    fixtures::{BackendFixture, Sqs},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_carry_the_story_within_the_attribute_limit() {
    let f = Sqs::new().await;
    let (q, eq) = ("sqs-story", "sqs-story-errors");
    f.create_queue(q, &[]).await;
    let eq_url = f.create_queue(eq, &[]).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(Sub::new("s").set("queue", &format!("\"{q}\"")))
        .spawn()
        .await;
    // Nine attributes of its own: with the story and ferry's state that is more than the ten
    // SQS allows on a message.
    let mut m = NewMessage::new(q, "poison").attribute("t.outcome", "dead_letter");
    for i in 0..8 {
        m = m.attribute(format!("own{i}"), format!("value {i}"));
    }
    let own = m.attributes.clone();
    let id = f.sqs().publish(vec![m]).await.unwrap().remove(0);
    assert_eventually!(
        ferry.count_for("message.dead_lettered", &id) == 1,
        "dead-lettered"
    );

    let raw = f
        .client()
        .receive_message()
        .queue_url(&eq_url)
        .message_attribute_names("All")
        .visibility_timeout(0)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let msg = &raw.messages()[0];
    assert_eq!(msg.body(), Some("poison"), "the payload is the body");
    let attrs = msg.message_attributes().unwrap();
    assert!(attrs.len() <= 10, "{} attributes", attrs.len());
    let story: BTreeMap<String, String> =
        serde_json::from_str(attrs["ferry.dlq"].string_value().unwrap()).unwrap();
    assert_eq!(story["source_queue"], q);
    assert_eq!(story["message_id"], id);
    assert_eq!(
        (story["reason"].as_str(), story["attempts"].as_str()),
        ("worker", "1")
    );
    assert_eq!(story["last_error"], "poison message");

    let letters = f.sqs().dead_letters().unwrap().list(eq, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].id, id, "listed under the message's ferry id");
    for (k, v) in &own {
        assert_eq!(
            letters[0].attributes.get(k),
            Some(v),
            "own attribute {k} kept"
        );
    }
    assert_eq!(letters[0].attributes["ferry.dlq.reason"], "worker");

    let redrive = ferry.cli(&["dlq", "redrive"]).await;
    assert!(
        String::from_utf8_lossy(&redrive.stdout).contains("redrove 1 message(s)"),
        "{redrive:?}"
    );
    assert_eventually!(
        worker.calls_for("poison").len() == 2,
        "redriven and delivered again"
    );
    let again = &worker.calls_for("poison")[1];
    assert_eq!(
        (again.id.as_str(), again.attempt),
        (id.as_str(), 1),
        "same id, attempts reset"
    );
    assert!(
        again.attributes.keys().all(|k| !k.starts_with("ferry.")),
        "no story on the redriven message: {:?}",
        again.attributes
    );
    assert_eq!(again.attributes.len(), own.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_queue_stops_start_up_with_a_clear_error() {
    let f = Sqs::new().await;
    f.delete_queue("sqs-missing").await;
    f.create_queue("sqs-missing-errors", &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = f.config_file(&dir, Sub::new("s").set("queue", "\"sqs-missing\""));
    // `check` judges the config: the same finding is only a warning there.
    assert_run_refuses_and_check_warns(
        &path,
        "subscriptions.s.queue: queue `sqs-missing`: does not exist",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_warns_when_max_attempts_exceeds_the_native_redrive_policy() {
    let f = Sqs::new().await;
    f.create_queue("sqs-native-dlq", &[]).await;
    let policy = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:sqs-native-dlq","maxReceiveCount":"3"}"#;
    f.create_queue(
        "sqs-redrive-policy",
        &[(QueueAttributeName::RedrivePolicy, policy)],
    )
    .await;
    f.create_queue("sqs-redrive-policy-errors", &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let sub = Sub::new("s").set("queue", "\"sqs-redrive-policy\"");
    let out = run_cli(
        &f.config_file(&dir, sub.clone().set("max_attempts", "5")),
        &["check"],
    )
    .await;
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("subscriptions.s.max_attempts (5) exceeds the maxReceiveCount (3)"),
        "{err}"
    );
    let out = run_cli(
        &f.config_file(&dir, sub.set("max_attempts", "3")),
        &["check"],
    )
    .await;
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_survives_an_unreachable_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.toml");
    std::fs::write(&path, "[backend.sqs]\nregion = \"us-east-1\"\nendpoint = \"http://127.0.0.1:9\"\n[subscriptions.s]\n").unwrap();
    let out = run_cli(&path, &["check"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("ferry: warning: "), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_stats_reports_sqs_counts() {
    let f = Sqs::new().await;
    f.create_queue("sqs-stats", &[]).await;
    f.create_queue("sqs-stats-errors", &[]).await;
    let b = f.sqs();
    b.publish(vec![
        NewMessage::new("sqs-stats", "a"),
        NewMessage::new("sqs-stats", "b"),
    ])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = f.config_file(&dir, Sub::new("s").set("queue", "\"sqs-stats\""));
    let out = run_cli(&path, &["queue", "stats", "--json"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (row["ready"].as_u64(), row["dead"].as_u64()),
        (Some(2), Some(0)),
        "{row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_can_be_named_by_its_url() {
    let f = Sqs::new().await;
    let url = f.create_queue("sqs-by-url", &[]).await;
    f.create_queue("sqs-by-url-errors", &[]).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(
            Sub::new("s")
                .set("queue", &format!("\"{url}\""))
                .set("error_queue", "\"sqs-by-url-errors\""),
        )
        .spawn()
        .await;
    let id = f
        .sqs()
        .publish(vec![NewMessage::new("sqs-by-url", "by url")])
        .await
        .unwrap()
        .remove(0);
    assert_eventually!(
        ferry.count_for("message.done", &id) == 1,
        "consumed from the queue named by its URL"
    );
    assert_eq!(worker.calls_for("by url").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_redrive_gives_back_what_it_took() {
    let f = Sqs::new().await;
    f.create_queue("sqs-stranded-errors", &[]).await;
    f.delete_queue("sqs-stranded-gone").await;
    a_failed_redrive_leaves_its_letters_listed(&f, "sqs-stranded", "sqs-stranded-gone").await;
}
