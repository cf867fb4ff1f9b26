//! Conformance case: one trace per flow. The worker sees the delivery's own span; the
//! records of the delivery carry it as `span.id`; follow-up messages (from the answer or
//! from `GatewayService.Publish` with `traceparent` metadata) carry a `traceparent` with
//! the input's trace id and the delivery's span as parent, unless they set their own.

use ferry_sdk::{GatewayClient, Outgoing, TraceContext};

use super::{ferry_on, publish};
use crate::{Sub, TestWorker, assert_eventually, fixtures::BackendFixture};

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PUBLISHER_SPAN: &str = "b7ad6b7169203331";
const OWN: &str = "00-11111111111111111111111111111111-2222222222222222-01";
const CALLER: &str = "00-33333333333333333333333333333333-4444444444444444-01";

/// (trace id, span id) of a `traceparent`.
fn ids(traceparent: &str) -> (String, String) {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "a version-00 traceparent: {traceparent}");
    assert_eq!(parts[1].len(), 32, "{traceparent}");
    assert_eq!(parts[2].len(), 16, "{traceparent}");
    (parts[1].to_owned(), parts[2].to_owned())
}

pub async fn follow_ups_join_the_delivery_trace(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-tr", "q-tr-out", "q-tr-own"])
        .await
        .sub(Sub::new("a").set("queue", "\"q-tr\""))
        .sub(Sub::new("b").set("queue", "\"q-tr-out\""))
        .sub(Sub::new("c").set("queue", "\"q-tr-own\""))
        .spawn()
        .await;
    let publisher = format!("00-{TRACE}-{PUBLISHER_SPAN}-01");
    let parent = publish(
        f,
        "q-tr",
        "parent",
        &[
            ("traceparent", publisher.as_str()),
            ("t.fanout", "2"),
            ("t.fanout_to", "q-tr-out"),
        ],
    )
    .await;
    let keeps = publish(
        f,
        "q-tr",
        "keeps",
        &[
            ("t.fanout", "1"),
            ("t.fanout_to", "q-tr-own"),
            ("t.fanout_traceparent", OWN),
        ],
    )
    .await;
    let gateway = GatewayClient::connect(ferry.gateway_url()).await.unwrap();
    let caller = TraceContext {
        traceparent: CALLER.to_owned(),
        tracestate: "v=1".to_owned(),
    };
    gateway
        .publish_in(
            Some(&caller),
            vec![Outgoing::new("q-tr-own", "in the caller's trace")],
        )
        .await
        .unwrap();
    gateway
        .publish(vec![Outgoing::new("q-tr-own", "no trace")])
        .await
        .unwrap();
    assert_eventually!(
        worker.calls().len() == 7,
        "2 parents, 3 children and 2 gateway messages handled"
    );
    let calls = worker.calls();
    let call = |payload: &str| {
        calls
            .iter()
            .find(|c| c.payload == payload)
            .unwrap_or_else(|| panic!("no call for {payload}"))
            .clone()
    };

    // The worker gets the delivery's own span in the message's trace.
    let p = call("parent");
    assert_eq!(p.id, parent);
    let (trace, delivery) = ids(&p.traceparent);
    assert_eq!(trace, TRACE, "the message's trace id is kept");
    assert_ne!(
        delivery, PUBLISHER_SPAN,
        "the delivery is a span of its own"
    );

    // Every record about the delivery carries that span and the ECS version.
    assert_eventually!(ferry.count_for("message.done", &parent) == 1, "parent done");
    let records: Vec<_> = ferry
        .events()
        .into_iter()
        .filter(|e| e["ferry.message_id"] == parent.as_str())
        .collect();
    for action in [
        "message.received",
        "worker.log",
        "message.published",
        "message.done",
    ] {
        assert!(
            records.iter().any(|e| e["event.action"] == action),
            "a {action} record: {records:?}"
        );
    }
    for r in &records {
        assert_eq!(r["trace.id"], TRACE, "{r}");
        assert_eq!(r["span.id"], delivery.as_str(), "{r}");
        assert!(
            r["ecs.version"].as_str().is_some_and(|v| !v.is_empty()),
            "{r}"
        );
    }

    // Its follow-ups carry the trace with the delivery's span as parent; each of their own
    // deliveries is a new span in the same trace.
    for i in 0..2 {
        let child = call(&format!("child {i} of {parent}"));
        assert_eq!(
            child.attributes.get("traceparent").map(String::as_str),
            Some(format!("00-{TRACE}-{delivery}-01").as_str()),
            "follow-up {i} is a child of the delivery"
        );
        let (child_trace, child_span) = ids(&child.traceparent);
        assert_eq!(child_trace, TRACE);
        assert_ne!(child_span, delivery);
    }

    // A follow-up with its own traceparent keeps it.
    let own = call(&format!("child 0 of {keeps}"));
    assert_eq!(
        own.attributes.get("traceparent").map(String::as_str),
        Some(OWN),
        "the worker's own traceparent is kept"
    );
    assert_eq!(own.trace_id, "11111111111111111111111111111111");

    // Publish with `traceparent` metadata: the message joins the caller's trace.
    let via = call("in the caller's trace");
    assert_eq!(
        via.attributes.get("traceparent").map(String::as_str),
        Some(CALLER)
    );
    assert_eq!(
        via.attributes.get("tracestate").map(String::as_str),
        Some("v=1")
    );
    assert_eq!(via.trace_id, "33333333333333333333333333333333");
    let plain = call("no trace");
    assert!(!plain.attributes.contains_key("traceparent"), "{plain:?}");
    assert_eq!(plain.trace_id.len(), 32, "a trace of its own");
}
