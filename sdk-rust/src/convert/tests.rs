//! Unit tests for the protocol conversions: every reply shape maps to the right
//! `HandleResponse`, and a `HandleRequest` maps to a complete `Message`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use ferry_proto::v1 as pb;
use pb::handle_response::Outcome as PbOutcome;

use super::proto_duration;
use crate::message::Message;
use crate::outgoing::Outgoing;
use crate::reply::{Level, Reply};

#[test]
fn done_maps_with_publish_and_logs() {
    let response = pb::HandleResponse::from(
        Reply::done()
            .publish(
                Outgoing::new("Next", "body")
                    .realm("r1")
                    .dedup_id("d1")
                    .ordering_key("k"),
            )
            .log_with(Level::Warn, "careful", [("x", "1")]),
    );
    assert_eq!(response.outcome, Some(PbOutcome::Done(pb::Done {})));
    let out = &response.publish[0];
    assert_eq!(out.destination, "Next");
    assert_eq!(&out.payload[..], b"body");
    assert_eq!(out.realm, "r1");
    assert_eq!(out.deduplication_id, "d1");
    assert_eq!(out.ordering_key, "k");
    assert_eq!(out.schedule, None);
    let line = &response.logs[0];
    assert_eq!(line.level(), pb::LogLevel::Warn);
    assert_eq!(line.message, "careful");
    assert_eq!(
        line.fields,
        HashMap::from([("x".to_owned(), "1".to_owned())])
    );
    assert!(line.time.is_some());
}

#[test]
fn retry_maps_reason_and_optional_delay() {
    let plain = pb::HandleResponse::from(Reply::retry("later"));
    assert_eq!(
        plain.outcome,
        Some(PbOutcome::Retry(pb::Retry {
            reason: "later".into(),
            delay: None
        }))
    );
    let delayed =
        pb::HandleResponse::from(Reply::retry("later").after(Duration::from_millis(1500)));
    let expected = prost_types::Duration {
        seconds: 1,
        nanos: 500_000_000,
    };
    assert_eq!(
        delayed.outcome,
        Some(PbOutcome::Retry(pb::Retry {
            reason: "later".into(),
            delay: Some(expected)
        }))
    );
}

#[test]
fn dead_letter_maps_reason() {
    let response = pb::HandleResponse::from(Reply::dead_letter("poison"));
    assert_eq!(
        response.outcome,
        Some(PbOutcome::DeadLetter(pb::DeadLetter {
            reason: "poison".into()
        }))
    );
    assert!(response.publish.is_empty());
}

#[test]
fn outgoing_schedule_and_attributes_map() {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let msg = pb::OutgoingMessage::from(Outgoing::new("q", "p").attribute("a", "b").deliver_at(at));
    assert_eq!(
        msg.schedule,
        Some(pb::outgoing_message::Schedule::DeliverAt(
            prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0
            }
        ))
    );
    assert_eq!(msg.attributes["a"], "b");
    let delayed = pb::OutgoingMessage::from(Outgoing::new("q", "p").delay(Duration::from_secs(2)));
    assert_eq!(
        delayed.schedule,
        Some(pb::outgoing_message::Schedule::Delay(
            prost_types::Duration {
                seconds: 2,
                nanos: 0
            }
        ))
    );
}

#[test]
fn outgoing_json_encodes_the_value() {
    let msg = Outgoing::json("q", &serde_json::json!({ "a": 1 })).unwrap();
    assert_eq!(&msg.payload[..], br#"{"a":1}"#);
}

#[test]
fn huge_durations_saturate() {
    assert_eq!(proto_duration(Duration::MAX).seconds, i64::MAX);
}

#[test]
fn request_maps_to_message() {
    let request = pb::HandleRequest {
        payload: "hello".into(),
        attributes: HashMap::from([("realm".to_owned(), "acme".to_owned())]),
        message_id: "m1".into(),
        attempt: 2,
        max_attempts: 5,
        realm: "acme".into(),
        subscription: "orders".into(),
        queue: "Orders".into(),
        trace: Some(pb::TraceContext {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: "v=1".into(),
        }),
        deadline: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        published_at: None,
    };
    let msg = Message::from(request);
    assert_eq!(msg.payload_str(), Some("hello"));
    assert_eq!(msg.id, "m1");
    assert_eq!((msg.attempt, msg.max_attempts), (2, 5));
    assert_eq!(msg.realm.as_deref(), Some("acme"));
    assert_eq!(
        (msg.subscription.as_str(), msg.queue.as_str()),
        ("orders", "Orders")
    );
    assert_eq!(msg.trace_id(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(msg.trace.tracestate, "v=1");
    assert_eq!(
        msg.deadline,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    );
    assert_eq!(msg.published_at, None);
}

#[test]
fn empty_realm_and_missing_trace_map_to_none() {
    let msg = Message::from(pb::HandleRequest::default());
    assert_eq!(msg.realm, None);
    assert_eq!(msg.trace_id(), None);
    assert_eq!(msg.deadline, None);
}
