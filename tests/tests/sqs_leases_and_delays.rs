//! SQS: the lease outlives the queue's own visibility timeout by heartbeats, and a
//! deliver-at beyond the native 15-minute delay is reached by re-delaying on receive (with
//! the horizon lowered to 1 s so the test is quick).
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_sqs::types::QueueAttributeName;
use ferry::backend::{Backend, NewMessage};
use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    conformance::ferry_on,
    fixtures::{BackendFixture, Sqs},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_is_extended_past_the_queue_visibility_timeout() {
    let f = Sqs::new().await;
    let q = "sqs-lease";
    let url = f
        .create_queue(q, &[(QueueAttributeName::VisibilityTimeout, "1")])
        .await;
    f.create_queue("sqs-lease-errors", &[]).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(
            Sub::new("s")
                .set("queue", &format!("\"{q}\""))
                .set("lease", "\"1s\"")
                .set("handler_timeout", "\"20s\""),
        )
        .spawn()
        .await;
    let id = f
        .sqs()
        .publish(vec![
            NewMessage::new(q, "long").attribute("t.sleep_ms", "5000"),
        ])
        .await
        .unwrap()
        .remove(0);
    assert_eventually!(worker.calls_for("long").len() == 1, "the call started");
    // Another consumer polls all along: the message never becomes visible to it.
    let mut stolen = 0;
    while worker.calls_for("long")[0].finished.is_none() {
        let out = f
            .client()
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        stolen += out.messages().len();
    }
    assert_eq!(
        stolen, 0,
        "the message was visible to another consumer while its handler ran"
    );
    assert_eventually!(ferry.count_for("message.done", &id) == 1, "done");
    assert_eq!(worker.calls_for("long").len(), 1, "delivered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_at_beyond_the_native_delay_is_honoured() {
    // The native horizon lowered from 15 minutes to 1 second: a message due in 4 s is sent
    // with a 1 s delay and re-delayed on each early receive.
    let f = Sqs::with_config(|c| c.max_native_delay = ferry::bounded::Span::secs(1)).await;
    let q = "sqs-deliver-at";
    let worker = TestWorker::start().await;
    let ferry = ferry_on(&f, &worker.url(), &[q])
        .await
        .sub(Sub::new("s").set("queue", &format!("\"{q}\"")))
        .spawn()
        .await;
    let published = Instant::now();
    let mut m = NewMessage::new(q, "later").attribute("k", "v");
    m.deliver_at = Some(SystemTime::now() + Duration::from_secs(4));
    let id = f.sqs().publish(vec![m]).await.unwrap().remove(0);
    assert_eventually!(
        ferry.count_for("message.done", &id) == 1,
        "delivered when due"
    );
    let calls = worker.calls_for("later");
    assert_eq!(calls.len(), 1);
    let waited = calls[0].started - published;
    assert!(
        waited >= Duration::from_millis(3900),
        "delivered after {waited:?}, before its deliver-at"
    );
    assert_eq!(calls[0].attempt, 1, "re-delays are not attempts");
    assert_eq!(
        calls[0].attributes["k"], "v",
        "attributes survive the re-delays"
    );
    assert_eq!(calls[0].id, id, "the id survives the re-delays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_within_the_horizon_are_native() {
    let f = Sqs::new().await;
    let q = "sqs-native-delay";
    f.create_queue(q, &[]).await;
    let b = f.sqs();
    let mut m = NewMessage::new(q, "soon");
    m.deliver_at = Some(SystemTime::now() + Duration::from_secs(60));
    b.publish(vec![m]).await.unwrap();
    let s = b.stats().unwrap().stats(q, q).await.unwrap();
    assert_eq!(
        (s.ready, s.delayed),
        (0, 1),
        "SQS holds it as a delayed message"
    );
}
