//! The Pub/Sub error queue, on Google's Pub/Sub emulator: ferry makes the error topic's
//! subscription while it starts, so a letter published into the topic at any time after
//! is kept, and a burst of messages dead-lettered at once leaves every one of them in the
//! error subscription. (Before, the subscription was made on the first dead letter: one
//! told "already exists" while another's creation was still under way published into a
//! topic the subscription was not attached to yet, and its letter was gone.) A redrive that
//! fails gives back at once the letters it had pulled.
#![cfg(feature = "pubsub")]
#![allow(clippy::unwrap_used, missing_docs)]

use ferry::backend::{Backend, NewMessage};
use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    conformance::{a_failed_redrive_leaves_its_letters_listed, dead_letters},
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

/// Ferry makes the error subscription while it starts, before it receives: a letter that
/// reaches the error topic at any time after that is kept. (Before, the subscription was
/// made on the first dead letter, and a letter another ferry process published into the
/// topic meanwhile — told "already exists" while the first process's creation was under
/// way — was not kept, as within one process before the fix above.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_subscription_is_made_before_the_first_receive() {
    let f = Pubsub::new().await;
    f.create_queues(&["early"]).await;
    let worker = TestWorker::start().await;
    let _ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .sub(Sub::new("early"))
        .spawn()
        .await;
    // What another process's dead letter does: publish into the error topic.
    f.pubsub()
        .publish(vec![NewMessage::new("early-errors", "from another ferry")])
        .await
        .expect("the error topic exists once ferry has started");
    assert_eventually!(
        dead_letters(&f, "early").await.len() == 1,
        "the letter is kept in early-errors: {:?}",
        dead_letters(&f, "early").await
    );
}

/// An error subscription ferry cannot use stops `ferry run` at start-up, naming the key —
/// not the first dead letter, hours later. Here `clash-errors` exists but reads another
/// topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_error_subscription_stops_the_start() {
    let f = Pubsub::new().await;
    f.create_queues(&["clash"]).await;
    f.observe("clash", "clash-errors").await;
    let dir = tempfile::tempdir().unwrap();
    let path = f.config_file(&dir, Sub::new("clash"));
    let out = ferry_tests::ferry::run_cli(&path, &["run"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "subscriptions.clash.error_queue: queue `clash-errors`: the subscription \
             `clash-errors` reads topic `clash`, not the error topic `clash-errors`"
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_redrive_gives_back_what_it_pulled() {
    let f = Pubsub::new().await;
    f.create_queues(&["stranded-errors"]).await;
    // `stranded-gone` has no retry subscription: no letter can go back there.
    a_failed_redrive_leaves_its_letters_listed(&f, "stranded", "stranded-gone").await;
}
