//! The backend conformance suite: the behaviour of ferry that must hold on every backend,
//! written once. [`conformance_suite!`](crate::conformance_suite) turns each case into a
//! `#[tokio::test]` for one fixture, e.g. `conformance_suite!(Embedded::new())`.

mod limits;
mod outcomes;
mod publish;
mod resilience;
mod trace;

use std::collections::BTreeMap;

use ferry::backend::{DeadLetter, NewMessage, Stats};

pub use limits::*;
pub use outcomes::*;
pub use publish::*;
pub use resilience::*;
pub use trace::*;

use crate::{FerryBuilder, fixtures::BackendFixture};

/// Expands to one test per conformance case for the fixture built by `$fixture` (an
/// expression producing a future of a [`BackendFixture`]), e.g.
/// `conformance_suite!(Embedded::new())`.
#[macro_export]
macro_rules! conformance_suite {
    ($fixture:expr) => {
        $crate::conformance_cases!($fixture;
            done_acks_and_logs_in_context, retry_then_done, worker_chosen_delay_is_honoured_and_capped,
            max_attempts_dead_letters_with_story, dead_letter_outcome, grpc_status_mapping,
            malformed_and_oversized_are_dead_lettered, slow_handler_is_delivered_once,
            concurrency_limits_hold, busy_realm_does_not_starve_others, rate_limit_holds,
            worker_down_burns_no_attempts, sigterm_drains_in_flight, sigterm_hands_back_after_grace,
            kill9_then_restart_loses_nothing, fanout_is_published_before_ack, redrive_resets_attempts,
            follow_ups_join_the_delivery_trace);
    };
}

/// One `#[tokio::test]` per named conformance case (what
/// [`conformance_suite!`](crate::conformance_suite) expands to).
#[macro_export]
macro_rules! conformance_cases {
    ($fixture:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture.await;
                $crate::conformance::$case(&fixture).await;
            }
        )*
    };
}

/// Publishes one message through the fixture's backend; returns its id.
pub async fn publish(
    f: &dyn BackendFixture,
    queue: &str,
    payload: &str,
    attributes: &[(&str, &str)],
) -> String {
    let mut m = NewMessage::new(queue, payload.to_owned());
    for (k, v) in attributes {
        m = m.attribute(*k, *v);
    }
    f.backend().await.publish(vec![m]).await.unwrap().remove(0)
}

/// The stats of `queue` (dead letters counted in `<queue>-errors`).
pub async fn stats(f: &dyn BackendFixture, queue: &str) -> Stats {
    let b = f.backend().await;
    b.stats()
        .expect("stats capability")
        .stats(queue, &format!("{queue}-errors"))
        .await
        .unwrap()
}

/// The dead letters of `<queue>-errors`.
pub async fn dead_letters(f: &dyn BackendFixture, queue: &str) -> Vec<DeadLetter> {
    let b = f.backend().await;
    b.dead_letters()
        .expect("dead-letter capability")
        .list(&format!("{queue}-errors"), 100)
        .await
        .unwrap()
}

/// The story attributes of a dead letter, without the prefix.
pub fn story(d: &DeadLetter) -> BTreeMap<String, String> {
    d.attributes
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("ferry.dlq.")
                .map(|k| (k.to_owned(), v.clone()))
        })
        .collect()
}

/// A builder for ferry on this fixture calling `worker_url`, with `queue`'s error queue
/// and queue created.
pub async fn ferry_on(f: &dyn BackendFixture, worker_url: &str, queues: &[&str]) -> FerryBuilder {
    let mut all: Vec<String> = Vec::new();
    for q in queues {
        all.push((*q).to_owned());
        all.push(format!("{q}-errors"));
    }
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    f.create_queues(&refs).await;
    FerryBuilder::new(f.backend_toml(), worker_url)
}

/// Plants two letters in `<queue>-errors`, redrives them to `missing` (a source queue that
/// does not exist, so the redrive fails) and asserts that the error names it and that both
/// letters are listed right after: given back at once, not left hidden for as long as the
/// redrive would have held them; then the same for a redrive of both by id. Not a
/// conformance case: on the embedded backend every queue exists, so this redrive cannot
/// fail there.
pub async fn a_failed_redrive_leaves_its_letters_listed(
    f: &dyn BackendFixture,
    queue: &str,
    missing: &str,
) {
    let error_queue = format!("{queue}-errors");
    let b = f.backend().await;
    b.publish(vec![
        NewMessage::new(&error_queue, "stranded-1"),
        NewMessage::new(&error_queue, "stranded-2"),
    ])
    .await
    .unwrap();
    let admin = b.dead_letters().expect("dead-letter capability");
    let error = admin
        .redrive(&error_queue, missing, 100)
        .await
        .expect_err("a redrive to a missing queue fails");
    assert!(error.to_string().contains(missing), "{error}");
    let listed = dead_letters(f, queue).await;
    let payloads = |letters: &[DeadLetter]| {
        let mut p: Vec<String> = letters
            .iter()
            .map(|d| String::from_utf8_lossy(&d.payload).into_owned())
            .collect();
        p.sort();
        p
    };
    assert_eq!(
        payloads(&listed),
        ["stranded-1", "stranded-2"],
        "both letters are back in {error_queue} at once"
    );
    // The console's redrive by id: the same, for the chosen letters.
    let ids: Vec<String> = listed.iter().map(|d| d.id.clone()).collect();
    let error = admin
        .redrive_ids(&error_queue, missing, &ids)
        .await
        .expect_err("a redrive to a missing queue fails");
    assert!(error.to_string().contains(missing), "{error}");
    assert_eq!(
        payloads(&dead_letters(f, queue).await),
        ["stranded-1", "stranded-2"],
        "both letters are back in {error_queue} at once after the redrive by id"
    );
}
