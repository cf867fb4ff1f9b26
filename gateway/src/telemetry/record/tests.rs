//! Unit tests for [`Record`]: a field set again is replaced in place, the encoded line is
//! the record in the standard schema, and the time is written whole.

use serde_json::{Value, json};

use super::{ECS_VERSION, MessageContext, Origin, Record};

fn origin() -> Origin {
    Origin {
        service: "svc".into(),
        version: "1.2.3".into(),
        host: "h".into(),
    }
}

#[test]
fn a_field_set_again_is_replaced_not_repeated() {
    let mut r = Record::new();
    r.level("warn")
        .set("ferry.attempt", 1u32)
        .set("ferry.attempt", 2u32);
    let line = r.encode(&origin());
    let json = line.json();
    assert_eq!(json.matches("\"log.level\"").count(), 1, "{json}");
    assert_eq!(json.matches("\"ferry.attempt\"").count(), 1, "{json}");
    let v: Value = serde_json::from_str(json).unwrap_or_default();
    assert_eq!(v["log.level"], "warn");
    assert_eq!(v["ferry.attempt"], 2);
    assert!(
        json.starts_with("{\"@timestamp\":\"") && json.contains("Z\",\"log.level\":\"warn\","),
        "time first, then the level: {json}"
    );
}

#[test]
fn the_line_is_the_record_in_the_standard_schema() {
    let ctx = MessageContext {
        subscription: "s".into(),
        queue: "q".into(),
        message_id: "m-1".into(),
        attempt: 3,
        realm: "acme".into(),
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        span_id: "b7ad6b7169203331".into(),
        series: None,
    };
    let tenant = "t \"1\"\n".to_owned();
    let mut r = Record::new();
    r.action("message.done")
        .context(&ctx)
        .set(format!("labels.{}", "tenant"), &tenant)
        .set("ferry.published", 2usize)
        .set("ferry.ok", true)
        .set("ferry.list", json!(["a", "b"]));
    let v = r.to_value(&origin());
    assert_eq!(v["labels.tenant"], json!("t \"1\"\n"));
    assert_eq!(v["ferry.realm"], "acme");
    assert_eq!(v["ferry.attempt"], 3);
    assert_eq!(v["ferry.published"], 2);
    assert_eq!(v["ferry.ok"], true);
    assert_eq!(v["ferry.list"], json!(["a", "b"]));
    assert_eq!(v["service.name"], "svc");
    assert_eq!(v["service.version"], "1.2.3");
    assert_eq!(v["host.name"], "h");
    assert_eq!(v["ferry.version"], super::FERRY_VERSION);
    assert_eq!(v["trace.id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(v["span.id"], "b7ad6b7169203331");
    assert_eq!(v["ecs.version"], ECS_VERSION);
    assert_eq!(v["log.level"], "info");
}

#[test]
fn the_time_is_written_whole_in_rfc_3339() {
    let at = std::time::UNIX_EPOCH + std::time::Duration::new(1_767_323_045, 123_456_789);
    let mut r = Record::new();
    r.time(at);
    let line = r.encode(&origin());
    assert!(
        line.json()
            .starts_with("{\"@timestamp\":\"2026-01-02T03:04:05.123456789Z\","),
        "{}",
        line.json()
    );
    assert_eq!(line.ts_ms(), 1_767_323_045_123);
}
