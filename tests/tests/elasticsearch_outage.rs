//! The log sink while Elasticsearch is away. Each test runs an Elasticsearch node of its own
//! (`scripts/servers/elasticsearch.sh run-instance DIR PORT`), because it must start it
//! late or stop it mid-run; the two tests take turns, as one node at a time is all this
//! machine carries comfortably. Ferry copies every event to stdout as well, which is the
//! record of what was emitted to compare Elasticsearch against.
#![cfg(feature = "elasticsearch")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod elasticsearch_support;

use std::{
    collections::{BTreeMap, HashSet},
    os::unix::fs::PermissionsExt,
    process::{Child, Command},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use elasticsearch_support::{Logs, client, metric};
use ferry::{
    backend::NewMessage,
    telemetry::elasticsearch::client::{cluster::ClusterHealthParts, params::WaitForStatus},
};
use ferry_tests::{
    FerryBuilder, FerryProcess, Sub, TestWorker, assert_eventually,
    fixtures::{BackendFixture, Embedded},
};
use nix::sys::signal::Signal;
use serde_json::Value;

/// One node at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a node may take to start on a busy 2-core machine.
const ES_START: Duration = Duration::from_secs(240);

/// An Elasticsearch node of the test's own, on a fixed port and data directory, so that a
/// restart finds its data again.
struct Node {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Node {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // The node runs as `nobody` when the tests run as root: let it reach its directory.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            dir,
            port,
            child: None,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn start(&mut self) {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/servers/elasticsearch.sh"
        );
        let child = Command::new("bash")
            .arg(script)
            .arg("run-instance")
            .arg(self.dir.path().join("es"))
            .arg(self.port.to_string())
            .arg(std::process::id().to_string())
            .spawn()
            .expect("running scripts/servers/elasticsearch.sh");
        self.child = Some(child);
        let es = client(&self.url());
        let log = self.dir.path().join("es/stdout.log");
        assert_eventually!(@within ES_START, {
            let exited = self.child.as_mut().unwrap().try_wait().unwrap().is_some();
            assert!(!exited, "Elasticsearch exited at start: {}", std::fs::read_to_string(&log).unwrap_or_default());
            es.cluster()
                .health(ClusterHealthParts::None)
                .wait_for_status(WaitForStatus::Yellow)
                .timeout("1s")
                .send()
                .await
                .is_ok_and(|r| r.status_code().is_success())
        }, "Elasticsearch on port {} did not become ready", self.port);
    }

    async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
        let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
        assert_eventually!(@within Duration::from_secs(120), child.try_wait().unwrap().is_some(), "Elasticsearch did not stop");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
            let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
            let _ = child.wait();
        }
    }
}

async fn ferry(f: &Embedded, worker: &TestWorker, logs: &Logs, extra: &str) -> FerryProcess {
    FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml(&logs.toml(extra))
        .sub(Sub::new("s").set("queue", "\"q\""))
        .spawn()
        .await
}

async fn metric_of(ferry: &FerryProcess, name: &str) -> f64 {
    metric(&ferry.admin_get("/metrics").await.1, name).unwrap_or(0.0)
}

/// Stops ferry (its drain flushes the logs) and returns the events it emitted up to
/// `ferry.stopped`: the ones the final flush covers.
async fn stop(ferry: &mut FerryProcess) -> Vec<Value> {
    ferry.signal(Signal::SIGTERM);
    assert!(ferry.wait().await.success(), "{}", ferry.stderr());
    assert_eventually!(
        !ferry.events_of("ferry.stopped").is_empty(),
        "ferry.stopped on stdout"
    );
    let events = ferry.events();
    let end = events
        .iter()
        .position(|e| e["event.action"] == "ferry.stopped")
        .unwrap();
    events[..=end].to_vec()
}

fn id_of(e: &Value) -> String {
    e["event.id"].as_str().unwrap().to_owned()
}

fn is_message_event(e: &Value) -> bool {
    e["ferry.message_id"].is_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spool_over_budget_drops_the_oldest_and_reports_the_count() {
    let _one_node = SERIAL.lock().await;
    let mut node = Node::new(); // not started yet: nothing listens there
    let (f, worker) = (Embedded::new().await, TestWorker::start().await);
    let logs = Logs::new(&node.url(), "budget");
    let mut ferry = ferry(
        &f,
        &worker,
        &logs,
        "spool_max_bytes = 16384\nshutdown_timeout = \"60s\"",
    )
    .await;
    let messages = 150;
    for i in 0..messages {
        ferry_tests::conformance::publish(&f, "q", &format!("m{i}"), &[]).await;
    }
    assert_eventually!(
        ferry.events_of("message.done").len() == messages,
        "all messages handled"
    );
    assert_eventually!(
        metric_of(&ferry, "ferry_log_events_dropped_total").await > 0.0,
        "the spool dropped events"
    );

    node.start().await;
    assert_eventually!(@within Duration::from_secs(120), !logs.of("logs.recovered").await.is_empty(), "the spool is replayed");
    let dropped = metric_of(&ferry, "ferry_log_events_dropped_total").await as usize;
    let emitted = stop(&mut ferry).await;
    let stored = logs.all().await;
    let stored_ids: HashSet<String> = stored.iter().map(id_of).collect();
    assert_eq!(stored_ids.len(), stored.len(), "no event stored twice");

    let missing: Vec<&Value> = emitted
        .iter()
        .filter(|e| !stored_ids.contains(&id_of(e)))
        .collect();
    assert_eq!(
        missing.len(),
        dropped,
        "every event that is not in Elasticsearch was counted as dropped"
    );
    // The last report comes with the final flush, after `ferry.stopped`.
    let reported = || -> usize {
        ferry
            .events_of("logs.spool_dropped")
            .iter()
            .map(|e| e["ferry.logs.dropped"].as_u64().unwrap() as usize)
            .sum()
    };
    assert_eventually!(
        reported() == dropped,
        "the drop events report the same count: {} reported, {dropped} dropped",
        reported()
    );
    assert!(
        !logs.of("logs.spool_dropped").await.is_empty(),
        "a drop report reaches Elasticsearch"
    );

    // The oldest were dropped: among the message events, the missing ones all precede the
    // stored ones, and the newest are all there.
    let seq = |e: &Value| e["event.sequence"].as_u64().unwrap();
    let last_missing = missing
        .iter()
        .filter(|e| is_message_event(e))
        .map(|e| seq(e))
        .max()
        .unwrap();
    let first_stored = stored
        .iter()
        .filter(|e| is_message_event(e))
        .map(seq)
        .min()
        .unwrap();
    assert!(
        last_missing < first_stored,
        "dropped up to #{last_missing}, kept from #{first_stored}"
    );
    let last_done = emitted
        .iter()
        .rev()
        .find(|e| e["event.action"] == "message.done")
        .unwrap();
    assert!(stored_ids.contains(&id_of(last_done)));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_stopped_mid_run_loses_nothing_and_stores_nothing_twice() {
    let _one_node = SERIAL.lock().await;
    let mut node = Node::new();
    node.start().await;
    let (f, worker) = (Embedded::new().await, TestWorker::start().await);
    let logs = Logs::new(&node.url(), "outage");
    let mut ferry = ferry(&f, &worker, &logs, "shutdown_timeout = \"120s\"").await;

    // A steady trickle of messages, across three realms, for the whole test.
    let running = Arc::new(AtomicBool::new(true));
    let publisher = {
        let (backend, running) = (f.backend().await, running.clone());
        tokio::spawn(async move {
            let mut sent = 0usize;
            while running.load(Ordering::Relaxed) {
                let m = NewMessage::new("q", format!("m{sent}"))
                    .attribute("realm", format!("r{}", sent % 3));
                backend.publish(vec![m]).await.unwrap();
                sent += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            sent
        })
    };
    assert_eventually!(logs.of("message.done").await.len() >= 10, "shipping works");

    node.stop().await;
    let done_at_stop = ferry.events_of("message.done").len();
    assert_eventually!(
        metric_of(&ferry, "ferry_log_request_failures_total").await > 0.0,
        "the sink notices"
    );
    assert_eventually!(
        ferry.events_of("message.done").len() >= done_at_stop + 30,
        "work goes on without Elasticsearch"
    );
    node.start().await;
    assert_eventually!(@within Duration::from_secs(120), !logs.of("logs.recovered").await.is_empty(), "the spool is replayed");

    running.store(false, Ordering::Relaxed);
    let sent = publisher.await.unwrap();
    assert_eventually!(
        ferry.events_of("message.done").len() == sent,
        "all {sent} messages handled"
    );
    let emitted = stop(&mut ferry).await;
    assert_eq!(metric_of_stopped(&emitted), 0, "nothing dropped");

    let stored = logs.all().await;
    let stored_ids: HashSet<String> = stored.iter().map(id_of).collect();
    let emitted_ids: HashSet<String> = emitted.iter().map(id_of).collect();
    assert_eq!(stored_ids.len(), stored.len(), "no document id twice");
    for doc in &stored {
        assert_eq!(doc["_id"], doc["event.id"]);
    }
    let sequences: HashSet<u64> = stored
        .iter()
        .map(|d| d["event.sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(
        sequences.len(),
        stored.len(),
        "no event stored twice under another id"
    );
    let lost: Vec<&String> = emitted_ids.difference(&stored_ids).collect();
    assert!(
        lost.is_empty(),
        "{} of {} events never arrived: {lost:?}",
        lost.len(),
        emitted.len()
    );
    assert_eq!(stored.len(), emitted.len(), "exactly the emitted events");
    assert!(
        !logs.of("logs.unavailable").await.is_empty(),
        "the outage is in the log"
    );

    // Per message, Elasticsearch indexed the events in the order they were emitted.
    let mut emitted_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in emitted.iter().filter(|e| is_message_event(e)) {
        emitted_order
            .entry(e["ferry.message_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(id_of(e));
    }
    let mut stored_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in stored.iter().filter(|d| is_message_event(d)) {
        // `stored` is sorted by _seq_no: indexing order.
        stored_order
            .entry(d["ferry.message_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(id_of(d));
    }
    assert_eq!(stored_order.len(), sent, "every message has its story");
    assert_eq!(
        stored_order, emitted_order,
        "per message, indexing order is emission order"
    );
    node.stop().await;
}

/// The dropped count reported on stdout by `logs.spool_dropped` events.
fn metric_of_stopped(emitted: &[Value]) -> u64 {
    emitted
        .iter()
        .filter(|e| e["event.action"] == "logs.spool_dropped")
        .map(|e| e["ferry.logs.dropped"].as_u64().unwrap())
        .sum()
}
