//! The times in ferry's log records, on the embedded backend: `message.received` carries
//! the time the receive that brought the message returned, so the messages of one receive
//! share it however long handing out the batch took, and no message is received after it
//! is done. (Before, the record was stamped when the delivery got round to writing it, and
//! the wait inside ferry before that — on SQS mostly the next receive's preparation — was
//! missing from every figure taken from the logs.)
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;

use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    conformance::publish,
    fixtures::{BackendFixture, Embedded},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_messages_of_one_receive_share_its_time() {
    const N: usize = 5;
    let f = Embedded::new().await;
    f.create_queues(&["stamped"]).await;
    // Ready before ferry starts, so its first receive (batch_size 10) brings all of them.
    let mut ids = Vec::new();
    for i in 0..N {
        ids.push(publish(&f, "stamped", &format!("m{i}"), &[]).await);
    }
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(
            Sub::new("stamped")
                .set("batch_size", "10")
                .set("max_in_flight", "10"),
        )
        .spawn()
        .await;
    assert_eventually!(
        ids.iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "every message done"
    );
    let time_of = |action: &str, id: &str| -> String {
        ferry
            .events_of(action)
            .iter()
            .find(|e| e["ferry.message_id"] == id)
            .and_then(|e| e["@timestamp"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no {action} for {id}"))
    };
    let received: BTreeSet<String> = ids
        .iter()
        .map(|id| time_of("message.received", id))
        .collect();
    assert_eq!(
        received.len(),
        1,
        "one receive, one time for all {N} messages: {received:?}"
    );
    let parse = |t: &str| humantime::parse_rfc3339(t).unwrap();
    for id in &ids {
        assert!(
            parse(&time_of("message.received", id)) <= parse(&time_of("message.done", id)),
            "{id} is received before it is done"
        );
    }
}
