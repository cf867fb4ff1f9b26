//! Unit tests of the feed's pure parts, without the emulator: the state's buffer, ordering
//! keys, attempt counting and demand, and the bounded ledger.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gcloud_googleapis::pubsub::v1::{PubsubMessage, ReceivedMessage};

use super::{
    ledger::Ledger,
    state::{Source, State},
};
use crate::backend::Failure;

const NATIVE: [bool; 2] = [true, false];
const PLAIN: [bool; 2] = [false, false];

fn delivery(ack: &str, message_id: &str, key: &str, attempt: i32) -> ReceivedMessage {
    ReceivedMessage {
        ack_id: ack.to_owned(),
        message: Some(PubsubMessage {
            message_id: message_id.to_owned(),
            ordering_key: key.to_owned(),
            data: b"x".to_vec(),
            ..PubsubMessage::default()
        }),
        delivery_attempt: attempt,
    }
}

fn with_attrs(mut rm: ReceivedMessage, attrs: &[(&str, String)]) -> ReceivedMessage {
    if let Some(m) = rm.message.as_mut() {
        for (k, v) in attrs {
            m.attributes.insert((*k).to_owned(), v.clone());
        }
    }
    rm
}

fn failure() -> Failure {
    Failure {
        last_error: "boom".into(),
        first_at: UNIX_EPOCH,
        last_at: UNIX_EPOCH,
    }
}

fn state(native: [bool; 2]) -> State {
    let mut st = State::new(native, 8, 100);
    st.begin_receive(8, 30);
    st
}

#[test]
fn a_redelivery_of_a_buffered_message_is_not_an_attempt() {
    // One key: m1 in flight, m2 buffered; m1's retry makes Pub/Sub deliver m2 again.
    let now = Instant::now();
    let mut st = state(NATIVE);
    let wall = SystemTime::now();
    st.accept(
        Source::Main,
        vec![delivery("a1", "m1", "K", 1), delivery("a2", "m2", "K", 1)],
        now,
        wall,
    );
    let first = st.take("s", 8, now);
    assert_eq!(first.received.len(), 1, "one message of the key at a time");
    let m1 = st.forget(&first.received[0].receipt.0).unwrap();
    st.retried_in_place(&m1, failure(), Duration::ZERO, now);
    st.accept(
        Source::Main,
        vec![delivery("a2b", "m2", "K", 2), delivery("a2c", "m2", "K", 3)],
        now,
        wall,
    );
    assert_eq!(st.buffered(), 1, "the redelivery replaces the buffered one");
    st.accept(Source::Main, vec![delivery("a1b", "m1", "K", 2)], now, wall);
    let again = st.take("s", 8, now);
    assert_eq!(again.received[0].attempt, 2, "m1 was given twice");
    let m1 = st.forget(&again.received[0].receipt.0).unwrap();
    st.finished(&m1);
    let m2 = st.take("s", 8, now);
    assert_eq!(
        (m2.received[0].id.as_str(), m2.received[0].attempt),
        ("m2", 1),
        "m2 reached the worker for the first time"
    );
    assert_eq!(m2.received[0].receipt.0, "a2c", "the latest ack id is used");
}

#[test]
fn ordering_keys_hold_until_settled_or_released() {
    let now = Instant::now();
    let mut st = state(PLAIN);
    let wall = SystemTime::now();
    st.accept(
        Source::Main,
        vec![
            delivery("a1", "m1", "K", 0),
            delivery("a2", "m2", "K", 0),
            delivery("b1", "n1", "L", 0),
        ],
        now,
        wall,
    );
    let ids: Vec<String> = st
        .take("s", 8, now)
        .received
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["m1", "n1"]);
    assert!(st.take("s", 8, now).received.is_empty(), "m2 waits for m1");
    let m1 = st.forget("a1").unwrap();
    st.retried_in_place(&m1, failure(), Duration::from_secs(1), now);
    st.accept(Source::Main, vec![delivery("a1b", "m1", "K", 0)], now, wall);
    let retried = st.take("s", 8, now).received;
    assert_eq!(
        (retried[0].id.as_str(), retried[0].attempt),
        ("m1", 2),
        "the retried message keeps its key ahead of m2, its attempt counted in memory"
    );
    assert_eq!(retried[0].failures, Some(failure()));
    let m1 = st.forget("a1b").unwrap();
    st.finished(&m1);
    assert_eq!(st.take("s", 8, now).received[0].id, "m2");
}

#[test]
fn a_copy_keeps_its_count_id_and_first_publish_time() {
    let now = Instant::now();
    let mut st = state(PLAIN);
    let first = UNIX_EPOCH + Duration::from_millis(1_000);
    let copy = with_attrs(
        delivery("r1", "c1", "", 0),
        &[
            ("ferry.id", "m1".into()),
            ("ferry.attempts", "2".into()),
            ("ferry.published_at", "1000".into()),
        ],
    );
    st.accept(Source::Retry, vec![copy], now, SystemTime::now());
    let got = st.take("s", 8, now).received.remove(0);
    assert_eq!((got.id.as_str(), got.attempt), ("m1", 3));
    assert_eq!(got.published_at, Some(first));
    let (source, ack_id) = Source::of_receipt(&got.receipt.0);
    assert_eq!((source, ack_id), (Source::Retry, "r1"));
    assert_eq!(Source::of_receipt("plain"), (Source::Main, "plain"));
    assert_eq!(st.forget(&got.receipt.0).unwrap().source, Source::Retry);
}

#[test]
fn a_message_not_due_is_deferred_and_keeps_its_stream_busy() {
    let now = Instant::now();
    let wall = SystemTime::now();
    let mut st = state(NATIVE);
    let due = crate::backend::pubsub::attrs::to_ms(wall + Duration::from_secs(30));
    let later = with_attrs(
        delivery("a1", "m1", "", 1),
        &[("ferry.deliver_at", due.to_string())],
    );
    let deferred = st.accept(Source::Main, vec![later], now, wall);
    assert_eq!(deferred, [("a1".to_owned(), 30)]);
    assert_eq!(st.buffered(), 0);
    assert!(!st.closable(Source::Main, now + Duration::from_secs(31)));
    assert!(st.closable(Source::Main, now + Duration::from_secs(33)));
    assert!(st.closable(Source::Retry, now));
    // When it comes back due, the deferral is not counted.
    st.accept(Source::Main, vec![delivery("a1b", "m1", "", 2)], now, wall);
    assert_eq!(st.take("s", 8, now).received[0].attempt, 1);
}

#[test]
fn handed_back_deliveries_are_uncounted_and_the_buffer_drains() {
    let now = Instant::now();
    let wall = SystemTime::now();
    let mut st = state(NATIVE);
    st.accept(Source::Main, vec![delivery("a1", "m1", "", 1)], now, wall);
    let got = st.take("s", 1, now).received.remove(0);
    let held = st.forget(&got.receipt.0).unwrap();
    st.handed_back_in_place(&held, Duration::from_millis(50), now);
    st.accept(
        Source::Main,
        vec![delivery("a2", "m1", "", 2), delivery("b1", "m2", "", 1)],
        now,
        wall,
    );
    assert_eq!(st.drain_buffer(Some(Source::Retry)), []);
    let back = st.drain_buffer(None);
    assert_eq!(back.len(), 2);
    st.accept(
        Source::Main,
        vec![delivery("a3", "m1", "", 3), delivery("b2", "m2", "", 2)],
        now,
        wall,
    );
    let attempts: Vec<u32> = st
        .take("s", 8, now)
        .received
        .iter()
        .map(|r| r.attempt)
        .collect();
    assert_eq!(
        attempts,
        [1, 1],
        "neither the hand-back nor the drain counted"
    );
}

#[test]
fn demand_and_fresh_leases() {
    let now = Instant::now();
    let mut st = State::new(PLAIN, 4, 100);
    assert!(!st.wanted(now));
    st.begin_receive(10, 30);
    assert!(st.wanted(now));
    assert_eq!((st.capacity(), st.stream_deadline()), (10, 30));
    st.end_receive(now);
    assert!(st.wanted(now), "wanted for a moment after a receive");
    assert!(!st.wanted(now + Duration::from_secs(2)));
    st.stream_is(Source::Main, 30);
    st.accept(
        Source::Main,
        vec![delivery("a1", "m1", "", 0), delivery("a2", "m2", "", 0)],
        now,
        SystemTime::now(),
    );
    let fresh = st.take("s", 1, now);
    assert!(
        fresh.to_lease.is_empty(),
        "the stream's deadline is the lease"
    );
    let stale = st.take("s", 1, now + Duration::from_secs(10));
    assert_eq!(stale.to_lease, [(Source::Main, "a2".to_owned())]);
    assert!(
        st.wanted(now + Duration::from_secs(9)),
        "deliveries in flight"
    );
    assert!(!st.closable(Source::Main, now));
}

#[test]
fn the_ledger_is_bounded_oldest_first() {
    let mut l = Ledger::new(3);
    for id in ["a", "b", "c", "d"] {
        l.add_uncounted(id, id, 1);
    }
    assert_eq!(l.len(), 3);
    assert_eq!(l.uncounted("a", "a"), 0, "the oldest was forgotten");
    l.add_uncounted("b", "b", 1);
    assert_eq!(l.uncounted("b", "b"), 2);
    assert_eq!(l.uncounted("b", "other copy"), 0);
    l.add_uncounted("e", "e", 1);
    assert!(
        l.get("b").is_none(),
        "updating an entry does not make it newer"
    );
    l.forget("c");
    assert_eq!(l.len(), 2);
    for i in 0..1_000 {
        l.update(&format!("x{i}"), |e| e.retried += 1);
    }
    assert_eq!(l.len(), 3);
    let mut none = Ledger::new(0);
    none.add_uncounted("a", "a", 1);
    assert_eq!(none.len(), 0);
}

#[test]
fn messages_settled_elsewhere_do_not_grow_the_memory() {
    // Deliveries handed back or retried here and then taken by another replica are never
    // settled by this process: their records are bounded by `attempt_memory`.
    let now = Instant::now();
    let wall = SystemTime::now();
    let mut st = State::new(NATIVE, 8, 16);
    st.begin_receive(8, 30);
    for i in 0..100 {
        let id = format!("m{i}");
        st.accept(Source::Main, vec![delivery(&id, &id, "", 1)], now, wall);
        let got = st.take("s", 1, now).received.remove(0);
        let held = st.forget(&got.receipt.0).unwrap();
        if i % 2 == 0 {
            st.handed_back_in_place(&held, Duration::ZERO, now);
        } else {
            st.retried_in_place(&held, failure(), Duration::ZERO, now);
        }
    }
    assert_eq!(st.remembered(), 16);
}
