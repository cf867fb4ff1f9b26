//! Unit tests for [`Line`]: the columns the local store reads come out of the line as the
//! record had them, escaped text included, and a JSON object encodes like a record.

use std::borrow::Cow;

use serde_json::json;

use super::{Column, Line};
use crate::telemetry::{Origin, Record};

fn origin() -> Origin {
    Origin {
        service: "svc".into(),
        version: "1".into(),
        host: "h".into(),
    }
}

#[test]
fn columns_are_read_from_the_line_as_the_record_had_them() {
    let mut r = Record::new();
    r.action("message.retried")
        .outcome("failure")
        .set("ferry.subscription", "orders")
        .set("ferry.message_id", "m-1")
        .set("trace.id", "0af7651916cd43dd8448eb211c80319c")
        .set("ferry.realm", "")
        .message("retry in 1s: card \"declined\"\n\tby the bank")
        .error("déclinée");
    let line = r.encode(&origin());
    let col = |c| line.column(c).map(Cow::into_owned);
    assert_eq!(col(Column::Action).as_deref(), Some("message.retried"));
    assert_eq!(col(Column::Outcome).as_deref(), Some("failure"));
    assert_eq!(col(Column::Subscription).as_deref(), Some("orders"));
    assert_eq!(col(Column::MessageId).as_deref(), Some("m-1"));
    assert_eq!(
        col(Column::TraceId).as_deref(),
        Some("0af7651916cd43dd8448eb211c80319c")
    );
    // Escaped in the JSON, read back as it was.
    assert_eq!(
        col(Column::Message).as_deref(),
        Some("retry in 1s: card \"declined\"\n\tby the bank")
    );
    assert_eq!(col(Column::Error).as_deref(), Some("déclinée"));
    // Empty or absent: none.
    assert_eq!(col(Column::Realm), None);
    assert_eq!(col(Column::PublishedId), None);
    // Borrowed from the line where nothing was escaped.
    assert!(matches!(
        line.column(Column::Action),
        Some(Cow::Borrowed(_))
    ));
}

#[test]
fn a_json_object_encodes_like_a_record() {
    let v = json!({
        "@timestamp": "2026-01-02T03:04:05.5Z",
        "event.action": "x",
        "ferry.message_id": "m \"2\"",
        "n": 7,
        "nested": {"a": [1, 2]},
    });
    let line = Line::from_value(&v);
    assert_eq!(line.to_value(), v);
    assert_eq!(line.ts_ms(), 1_767_323_045_500);
    assert_eq!(line.column(Column::MessageId).as_deref(), Some("m \"2\""));
    assert_eq!(line.column(Column::Action).as_deref(), Some("x"));
}

#[test]
fn a_string_is_escaped_wherever_its_special_byte_falls() {
    // Lengths and positions across the vector loop's widths, each special byte in turn.
    for special in ['"', '\\', '\n', '\u{0}', '\u{1f}'] {
        for len in 1..70 {
            for at in 0..len {
                let s: String = (0..len)
                    .map(|i| if i == at { special } else { 'a' })
                    .collect();
                let mut out = Vec::new();
                super::string(&mut out, &s);
                let back: String = serde_json::from_slice(&out).unwrap();
                assert_eq!(back, s, "{special:?} at {at} of {len}");
            }
        }
    }
    let mut out = Vec::new();
    super::string(&mut out, "plain é ✓");
    assert_eq!(out, "\"plain é ✓\"".as_bytes());
}
