//! The Pub/Sub error queue that ferry makes on demand, on Google's Pub/Sub emulator: a
//! burst of messages dead-lettered at once, before the error topic and its subscription
//! exist, leaves every one of them in the error subscription. (Before the fix, each
//! dead letter made the subscription itself; one that was told "already exists" while
//! another's creation was still under way published into a topic the subscription was not
//! attached to yet, and its letter was gone.)
#![cfg(feature = "pubsub")]
#![allow(clippy::unwrap_used, missing_docs)]

use ferry::backend::{Backend, NewMessage};
use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    conformance::dead_letters,
    fixtures::{BackendFixture, Pubsub},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_first_dead_letters_keeps_every_letter() {
    const N: usize = 24;
    let f = Pubsub::new().await;
    f.create_queues(&["burst"]).await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(Sub::new("burst").set("max_in_flight", "64"))
        .spawn()
        .await;
    let messages = (0..N)
        .map(|i| {
            NewMessage::new("burst", format!("doomed-{i}")).attribute("t.outcome", "dead_letter")
        })
        .collect();
    f.pubsub().publish(messages).await.unwrap();
    assert_eventually!(
        ferry.events_of("message.dead_lettered").len() == N,
        "every message is dead-lettered: {}",
        ferry.events_of("message.dead_lettered").len()
    );
    let kept = || async {
        dead_letters(&f, "burst")
            .await
            .into_iter()
            .map(|l| String::from_utf8_lossy(&l.payload).into_owned())
            .collect::<Vec<_>>()
    };
    assert_eventually!(
        kept().await.len() == N,
        "all {N} letters are in burst-errors: {:?}",
        kept().await
    );
}
