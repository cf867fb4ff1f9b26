//! The Elasticsearch log sink against the real Elasticsearch started by
//! `scripts/servers/elasticsearch.sh` (FERRY_TEST_ELASTICSEARCH_URL): the real `ferry`
//! binary ships its events and the test worker's log lines; the tests read them back from
//! Elasticsearch and through `ferry logs`.
#![cfg(feature = "elasticsearch")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod elasticsearch_support;

use elasticsearch_support::{Logs, es_url, metric};
use ferry_proto::v1::{
    LogContext, LogLine, LogRequest, gateway_service_client::GatewayServiceClient,
};
use ferry_tests::{
    FerryBuilder, FerryProcess, Sub, TestWorker, assert_eventually, conformance::publish,
    fixtures::Embedded,
};
use serde_json::Value;

/// Ferry on the embedded queue with subscription `s` on queue `q`, shipping to `logs`.
async fn ferry(f: &Embedded, worker: &TestWorker, logs: &Logs, version: &str) -> FerryProcess {
    use ferry_tests::fixtures::BackendFixture;
    let builder = FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml(&logs.toml(""))
        .sub(Sub::new("s").set("queue", "\"q\""));
    // service_version is a top-level key: it must come before the first table.
    FerryBuilder::from_config(format!(
        "service_version = \"{version}\"\n{}",
        builder.config()
    ))
    .spawn()
    .await
}

fn actions(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| d["event.action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_land_with_the_templates_mappings() {
    let (f, worker) = (Embedded::new().await, TestWorker::start().await);
    let logs = Logs::new(&es_url(), "mappings");
    let ferry = ferry(&f, &worker, &logs, "2.3.4").await;
    let id = publish(&f, "q", "hello", &[("realm", "acme")]).await;
    assert_eventually!(
        logs.about(&id)
            .await
            .iter()
            .any(|d| d["event.action"] == "message.done"),
        "message.done reaches Elasticsearch"
    );

    for (field, want) in [
        ("@timestamp", "date"),
        ("message", "text"),
        ("error.message", "text"),
        ("log.level", "keyword"),
        ("event.action", "keyword"),
        ("event.id", "keyword"),
        ("event.sequence", "long"),
        ("event.duration", "long"),
        ("trace.id", "keyword"),
        ("span.id", "keyword"),
        ("ecs.version", "keyword"),
        ("service.name", "keyword"),
        ("service.version", "keyword"),
        ("host.name", "keyword"),
        ("ferry.message_id", "keyword"),
        ("ferry.subscription", "keyword"),
        ("ferry.realm", "keyword"),
        ("ferry.attempt", "long"),
        ("labels.handled_by", "keyword"),
    ] {
        // error.message is mapped by the template even though no event here has one.
        assert_eq!(
            logs.field_type(field).await.as_deref(),
            Some(want),
            "{field} is mapped as {want}"
        );
    }

    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned();
    for doc in logs.about(&id).await {
        assert_eq!(doc["service.name"], "conformance");
        assert_eq!(
            doc["service.version"], "2.3.4",
            "service.version from the config"
        );
        assert_eq!(doc["host.name"], host.as_str());
        assert_eq!(doc["ferry.version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            doc["_id"], doc["event.id"],
            "the document id is the event id"
        );
    }
    let done = logs
        .about(&id)
        .await
        .into_iter()
        .find(|d| d["event.action"] == "message.done")
        .unwrap();
    assert!(
        done["event.duration"].as_u64().unwrap() > 0,
        "handling time in nanoseconds"
    );

    // `ferry logs setup` installs the templates again (idempotent, forced).
    let out = ferry.cli(&["logs", "setup"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("installed index template ferry-logs"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_log_lines_carry_the_message_context() {
    let (f, worker) = (Embedded::new().await, TestWorker::start().await);
    let logs = Logs::new(&es_url(), "context");
    let ferry = ferry(&f, &worker, &logs, "1.0.0").await;
    let id = publish(&f, "q", "hello", &[("realm", "acme")]).await;
    assert_eventually!(
        logs.about(&id)
            .await
            .iter()
            .any(|d| d["event.action"] == "worker.log"),
        "the worker's line reaches Elasticsearch"
    );
    let line = logs
        .about(&id)
        .await
        .into_iter()
        .find(|d| d["event.action"] == "worker.log")
        .unwrap();
    assert_eq!(line["message"], "test worker handled a message");
    assert_eq!(line["labels.handled_by"], "test-worker");
    assert_eq!(line["ferry.subscription"], "s");
    assert_eq!(line["ferry.queue"], "q");
    assert_eq!(line["ferry.realm"], "acme");
    assert_eq!(line["ferry.attempt"], 1);
    assert_eq!(
        line["trace.id"].as_str().unwrap(),
        worker.calls_for("hello")[0].trace_id
    );

    // A line sent through GatewayService.Log with a context gets the same fields.
    let mut gateway = GatewayServiceClient::connect(ferry.gateway_url())
        .await
        .unwrap();
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    gateway
        .log(LogRequest {
            lines: vec![LogLine {
                level: 3,
                message: "sent by a web api".into(),
                ..Default::default()
            }],
            context: Some(LogContext {
                message_id: id.clone(),
                subscription: "s".into(),
                realm: "acme".into(),
                traceparent: traceparent.into(),
            }),
        })
        .await
        .unwrap();
    assert_eventually!(
        logs.about(&id)
            .await
            .iter()
            .any(|d| d["message"] == "sent by a web api"),
        "the gateway line reaches Elasticsearch"
    );
    let line = logs
        .about(&id)
        .await
        .into_iter()
        .find(|d| d["message"] == "sent by a web api")
        .unwrap();
    assert_eq!(line["log.level"], "warn");
    assert_eq!(line["ferry.realm"], "acme");
    assert_eq!(line["trace.id"], "0af7651916cd43dd8448eb211c80319c");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publishers_trace_id_reaches_the_worker_and_the_logs() {
    let (f, worker) = (Embedded::new().await, TestWorker::start().await);
    let logs = Logs::new(&es_url(), "trace");
    let _ferry = ferry(&f, &worker, &logs, "1.0.0").await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let id = publish(
        &f,
        "q",
        "traced",
        &[("traceparent", &format!("00-{trace}-00f067aa0ba902b7-01"))],
    )
    .await;
    assert_eventually!(
        logs.about(&id)
            .await
            .iter()
            .any(|d| d["event.action"] == "message.done"),
        "message.done reaches Elasticsearch"
    );
    assert_eq!(
        worker.calls_for("traced")[0].trace_id,
        trace,
        "the worker sees the publisher's trace id"
    );
    let docs = logs.about(&id).await;
    assert_eq!(
        actions(&docs),
        ["message.received", "worker.log", "message.done"]
    );
    for doc in &docs {
        assert_eq!(
            doc["trace.id"], trace,
            "{} carries the trace id",
            doc["event.action"]
        );
    }
    let by_trace = logs
        .docs(serde_json::json!({"term": {"trace.id": trace}}))
        .await;
    assert_eq!(by_trace.len(), 3, "searchable by trace.id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_document_does_not_block_the_rest() {
    let (f, worker) = (Embedded::new().await, TestWorker::start().await);
    let logs = Logs::new(&es_url(), "reject");
    let ferry = ferry(&f, &worker, &logs, "1.0.0").await;
    let line = |message: &str, fields: &[(&str, &str)]| LogLine {
        message: message.into(),
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    };
    // `labels.clash` as a keyword and as an object in one document: the mapping refuses it.
    let mut gateway = GatewayServiceClient::connect(ferry.gateway_url())
        .await
        .unwrap();
    gateway
        .log(LogRequest {
            lines: vec![
                line("before the bad one", &[("k", "1")]),
                line("the bad one", &[("clash", "x"), ("clash.inner", "y")]),
                line("after the bad one", &[("k", "2")]),
            ],
            context: None,
        })
        .await
        .unwrap();
    let id = publish(&f, "q", "later", &[]).await;
    assert_eventually!(
        logs.about(&id)
            .await
            .iter()
            .any(|d| d["event.action"] == "message.done"),
        "later events arrive"
    );
    let messages: Vec<Value> = logs
        .of("worker.log")
        .await
        .into_iter()
        .map(|d| d["message"].clone())
        .collect();
    assert!(
        messages.contains(&"before the bad one".into())
            && messages.contains(&"after the bad one".into()),
        "{messages:?}"
    );
    assert!(!messages.contains(&"the bad one".into()));

    let rejects = std::fs::read_to_string(logs.reject_file()).unwrap();
    let rejects: Vec<Value> = rejects
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0]["status"], 400);
    assert_eq!(rejects[0]["document"]["message"], "the bad one");
    assert!(
        rejects[0]["reason"]
            .as_str()
            .unwrap()
            .contains("labels.clash"),
        "{}",
        rejects[0]["reason"]
    );

    let (_, metrics) = ferry.admin_get("/metrics").await;
    assert_eq!(
        metric(&metrics, "ferry_log_events_rejected_total"),
        Some(1.0),
        "{metrics}"
    );
    assert_eventually!(
        !logs.of("logs.rejected").await.is_empty(),
        "the rejection is reported in an event"
    );
    let report = logs.of("logs.rejected").await.remove(0);
    assert_eq!(report["ferry.logs.rejected"], 1);
    let mut ferry = ferry;
    ferry.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(ferry.wait().await.success());
    assert_eventually!(
        ferry.stderr().contains("rejected 1 log events"),
        "stderr says so too: {}",
        ferry.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_logs_message_prints_the_story() {
    let (f, worker) = (Embedded::new().await, TestWorker::start().await);
    let logs = Logs::new(&es_url(), "story");
    let ferry = ferry(&f, &worker, &logs, "1.0.0").await;
    let id = publish(
        &f,
        "q",
        "story",
        &[
            ("realm", "acme"),
            ("t.fail_until", "2"),
            ("t.fanout", "2"),
            ("t.fanout_to", "q-out"),
        ],
    )
    .await;
    assert_eventually!(
        logs.about(&id)
            .await
            .iter()
            .any(|d| d["event.action"] == "message.done"),
        "message.done reaches Elasticsearch"
    );

    let out = ferry.cli(&["logs", "--message", &id]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let story: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|a| a.contains('.'))
        .collect();
    assert_eq!(
        story,
        [
            "message.received",
            "worker.log",
            "message.retried",
            "message.received",
            "worker.log",
            "message.published",
            "message.published",
            "message.done"
        ],
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("retry in") && l.contains("not yet")),
        "the error is shown: {text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("[handled_by=test-worker]")),
        "the worker's own fields: {text}"
    );
    let summary = lines.last().unwrap();
    assert!(
        summary.contains("outcome: done")
            && summary.contains("published 2")
            && summary.contains("2 attempts"),
        "{summary}"
    );

    // Filters: the failures of subscription s in realm acme, as JSON.
    let out = ferry
        .cli(&[
            "logs",
            "--subscription",
            "s",
            "--realm",
            "acme",
            "--outcome",
            "failure",
            "--json",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(actions(&docs), ["message.retried"]);
    let out = ferry
        .cli(&["logs", "--query", "not yet", "--since", "1h"])
        .await;
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().count(),
        1,
        "full-text search finds the retry"
    );
    // -f prints what arrives after it started.
    let mut follow = tokio::process::Command::new(ferry_tests::ferry::ferry_bin())
        .args([
            "logs",
            "-f",
            "-n",
            "1",
            "--action",
            "message.done",
            "--config",
        ])
        .arg(ferry.config_path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let followed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (sink, stdout) = (followed.clone(), follow.stdout.take().unwrap());
    tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    assert_eventually!(
        followed.lock().unwrap().contains(&id),
        "the latest message.done first"
    );
    let next = publish(&f, "q", "followed", &[]).await;
    assert_eventually!(
        followed.lock().unwrap().contains(&next),
        "a new event is followed"
    );
    assert_eq!(
        followed.lock().unwrap().lines().count(),
        2,
        "{}",
        followed.lock().unwrap()
    );
    follow.kill().await.unwrap();

    let out = ferry.cli(&["logs", "--message", "no-such-message"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no events about message no-such-message")
    );
}
