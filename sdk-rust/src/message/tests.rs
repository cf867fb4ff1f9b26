//! Unit tests for [`Message`](super::Message): JSON payloads, attempts, trace ids.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::{Message, TraceContext};
use crate::error::JsonError;

#[derive(Debug, Deserialize, PartialEq)]
struct Order {
    id: u32,
}

#[test]
fn payload_json_reads_the_typed_value() {
    let msg = Message::new(r#"{"id": 7}"#);
    assert_eq!(msg.payload_json::<Order>().unwrap(), Order { id: 7 });
}

#[test]
fn payload_json_names_the_type_and_position_of_the_error() {
    let err = Message::new("{\"id\": \"x\"}")
        .payload_json::<Order>()
        .unwrap_err();
    assert!(matches!(err, JsonError::Decode { .. }));
    let text = err.to_string();
    assert!(text.contains("Order"), "{text}");
    assert!(text.contains("column"), "{text}");
}

#[test]
fn message_json_round_trips() {
    let msg = Message::json(&serde_json::json!({ "id": 3 })).unwrap();
    assert_eq!(msg.payload_json::<Order>().unwrap(), Order { id: 3 });
    assert_eq!(msg.attempt, 1);
}

#[test]
fn last_attempt_needs_a_known_maximum() {
    let msg = Message {
        attempt: 2,
        max_attempts: 3,
        ..Message::new("")
    };
    assert!(!msg.is_last_attempt());
    assert!(
        Message {
            attempt: 3,
            ..msg.clone()
        }
        .is_last_attempt()
    );
    assert!(
        !Message {
            attempt: 9,
            max_attempts: 0,
            ..msg
        }
        .is_last_attempt()
    );
}

#[test]
fn trace_id_is_read_from_traceparent() {
    let trace = |tp: &str| TraceContext {
        traceparent: tp.into(),
        tracestate: String::new(),
    };
    let good = trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert_eq!(good.trace_id(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(trace("").trace_id(), None);
    assert_eq!(trace("00-xyz-00f067aa0ba902b7-01").trace_id(), None);
    assert_eq!(
        trace("00-00000000000000000000000000000000-00f067aa0ba902b7-01").trace_id(),
        None
    );
}

#[test]
fn time_left_is_zero_after_the_deadline() {
    let past = Message {
        deadline: Some(SystemTime::UNIX_EPOCH),
        ..Message::new("")
    };
    assert_eq!(past.time_left(), Some(Duration::ZERO));
    let future = Message {
        deadline: Some(SystemTime::now() + Duration::from_secs(60)),
        ..Message::new("")
    };
    assert!(future.time_left().unwrap() > Duration::from_secs(50));
    assert_eq!(Message::new("").time_left(), None);
}

#[test]
fn attribute_and_payload_str() {
    let mut msg = Message::new(vec![0xff, 0xfe]);
    msg.attributes.insert("k".into(), "v".into());
    assert_eq!(msg.attribute("k"), Some("v"));
    assert_eq!(msg.attribute("missing"), None);
    assert_eq!(msg.payload_str(), None);
}

#[test]
fn span_id_and_sampling_come_from_traceparent() {
    let trace = |tp: &str| TraceContext {
        traceparent: tp.into(),
        tracestate: String::new(),
    };
    let t = trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert_eq!(t.span_id(), Some("00f067aa0ba902b7"));
    assert!(t.sampled());
    assert!(!trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").sampled());
    for bad in [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa-01",
    ] {
        assert_eq!(trace(bad).span_id(), None, "{bad}");
    }
}
