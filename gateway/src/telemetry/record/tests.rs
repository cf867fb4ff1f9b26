//! Unit tests for [`Record`]: a field set again is replaced in place, and serialising a
//! record directly gives the same JSON object as [`Record::into_value`].

use serde_json::{Value, json};

use super::{MessageContext, Origin, Record};

fn origin() -> Origin {
    Origin {
        service: "svc".into(),
        version: "1.2.3".into(),
        host: "h".into(),
    }
}

#[test]
fn a_field_set_again_is_replaced_not_repeated() {
    let mut r = Record::new(&origin());
    r.level("warn")
        .set("ferry.attempt", 1)
        .set("ferry.attempt", 2);
    let line = serde_json::to_string(&r).unwrap_or_default();
    assert_eq!(line.matches("\"log.level\"").count(), 1, "{line}");
    assert_eq!(line.matches("\"ferry.attempt\"").count(), 1, "{line}");
    let v: Value = serde_json::from_str(&line).unwrap_or_default();
    assert_eq!(v["log.level"], "warn");
    assert_eq!(v["ferry.attempt"], 2);
    assert!(
        line.starts_with("{\"@timestamp\":"),
        "first set, first written: {line}"
    );
}

#[test]
fn serialising_directly_equals_the_value() {
    let mut r = Record::new(&origin());
    r.action("message.done")
        .context(&MessageContext {
            subscription: "s".into(),
            queue: "q".into(),
            message_id: "m-1".into(),
            attempt: 3,
            realm: "acme".into(),
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: "b7ad6b7169203331".into(),
            series: None,
        })
        .set(format!("labels.{}", "tenant"), "t \"1\"");
    let direct: Value =
        serde_json::from_slice(&serde_json::to_vec(&r).unwrap_or_default()).unwrap_or_default();
    assert_eq!(direct, r.clone().into_value());
    assert_eq!(direct["labels.tenant"], json!("t \"1\""));
    assert_eq!(direct["ferry.realm"], "acme");
    assert_eq!(direct["service.name"], "svc");
    assert_eq!(direct["trace.id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(direct["span.id"], "b7ad6b7169203331");
    assert_eq!(direct["ecs.version"], super::ECS_VERSION);
}

#[test]
fn the_time_is_written_whole_in_rfc_3339() {
    let at = std::time::UNIX_EPOCH + std::time::Duration::new(1_767_323_045, 123_456_789);
    let mut r = Record::new(&origin());
    r.time(at);
    let line = serde_json::to_string(&r).unwrap_or_default();
    assert!(
        line.starts_with("{\"@timestamp\":\"2026-01-02T03:04:05.123456789Z\","),
        "{line}"
    );
    assert_eq!(
        r.into_value()["@timestamp"],
        "2026-01-02T03:04:05.123456789Z"
    );
}
