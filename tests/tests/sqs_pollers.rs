//! SQS with several receive loops per subscription (`pollers`): they share the
//! subscription's limits — never more calls at once than `max_in_flight`, never a message
//! received beyond the room there is (which ferry would hand back as `overflow`) — and
//! every message is handled once.
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

use ferry_tests::{
    Sub, TestWorker, assert_eventually,
    conformance::{ferry_on, publish},
    fixtures::Sqs,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_pollers_share_the_limits_and_deliver_once() {
    let f = Sqs::new().await;
    let q = "sqs-pollers";
    let worker = TestWorker::start().await;
    let ferry = ferry_on(&f, &worker.url(), &[q])
        .await
        .sub(
            Sub::new("s")
                .set("queue", &format!("\"{q}\""))
                .set("pollers", "3")
                .set("max_in_flight", "4")
                .set("batch_size", "2"),
        )
        .spawn()
        .await;
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(publish(&f, q, &format!("m{i}"), &[("t.sleep_ms", "100")]).await);
    }
    assert_eventually!(
        ids.iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "all done"
    );
    let calls = worker.calls();
    assert_eq!(calls.len(), 30, "each message handled once");
    let max = calls.iter().map(|c| c.concurrent).max().unwrap();
    assert!(max <= 4, "{max} concurrent calls with max_in_flight = 4");
    assert!(max >= 2, "calls did run concurrently ({max})");
    for action in ["message.handed_back", "message.retried"] {
        assert!(
            ferry.events_of(action).is_empty(),
            "{action}: {:?}",
            ferry.events_of(action)
        );
    }
}
