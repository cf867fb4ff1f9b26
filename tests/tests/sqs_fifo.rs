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
    ordering::{assert_in_order, keyed, two_keys},
};

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
    let ids = f.sqs().publish(two_keys(q, 0)).await.unwrap();
    assert_eventually!(
        ids.iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "all done"
    );
    assert_in_order(&worker.calls());
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
