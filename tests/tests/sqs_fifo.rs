//! SQS FIFO queues: order per message group (the ordering key) holds through retries, and
//! publishing sets the group and de-duplication ids.
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use ferry::backend::{Backend, NewMessage};
use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    fixtures::{BackendFixture, Sqs},
};

fn keyed(queue: &str, payload: &str, key: &str) -> NewMessage {
    let mut m = NewMessage::new(queue, payload.to_owned());
    m.ordering_key = Some(key.to_owned());
    m
}

async fn fifo(f: &Sqs, name: &str) {
    f.create_queue(name, &[(QueueAttributeName::FifoQueue, "true")])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_per_group_holds_under_retries() {
    let f = Sqs::new().await;
    let (q, eq) = ("sqs-fifo-order.fifo", "sqs-fifo-order-errors.fifo");
    fifo(&f, q).await;
    fifo(&f, eq).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(
            Sub::new("s")
                .set("queue", &format!("\"{q}\""))
                .set("error_queue", &format!("\"{eq}\""))
                .set("max_in_flight", "4"),
        )
        .spawn()
        .await;
    let mut messages = Vec::new();
    for i in 0..5 {
        // a1 fails once and b2 twice before they succeed.
        let mut a = keyed(q, &format!("a{i}"), "A");
        if i == 1 {
            a = a.attribute("t.fail_until", "2");
        }
        let mut b = keyed(q, &format!("b{i}"), "B");
        if i == 2 {
            b = b.attribute("t.fail_until", "3");
        }
        messages.push(a);
        messages.push(b);
    }
    let ids = f.sqs().publish(messages).await.unwrap();
    assert_eventually!(
        ids.iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "all done"
    );
    let mut calls = worker.calls();
    calls.sort_by_key(|c| c.started);
    let group = |prefix: &str| -> Vec<(String, u32)> {
        calls
            .iter()
            .filter(|c| c.payload.starts_with(prefix))
            .map(|c| (c.payload.clone(), c.attempt))
            .collect()
    };
    let expect = |seq: &[(&str, u32)]| -> Vec<(String, u32)> {
        seq.iter().map(|(p, a)| ((*p).to_owned(), *a)).collect()
    };
    assert_eq!(
        group("a"),
        expect(&[
            ("a0", 1),
            ("a1", 1),
            ("a1", 2),
            ("a2", 1),
            ("a3", 1),
            ("a4", 1)
        ])
    );
    assert_eq!(
        group("b"),
        expect(&[
            ("b0", 1),
            ("b1", 1),
            ("b2", 1),
            ("b2", 2),
            ("b2", 3),
            ("b3", 1),
            ("b4", 1)
        ])
    );
    // Within a group nothing ran at once: each call started after the previous finished.
    for prefix in ["a", "b"] {
        let mine: Vec<_> = calls
            .iter()
            .filter(|c| c.payload.starts_with(prefix))
            .collect();
        for w in mine.windows(2) {
            assert!(
                w[1].started >= w[0].finished.unwrap(),
                "{} overlapped {}",
                w[1].payload,
                w[0].payload
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_sets_group_and_deduplication_ids() {
    let f = Sqs::new().await;
    let q = "sqs-fifo-publish.fifo";
    fifo(&f, q).await;
    let b = f.sqs();
    let mut m = keyed(q, "once", "customer-7");
    m.dedup_id = Some("order-42/0".into());
    let first = b.publish(vec![m.clone()]).await.unwrap();
    let again = b.publish(vec![m]).await.unwrap();
    assert_eq!(first, again, "a duplicate reports the original id");
    let got = b
        .receive(q, 10, Duration::from_secs(30), Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "the duplicate was dropped");
    assert_eq!(got[0].dedup_id.as_deref(), Some("order-42/0"));
    let raw = f
        .client()
        .receive_message()
        .queue_url(b.queue_url(q).await.unwrap())
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
        )
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    // The group is locked while `got[0]` is leased; release it and look at the raw message.
    assert!(
        raw.messages().is_empty(),
        "nothing else of the group is delivered while one is in flight"
    );
    b.release(q, &got[0].receipt, Duration::ZERO, None)
        .await
        .unwrap();
    let raw = f
        .client()
        .receive_message()
        .queue_url(b.queue_url(q).await.unwrap())
        .message_system_attribute_names(
            aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
        )
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let group = raw.messages()[0].attributes().unwrap()
        [&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId]
        .clone();
    assert_eq!(group, "customer-7", "the ordering key is the message group");
    let delayed = NewMessage {
        deliver_at: Some(std::time::SystemTime::now() + Duration::from_secs(60)),
        ..keyed(q, "later", "g")
    };
    let err = b.publish(vec![delayed]).await.unwrap_err().to_string();
    assert!(
        err.contains("FIFO queues have no per-message delay"),
        "{err}"
    );
}
