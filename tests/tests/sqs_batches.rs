//! SQS: settles are batched, and each caller gets its own entry's result — a partial
//! failure of a `DeleteMessageBatch` fails only the stale entry, an entry that failed on
//! SQS's side is retried on its own, and a message whose delete failed is never logged as
//! done.
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use ferry::backend::{Backend, BackendError, NewMessage};
use ferry_tests::{
    Sub, TestWorker, assert_eventually,
    conformance::ferry_on,
    fixtures::{Sqs, SqsProxy},
};

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_batch_failure_fails_only_its_entry() {
    let f = Sqs::with_config(|c| c.settle_window = ferry::bounded::Span::millis(200)).await;
    let q = "sqs-partial";
    f.create_queue(q, &[]).await;
    let b = f.sqs();
    let msgs = (0..3)
        .map(|i| NewMessage::new(q, format!("p{i}")))
        .collect();
    b.publish(msgs).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        got.extend(
            b.receive(q, 3, LEASE, Duration::from_secs(1))
                .await
                .unwrap(),
        );
    }
    // Make the first receipt stale: let its lease lapse and receive the message again.
    b.extend(q, &got[0].receipt, Duration::ZERO).await.unwrap();
    let again = b
        .receive(q, 1, LEASE, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, got[0].id);
    // The three acks share one DeleteMessageBatch (the window is 200 ms).
    let (stale, second, third) = tokio::join!(
        b.ack(q, &got[0].receipt),
        b.ack(q, &got[1].receipt),
        b.ack(q, &got[2].receipt),
    );
    assert!(
        matches!(stale, Err(BackendError::LeaseLost(ref id)) if *id == got[0].id),
        "{stale:?}"
    );
    second.unwrap();
    third.unwrap();
    let s = b.stats().unwrap().stats(q, "sqs-partial").await.unwrap();
    assert_eq!(
        (s.ready, s.in_flight),
        (0, 1),
        "only the re-received message is left"
    );
    b.ack(q, &again[0].receipt).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_delete_failed_is_not_logged_done() {
    let f = Sqs::new().await;
    let q = "sqs-ack-fails";
    let worker = TestWorker::start().await;
    let ferry = ferry_on(&f, &worker.url(), &[q])
        .await
        .sub(Sub::new("s").set("queue", &format!("\"{q}\"")))
        .spawn()
        .await;
    let id = f
        .sqs()
        .publish(vec![
            NewMessage::new(q, "slow").attribute("t.sleep_ms", "1500"),
        ])
        .await
        .unwrap()
        .remove(0);
    assert_eventually!(worker.calls_for("slow").len() == 1, "the call started");
    // The queue disappears while the handler runs: the delete of the ack cannot succeed.
    f.delete_queue(q).await;
    assert_eventually!(
        ferry
            .events_of("message.settle_failed")
            .iter()
            .any(|e| e["ferry.message_id"] == id.as_str() && e["ferry.operation"] == "ack"),
        "the failed delete is reported"
    );
    assert!(worker.calls_for("slow")[0].finished.is_some());
    assert_eq!(
        ferry.count_for("message.done", &id),
        0,
        "not logged as done"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_that_failed_on_the_server_is_deleted_on_its_own() {
    let proxy = SqsProxy::start().await;
    let f = Sqs::with_config(|c| c.endpoint = Some(proxy.url().to_owned())).await;
    let q = "sqs-entry-retry";
    let worker = TestWorker::start().await;
    let ferry = ferry_on(&f, &worker.url(), &[q])
        .await
        .sub(Sub::new("s").set("queue", &format!("\"{q}\"")))
        .spawn()
        .await;
    proxy.fail_next_delete_entry();
    let ids = f
        .sqs()
        .publish(
            (0..3)
                .map(|i| NewMessage::new(q, format!("e{i}")))
                .collect(),
        )
        .await
        .unwrap();
    for id in &ids {
        assert_eventually!(ferry.count_for("message.done", id) == 1, "{id} done");
    }
    assert!(
        proxy.calls().iter().any(|c| c == "DeleteMessage"),
        "the failed entry was deleted on its own: {:?}",
        proxy.calls()
    );
    // Deleted on the server, not merely logged: nothing is left in flight to come back.
    let s = f
        .sqs()
        .stats()
        .unwrap()
        .stats(q, "sqs-entry-retry-errors")
        .await
        .unwrap();
    assert_eq!((s.ready, s.in_flight), (0, 0), "{s:?}");
    assert!(ferry.events_of("message.settle_failed").is_empty());
    for i in 0..3 {
        assert_eq!(
            worker.calls_for(&format!("e{i}")).len(),
            1,
            "e{i} handled once"
        );
    }
}
