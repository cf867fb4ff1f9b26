//! Unit tests for message inspection, trace context and outgoing validation.

use std::collections::BTreeMap;

use ferry_proto::v1::OutgoingMessage;

use super::*;
use crate::{
    backend::{DEFAULT_HORIZON, Receipt, Received},
    config::LimitsConfig,
};

fn received(payload: &[u8], attributes: &[(&str, &str)]) -> Received {
    Received {
        id: "m1".into(),
        queue: "q".into(),
        payload: payload.to_vec().into(),
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        malformed: None,
        attempt: 1,
        published_at: None,
        dedup_id: None,
        failures: None,
        receipt: Receipt("1.x".into()),
    }
}

#[test]
fn realm_and_trace_are_read() {
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let i = inspect(
        &received(b"x", &[("tenant", "acme"), ("traceparent", tp)]),
        "tenant",
        &LimitsConfig::default(),
    )
    .unwrap();
    assert_eq!(i.realm, "acme");
    assert_eq!(i.trace.trace_id(), "0af7651916cd43dd8448eb211c80319c");
    assert!(!i.trace.created);
}

#[test]
fn missing_trace_gets_a_stable_id_per_message() {
    let a = TraceContext::from_attributes(&BTreeMap::new(), "msg-1");
    let b = TraceContext::from_attributes(&BTreeMap::new(), "msg-1");
    let c = TraceContext::from_attributes(&BTreeMap::new(), "msg-2");
    assert!(a.created);
    assert_eq!(a.trace_id(), b.trace_id());
    assert_ne!(a.trace_id(), c.trace_id());
    assert_eq!(trace_id_of(&a.traceparent()).map(str::len), Some(32));
    assert_eq!(span_id_of(&a.traceparent()), Some(a.parent_span()));
}

#[test]
fn invalid_traceparents_are_rejected() {
    for tp in [
        "",
        "00-abc-def-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ] {
        assert!(trace_id_of(tp).is_none(), "{tp}");
    }
}

#[test]
fn a_delivery_is_a_child_span_in_the_message_trace() {
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let attrs: BTreeMap<String, String> = [("traceparent".into(), tp.into())].into();
    let a = TraceContext::from_attributes(&attrs, "m1");
    let b = TraceContext::from_attributes(&attrs, "m1");
    assert_eq!(a.parent_span(), "b7ad6b7169203331");
    let d = a.delivery_traceparent();
    assert_eq!(trace_id_of(&d), Some("0af7651916cd43dd8448eb211c80319c"));
    assert_eq!(span_id_of(&d), Some(a.delivery_span.as_str()));
    assert_ne!(
        a.delivery_span.as_str(),
        "b7ad6b7169203331",
        "a span of its own"
    );
    assert_ne!(a.delivery_span, b.delivery_span, "fresh per delivery");
    assert!(d.starts_with("00-") && d.ends_with("-01"), "{d}");
    assert!(a.sampled());
}

#[test]
fn flags_are_kept_and_unsampled_is_not_sampled() {
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    let attrs: BTreeMap<String, String> = [("traceparent".into(), tp.into())].into();
    let t = TraceContext::from_attributes(&attrs, "m1");
    assert!(!t.sampled());
    assert!(t.delivery_traceparent().ends_with("-00"));
    assert_eq!(t.traceparent(), tp);
    let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0a";
    let attrs: BTreeMap<String, String> = [("traceparent".into(), other.into())].into();
    assert_eq!(
        TraceContext::from_attributes(&attrs, "m1").child("00f067aa0ba902b7"),
        "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-0a"
    );
}

#[test]
fn an_invalid_traceparent_gets_a_fresh_trace_never_a_panic() {
    for tp in [
        "garbage",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "\u{e9}\u{e9}-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ] {
        let attrs: BTreeMap<String, String> = [("traceparent".into(), tp.into())].into();
        let t = TraceContext::from_attributes(&attrs, "m1");
        assert!(t.created, "{tp}");
        assert_eq!(t.trace_id().len(), 32, "{tp}");
        assert!(span_id_of(&t.delivery_traceparent()).is_some(), "{tp}");
    }
    // A future version may carry more fields.
    let v1 = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more";
    assert_eq!(trace_id_of(v1), Some("0af7651916cd43dd8448eb211c80319c"));
}

#[test]
fn follow_ups_get_the_context_unless_they_have_their_own_or_no_room() {
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let mut plain = BTreeMap::new();
    assert!(stamp_follow_up(&mut plain, tp, "v=1", 64));
    assert_eq!(plain["traceparent"], tp);
    assert_eq!(plain["tracestate"], "v=1");

    let own = "00-11111111111111111111111111111111-2222222222222222-01";
    let mut theirs: BTreeMap<String, String> = [("traceparent".into(), own.into())].into();
    assert!(!stamp_follow_up(&mut theirs, tp, "v=1", 64));
    assert_eq!(theirs["traceparent"], own);
    assert!(!theirs.contains_key("tracestate"));

    let mut full: BTreeMap<String, String> = [("a".into(), "1".into())].into();
    assert!(!stamp_follow_up(&mut full, tp, "", 1), "at the limit");
    assert_eq!(full.len(), 1);
}

#[test]
fn oversized_payload_is_malformed() {
    let limits = LimitsConfig {
        max_payload_bytes: crate::bounded::Count::of(4),
        ..LimitsConfig::default()
    };
    let e = inspect(&received(b"12345", &[]), "realm", &limits).unwrap_err();
    assert_eq!(e, "payload of 5 bytes exceeds limits.max_payload_bytes (4)");
}

#[test]
fn bad_realm_and_undecodable_attributes_are_malformed() {
    let long = "r".repeat(200);
    let e = inspect(
        &received(b"", &[("realm", &long)]),
        "realm",
        &LimitsConfig::default(),
    )
    .unwrap_err();
    assert!(e.contains("malformed realm attribute `realm`"), "{e}");
    let mut m = received(b"", &[]);
    m.malformed = Some("not JSON".into());
    assert_eq!(
        inspect(&m, "realm", &LimitsConfig::default()).unwrap_err(),
        "malformed attributes: not JSON"
    );
}

fn outgoing(dest: &str) -> OutgoingMessage {
    OutgoingMessage {
        destination: dest.into(),
        payload: b"hi".to_vec().into(),
        ..Default::default()
    }
}

#[test]
fn outgoing_gets_realm_and_default_dedup() {
    let mut m = outgoing("out");
    m.realm = "acme".into();
    let n = to_new_message(
        m,
        "tenant",
        Some("in/0".into()),
        &LimitsConfig::default(),
        DEFAULT_HORIZON,
    )
    .unwrap();
    assert_eq!(n.attributes["tenant"], "acme");
    assert_eq!(n.dedup_id.as_deref(), Some("in/0"));
    let mut m = outgoing("out");
    m.deduplication_id = "mine".into();
    let n = to_new_message(
        m,
        "realm",
        Some("in/0".into()),
        &LimitsConfig::default(),
        DEFAULT_HORIZON,
    )
    .unwrap();
    assert_eq!(n.dedup_id.as_deref(), Some("mine"));
}

#[test]
fn outgoing_errors_name_the_field() {
    let e = to_new_message(
        outgoing("no spaces"),
        "realm",
        None,
        &LimitsConfig::default(),
        DEFAULT_HORIZON,
    )
    .unwrap_err();
    assert_eq!(e.field, "destination");
    let mut m = outgoing("ok");
    m.attributes.insert("ferry.x".into(), "1".into());
    assert_eq!(
        to_new_message(m, "realm", None, &LimitsConfig::default(), DEFAULT_HORIZON)
            .unwrap_err()
            .field,
        "attributes"
    );
    let limits = LimitsConfig {
        max_payload_bytes: crate::bounded::Count::of(1),
        ..LimitsConfig::default()
    };
    assert_eq!(
        to_new_message(outgoing("ok"), "realm", None, &limits, DEFAULT_HORIZON)
            .unwrap_err()
            .field,
        "payload"
    );
}

#[test]
fn schedules_beyond_the_horizon_are_refused() {
    use ferry_proto::v1::outgoing_message::Schedule;
    let day = std::time::Duration::from_secs(86_400);
    let mut m = outgoing("ok");
    m.schedule = Some(Schedule::Delay(prost_types::Duration {
        seconds: i64::MAX,
        nanos: 0,
    }));
    let e = to_new_message(m, "realm", None, &LimitsConfig::default(), day).unwrap_err();
    assert_eq!(e.field, "delay");
    assert!(
        e.reason.contains("beyond the backend's horizon of 1day"),
        "{e}"
    );
    let mut m = outgoing("ok");
    m.schedule = Some(Schedule::DeliverAt(prost_types::Timestamp {
        seconds: i64::MAX / 4,
        nanos: 0,
    }));
    let e = to_new_message(m, "realm", None, &LimitsConfig::default(), day).unwrap_err();
    assert_eq!(e.field, "deliver_at");
    let mut m = outgoing("ok");
    m.schedule = Some(Schedule::Delay(prost_types::Duration {
        seconds: 3600,
        nanos: 0,
    }));
    let n = to_new_message(m, "realm", None, &LimitsConfig::default(), day).unwrap();
    assert!(n.deliver_at.is_some());
}
