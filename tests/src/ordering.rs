//! The ordering-key scenario shared by the SQS FIFO and Pub/Sub tests: two keys, five
//! messages each, one message of each key failing before it succeeds. [`two_keys`] builds
//! the messages; [`assert_in_order`] checks what the worker saw: per key, publish order with
//! each retry in place, and no call of a key starting before the previous one finished.

use ferry::backend::NewMessage;

use crate::Call;

/// A message for `queue` with ordering key (SQS message group) `key`.
pub fn keyed(queue: &str, payload: &str, key: &str) -> NewMessage {
    let mut m = NewMessage::new(queue, payload.to_owned());
    m.ordering_key = Some(key.to_owned());
    m
}

/// `a0..a4` (key `A`) and `b0..b4` (key `B`), interleaved; `a1` fails once and `b2` twice
/// before they succeed. Each call sleeps `sleep_ms` (0 for none).
pub fn two_keys(queue: &str, sleep_ms: u64) -> Vec<NewMessage> {
    let mut messages = Vec::new();
    for i in 0..5 {
        let mut a = keyed(queue, &format!("a{i}"), "A");
        let mut b = keyed(queue, &format!("b{i}"), "B");
        if i == 1 {
            a = a.attribute("t.fail_until", "2");
        }
        if i == 2 {
            b = b.attribute("t.fail_until", "3");
        }
        if sleep_ms > 0 {
            a = a.attribute("t.sleep_ms", sleep_ms.to_string());
            b = b.attribute("t.sleep_ms", sleep_ms.to_string());
        }
        messages.push(a);
        messages.push(b);
    }
    messages
}

/// Asserts the calls of [`two_keys`]' messages came in order per key, retries in place,
/// and never overlapped within a key.
pub fn assert_in_order(calls: &[Call]) {
    let mut calls = calls.to_vec();
    calls.sort_by_key(|c| c.started);
    let expected: [(&str, &[(&str, u32)]); 2] = [
        (
            "a",
            &[
                ("a0", 1),
                ("a1", 1),
                ("a1", 2),
                ("a2", 1),
                ("a3", 1),
                ("a4", 1),
            ],
        ),
        (
            "b",
            &[
                ("b0", 1),
                ("b1", 1),
                ("b2", 1),
                ("b2", 2),
                ("b2", 3),
                ("b3", 1),
                ("b4", 1),
            ],
        ),
    ];
    for (prefix, want) in expected {
        let mine: Vec<&Call> = calls
            .iter()
            .filter(|c| c.payload.starts_with(prefix))
            .collect();
        let got: Vec<(&str, u32)> = mine
            .iter()
            .map(|c| (c.payload.as_str(), c.attempt))
            .collect();
        assert_eq!(got, want, "key of {prefix}: in order, retries in place");
        for w in mine.windows(2) {
            assert!(
                w[1].started >= w[0].finished.unwrap(),
                "{} overlapped {} of the same key",
                w[1].payload,
                w[0].payload
            );
        }
    }
}
