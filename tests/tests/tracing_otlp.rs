//! OpenTelemetry spans, read back from a real collector (Jaeger v2 from
//! `scripts/servers/jaeger.sh`): one blast through the demo's two sidecars — one exporting
//! over OTLP gRPC, the other over OTLP HTTP — is one trace with the receive, `Handle`,
//! settle and publish spans, the messaging semantic conventions, and parent links across
//! both sidecars; a sampling ratio of 0 exports nothing.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    conformance::{ferry_on, publish},
    ferry::{blast_bin, free_port},
    fixtures::{BackendFixture, Embedded},
    jaeger::{self, JaegerSpan},
};

fn tracing(endpoint_var: &str, protocol: &str, service: &str, ratio: &str) -> String {
    format!(
        "[tracing]\notlp_endpoint = \"{}\"\nprotocol = \"{protocol}\"\nservice_name = \"{service}\"\nsample_ratio = {ratio}\n",
        jaeger::env(endpoint_var)
    )
}

fn named<'a>(spans: &'a [JaegerSpan], name: &str) -> Vec<&'a JaegerSpan> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blast_is_one_connected_trace_in_the_collector() {
    let grpc = tracing("FERRY_TEST_JAEGER_OTLP_GRPC", "grpc", "list-sidecar", "1");
    let http = tracing(
        "FERRY_TEST_JAEGER_OTLP_HTTP",
        "http",
        "customer-sidecar",
        "1",
    );
    let f = Embedded::new().await;
    let out = tempfile::tempdir().unwrap();
    let directory =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rust/blast/data/directory.json");
    let sidecar = |queue: &str, bin: &str, tracing: &str| {
        FerryBuilder::new(
            f.backend_toml(),
            &format!("http://127.0.0.1:{}", free_port()),
        )
        .toml(tracing)
        .sub(Sub::new("s").set("queue", &format!("\"{queue}\"")))
        .worker_command(&[blast_bin(bin).to_str().unwrap()])
        .env("BLAST_DATA", directory.display().to_string())
        .env(
            "BLAST_OUTBOX",
            out.path().join("o.jsonl").display().to_string(),
        )
        .env(
            "BLAST_ACTIVITIES",
            out.path().join("a.jsonl").display().to_string(),
        )
    };
    let lists = sidecar("BlastCustomerListSender", "blast-list-sender", &grpc)
        .spawn()
        .await;
    let customers = sidecar("BlastCustomerSender", "blast-customer-sender", &http)
        .spawn()
        .await;
    let blast = publish(
        &f,
        "BlastCustomerListSender",
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rust/blast/data/blast.json"),
        )
        .unwrap(),
        &[("realm", "acct-harbor")],
    )
    .await;
    assert_eventually!(
        customers.events_of("message.done").len() == 10,
        "every customer message done"
    );
    let received = lists
        .events_of("message.received")
        .into_iter()
        .find(|e| e["ferry.message_id"] == blast.as_str())
        .unwrap();
    let trace_id = received["trace.id"].as_str().unwrap().to_owned();
    let list_delivery = received["span.id"].as_str().unwrap().to_owned();

    // 1 list delivery and 10 customer deliveries, each: receive, Handle, settle; plus the
    // list's one publish of its 10 follow-ups.
    assert_eventually!(
        jaeger::trace(&trace_id).await.len() >= 34,
        "the blast's spans reach Jaeger"
    );
    let spans = jaeger::trace(&trace_id).await;
    assert_eq!(spans.len(), 34, "{spans:#?}");

    let list_receive = named(&spans, "receive BlastCustomerListSender");
    assert_eq!(list_receive.len(), 1);
    let r = list_receive[0];
    assert_eq!(
        r.span_id, list_delivery,
        "the span id ferry logs and hands on"
    );
    assert_eq!(r.service, "list-sidecar");
    assert_eq!(r.kind, "consumer");
    for (key, want) in [
        ("messaging.system", "embedded"),
        ("messaging.destination.name", "BlastCustomerListSender"),
        ("messaging.message.id", blast.as_str()),
        ("messaging.operation.type", "receive"),
        ("ferry.subscription", "s"),
        ("ferry.realm", "acct-harbor"),
    ] {
        assert_eq!(r.tag(key).as_deref(), Some(want), "{key} on {r:#?}");
    }

    let send = named(&spans, "send BlastCustomerSender");
    assert_eq!(send.len(), 1, "one publish of the fan-out");
    assert_eq!(send[0].kind, "producer");
    assert_eq!(send[0].parent.as_deref(), Some(list_delivery.as_str()));
    assert_eq!(
        send[0].tag("messaging.operation.type").as_deref(),
        Some("send")
    );
    assert_eq!(
        send[0].tag("messaging.batch.message_count").as_deref(),
        Some("10")
    );

    let customer_receive = named(&spans, "receive BlastCustomerSender");
    assert_eq!(customer_receive.len(), 10);
    for c in &customer_receive {
        assert_eq!(c.service, "customer-sidecar", "exported over OTLP HTTP");
        assert_eq!(
            c.parent.as_deref(),
            Some(send[0].span_id.as_str()),
            "a customer delivery is a child of the list's publish, across sidecars"
        );
    }

    let delivery_ids: Vec<&str> = list_receive
        .iter()
        .chain(&customer_receive)
        .map(|s| s.span_id.as_str())
        .collect();
    let handles = named(&spans, "ferry.v1.WorkerService/Handle");
    assert_eq!(handles.len(), 11);
    for h in &handles {
        assert_eq!(h.kind, "client");
        assert!(
            delivery_ids.contains(&h.parent.as_deref().unwrap_or_default()),
            "{h:#?}"
        );
    }
    let settles: Vec<&JaegerSpan> = spans
        .iter()
        .filter(|s| s.name.starts_with("settle "))
        .collect();
    assert_eq!(settles.len(), 11);
    for s in &settles {
        assert_eq!(s.tag("messaging.operation.type").as_deref(), Some("settle"));
        assert_eq!(s.tag("ferry.outcome").as_deref(), Some("done"));
        assert!(
            delivery_ids.contains(&s.parent.as_deref().unwrap_or_default()),
            "{s:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_ratio_of_zero_exports_nothing() {
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let spawn = |queue: &'static str, ratio: &'static str| {
        let f = &f;
        let worker = &worker;
        async move {
            ferry_on(f, &worker.url(), &[queue])
                .await
                .toml(&tracing(
                    "FERRY_TEST_JAEGER_OTLP_GRPC",
                    "grpc",
                    "sampling",
                    ratio,
                ))
                .sub(Sub::new("s").set("queue", &format!("\"{queue}\"")))
                .spawn()
                .await
        }
    };
    let mut none = spawn("q-unsampled", "0").await;
    let mut all = spawn("q-sampled", "1").await;
    let a = publish(&f, "q-unsampled", "a", &[]).await;
    let b = publish(&f, "q-sampled", "b", &[]).await;
    assert_eventually!(
        none.count_for("message.done", &a) == 1 && all.count_for("message.done", &b) == 1,
        "both handled"
    );
    let trace_of = |p: &ferry_tests::FerryProcess, id: &str| {
        p.events_of("message.received")
            .into_iter()
            .find(|e| e["ferry.message_id"] == id)
            .unwrap()["trace.id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (ta, tb) = (trace_of(&none, &a), trace_of(&all, &b));
    // Both stop gracefully (which flushes their spans), the unsampled one first; once the
    // sampled one's trace is in Jaeger, the unsampled one had every chance to get there.
    none.signal(nix::sys::signal::Signal::SIGTERM);
    none.wait().await;
    all.signal(nix::sys::signal::Signal::SIGTERM);
    all.wait().await;
    assert_eventually!(
        jaeger::trace(&tb).await.len() == 3,
        "the sampled delivery's receive, Handle and settle spans"
    );
    assert!(
        jaeger::trace(&ta).await.is_empty(),
        "nothing of the unsampled trace"
    );
}
