//! Unit tests of the sink's parts that need no server: the spool (order, commit, restart,
//! torn lines, drop-oldest accounting, the lock), the bounded queue in front of the shipper,
//! batching (when a batch is due, the bulk body, per-document results), the template files
//! and the config checks. The sink against a real Elasticsearch is tested in
//! `tests/tests/elasticsearch_*.rs`.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::json;

use super::{
    bulk::{self, Item, Outcome},
    config::{ElasticsearchConfig, LogsConfig, is_valid_data_stream},
    shipper::batch_due,
    spool::{Entry, Spool},
    template,
};

fn line(n: u64) -> Vec<u8> {
    Entry::encode(&format!("p-{n}"), format!("{{\"n\":{n}}}").as_bytes())
}

fn ids(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.id.clone()).collect()
}

fn spool(dir: &std::path::Path, max: u64) -> Spool {
    Spool::open(dir, max).unwrap()
}

#[test]
fn spool_hands_out_in_order_and_forgets_what_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spool(dir.path(), 1 << 20);
    for n in 0..10 {
        assert_eq!(s.append(&line(n)).unwrap(), 0);
    }
    let first = s.read_batch(4, usize::MAX).unwrap();
    assert_eq!(ids(&first.entries), ["p-0", "p-1", "p-2", "p-3"]);
    assert_eq!(first.entries[0].doc, b"{\"n\":0}");
    let second = s.read_batch(100, usize::MAX).unwrap();
    assert_eq!(second.entries.len(), 6, "the rest, after the first batch");
    assert_eq!(s.unread_events(), 0);
    assert_eq!(s.pending_events(), 10, "nothing confirmed yet");
    s.commit(first.end).unwrap();
    assert_eq!(s.pending_events(), 6);
    s.commit(second.end).unwrap();
    assert_eq!(s.pending_events(), 0);
    assert_eq!(s.read_batch(100, usize::MAX).unwrap().entries.len(), 0);
}

#[test]
fn batches_are_bounded_by_count_and_bytes_but_never_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spool(dir.path(), 1 << 20);
    for n in 0..10 {
        s.append(&line(n)).unwrap();
    }
    let one = line(0).len();
    let b = s.read_batch(100, one * 3).unwrap();
    assert_eq!(b.entries.len(), 3, "three lines fit in three lines' bytes");
    assert_eq!(b.bytes, one * 3);
    let b = s.read_batch(100, 1).unwrap();
    assert_eq!(
        b.entries.len(),
        1,
        "one event even when it alone is over the byte limit"
    );
    let b = s.read_batch(2, usize::MAX).unwrap();
    assert_eq!(ids(&b.entries), ["p-4", "p-5"]);
}

#[test]
fn unconfirmed_events_are_replayed_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = spool(dir.path(), 1 << 20);
        for n in 0..6 {
            s.append(&line(n)).unwrap();
        }
        let b = s.read_batch(2, usize::MAX).unwrap();
        s.commit(b.end).unwrap();
        let _sent_but_not_confirmed = s.read_batch(2, usize::MAX).unwrap();
        s.flush().unwrap();
    }
    let mut s = spool(dir.path(), 1 << 20);
    assert_eq!(s.pending_events(), 4);
    let b = s.read_batch(100, usize::MAX).unwrap();
    assert_eq!(ids(&b.entries), ["p-2", "p-3", "p-4", "p-5"]);
    s.append(&line(6)).unwrap();
    assert_eq!(
        ids(&s.read_batch(100, usize::MAX).unwrap().entries),
        ["p-6"]
    );
}

#[test]
fn a_torn_last_line_is_cut_off_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = spool(dir.path(), 1 << 20);
        s.append(&line(0)).unwrap();
        s.flush().unwrap();
    }
    let segment = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "spool"))
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(b"p-1\t{\"n\":");
    std::fs::write(&segment, bytes).unwrap();
    let mut s = spool(dir.path(), 1 << 20);
    assert_eq!(s.pending_events(), 1);
    s.append(&line(2)).unwrap();
    assert_eq!(
        ids(&s.read_batch(100, usize::MAX).unwrap().entries),
        ["p-0", "p-2"]
    );
}

#[test]
fn a_corrupt_line_is_handed_out_without_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spool(dir.path(), 1 << 20);
    s.append(b"no tab here\n").unwrap();
    s.append(&line(1)).unwrap();
    let b = s.read_batch(100, usize::MAX).unwrap();
    assert_eq!(ids(&b.entries), ["", "p-1"]);
    assert_eq!(b.entries[0].doc, b"no tab here");
}

#[test]
fn over_budget_the_oldest_events_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 16 * 1024;
    let mut s = spool(dir.path(), budget);
    let (mut dropped, total) = (0, 2000u64);
    for n in 0..total {
        dropped += s.append(&line(n)).unwrap();
    }
    assert!(s.bytes() <= budget, "{} bytes kept", s.bytes());
    assert!(dropped > 0);
    let b = s.read_batch(usize::MAX, usize::MAX).unwrap();
    assert_eq!(
        b.entries.len() as u64 + dropped,
        total,
        "kept + dropped = appended"
    );
    let first_kept: u64 = b.entries[0].id[2..].parse().unwrap();
    assert_eq!(first_kept, dropped, "exactly the oldest were dropped");
    assert_eq!(b.entries.last().unwrap().id, format!("p-{}", total - 1));
}

#[test]
fn events_handed_out_are_not_counted_as_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 16 * 1024;
    let mut s = spool(dir.path(), budget);
    for n in 0..100 {
        s.append(&line(n)).unwrap();
    }
    let in_flight = s.read_batch(usize::MAX, usize::MAX).unwrap();
    let mut dropped = 0;
    for n in 100..3000 {
        dropped += s.append(&line(n)).unwrap();
    }
    let rest = s.read_batch(usize::MAX, usize::MAX).unwrap();
    assert_eq!(
        in_flight.entries.len() as u64 + rest.entries.len() as u64 + dropped,
        3000,
        "in flight + kept + dropped = appended"
    );
    s.commit(in_flight.end).unwrap();
    assert_eq!(
        s.pending_events(),
        rest.entries.len() as u64,
        "a stale commit changes nothing"
    );
}

#[test]
fn a_smaller_budget_at_open_drops_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = spool(dir.path(), 1 << 20);
        for n in 0..3000 {
            s.append(&line(n)).unwrap();
        }
        s.flush().unwrap();
    }
    let mut s = spool(dir.path(), 16 * 1024);
    let dropped = s.enforce_budget().unwrap();
    assert!(dropped > 0 && s.bytes() <= 16 * 1024);
    assert_eq!(s.pending_events() + dropped, 3000);
}

#[test]
fn one_process_per_spool_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = spool(dir.path(), 1 << 20);
    let second = Spool::open(dir.path(), 1 << 20).unwrap_err();
    assert!(
        second
            .to_string()
            .contains("in use by another ferry process"),
        "{second}"
    );
}

#[test]
fn a_batch_is_due_when_full_old_or_flushed() {
    let mut cfg = ElasticsearchConfig::new("http://127.0.0.1:9200");
    cfg.batch_max_events = 10;
    cfg.batch_max_bytes = 1000;
    cfg.flush_interval = Duration::from_secs(1);
    let now = Instant::now();
    let fresh = Some(now);
    assert!(!batch_due(&cfg, 0, 0, fresh, true, now), "nothing to send");
    assert!(
        !batch_due(&cfg, 3, 100, fresh, false, now),
        "small and young: wait"
    );
    assert!(batch_due(&cfg, 10, 100, fresh, false, now), "full by count");
    assert!(batch_due(&cfg, 3, 1000, fresh, false, now), "full by bytes");
    assert!(batch_due(&cfg, 3, 100, fresh, true, now), "a flush waits");
    let later = now + Duration::from_secs(1);
    assert!(
        batch_due(&cfg, 1, 10, fresh, false, later),
        "the oldest waited flush_interval"
    );
}

#[test]
fn the_bulk_body_creates_each_event_under_its_id() {
    let entries = vec![
        Entry {
            id: "a-0".into(),
            doc: b"{\"x\":1}".to_vec(),
        },
        Entry {
            id: "a-1".into(),
            doc: b"{\"x\":2}".to_vec(),
        },
    ];
    let body = bulk::body(&entries);
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        "{\"create\":{\"_id\":\"a-0\"}}\n{\"x\":1}\n{\"create\":{\"_id\":\"a-1\"}}\n{\"x\":2}\n"
    );
}

#[test]
fn each_bulk_item_is_stored_retried_or_rejected() {
    let ok = json!({"errors": false, "items": []});
    assert_eq!(
        bulk::parse_response(&ok, 2),
        Outcome::Items(vec![Item::Stored; 2])
    );
    let mixed = json!({"errors": true, "items": [
        {"create": {"status": 201}},
        {"create": {"status": 409, "error": {"type": "version_conflict_engine_exception", "reason": "exists"}}},
        {"create": {"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "busy"}}},
        {"create": {"status": 503, "error": {"type": "unavailable_shards_exception", "reason": "no shard"}}},
        {"create": {"status": 400, "error": {"type": "document_parsing_exception", "reason": "bad field"}}}
    ]});
    let Outcome::Items(items) = bulk::parse_response(&mixed, 5) else {
        panic!("items expected");
    };
    assert_eq!(items[0], Item::Stored);
    assert_eq!(items[1], Item::Duplicate);
    assert!(matches!(items[2], Item::Retry(_)));
    assert!(matches!(items[3], Item::Retry(_)));
    assert_eq!(
        items[4],
        Item::Rejected {
            status: 400,
            reason: "document_parsing_exception: bad field".into()
        }
    );
    assert!(
        matches!(bulk::parse_response(&mixed, 4), Outcome::Failed(_)),
        "count mismatch"
    );
}

#[test]
fn the_reject_file_keeps_the_document_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/rejects.ndjson");
    let mut file = bulk::RejectFile::new(&path);
    let entry = Entry {
        id: "a-7".into(),
        doc: b"{\"labels.a\":\"x\"}".to_vec(),
    };
    file.write(&entry, 400, "document_parsing_exception: conflict")
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["status"], 400);
    assert_eq!(line["event.id"], "a-7");
    assert_eq!(line["reason"], "document_parsing_exception: conflict");
    assert_eq!(line["document"]["labels.a"], "x");
}

#[test]
fn the_template_files_parse_and_match_the_data_stream() {
    for (name, body) in template::component_templates() {
        assert!(body["template"].is_object(), "{name}");
    }
    assert!(template::version() >= 1);
    let (name, body) = template::index_template("logs-ferry-default");
    assert_eq!(name, "ferry-logs");
    assert_eq!(body["index_patterns"], json!(["logs-ferry-*"]));
    let (name, body) = template::index_template("app-logs");
    assert_eq!(name, "ferry-logs-app-logs");
    assert_eq!(body["index_patterns"], json!(["app-logs"]));
    assert!(body["data_stream"].is_object());
}

#[test]
fn config_problems_name_the_key() {
    let mut cfg = ElasticsearchConfig::new("ftp://x");
    cfg.data_stream = "Logs".into();
    cfg.spool_max_bytes = 10;
    cfg.batch_max_events = 0;
    let logs = LogsConfig {
        stdout: None,
        elasticsearch: Some(cfg),
        local: None,
    };
    let keys: Vec<String> = logs.problems().into_iter().map(|(k, _)| k).collect();
    for key in ["url", "data_stream", "spool_max_bytes", "batch_max_events"] {
        assert!(
            keys.contains(&format!("logs.elasticsearch.{key}")),
            "{key} in {keys:?}"
        );
    }
    assert!(LogsConfig::default().problems().is_empty());
    let silent = LogsConfig {
        stdout: Some(false),
        elasticsearch: None,
        local: None,
    };
    assert_eq!(silent.problems()[0].0, "logs.stdout");
    assert!(is_valid_data_stream("logs-ferry-default"));
    assert!(!is_valid_data_stream("_logs") && !is_valid_data_stream("a b"));
}

#[test]
fn the_logs_section_loads_from_toml() {
    let text = "service = \"orders\"\nservice_version = \"1.4.2\"\n\
        [logs.elasticsearch]\nurl = \"http://127.0.0.1:9200\"\nflush_interval = \"250ms\"\n\
        [subscriptions.s]\n";
    let cfg = crate::config::load_str("ferry.toml", text).unwrap();
    let es = cfg.logs.elasticsearch.as_ref().unwrap();
    assert_eq!(es.flush_interval, Duration::from_millis(250));
    assert_eq!(es.data_stream, "logs-ferry-default");
    assert!(
        !cfg.logs.to_stdout(),
        "Elasticsearch replaces stdout unless asked"
    );
    assert_eq!(cfg.service_version.as_deref(), Some("1.4.2"));
    let bad = "[logs.elasticsearch]\nurl = \"http://x\"\nspool_budget = 1\n[subscriptions.s]\n";
    let err = crate::config::load_str("ferry.toml", bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("spool_budget"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn lines_beyond_the_queue_are_dropped_and_counted_never_queued() {
    use crate::telemetry::{LogSink as _, Metrics, Origin, sink::QUEUE};
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there; the shipper does not get to ship during the writes anyway.
    let mut cfg = ElasticsearchConfig::new("http://127.0.0.1:9");
    cfg.spool_dir = dir.path().join("spool");
    let metrics = std::sync::Arc::new(Metrics::new());
    // The shipper is built and not started: the writes meet a queue nobody empties, as
    // they would behind a disk that stalls.
    let (sink, _idle) =
        super::ElasticsearchSink::build(&cfg, Origin::new("svc", None), metrics.clone(), false)
            .unwrap();
    for n in 0..QUEUE + 100 {
        sink.write(std::sync::Arc::new(crate::telemetry::Line::from_value(
            &json!({ "n": n }),
        )));
    }
    assert_eq!(
        metrics.log_queue_dropped("elasticsearch").get(),
        100,
        "the queue holds {QUEUE} lines; the rest are counted as dropped"
    );
}

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn the_shipper_writes_and_syncs_on_a_thread_of_its_own_that_ends_with_the_sink() {
    use crate::telemetry::{LogSink as _, Metrics, Origin};
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ElasticsearchConfig::new("http://127.0.0.1:9");
    cfg.spool_dir = dir.path().join("spool");
    let sink = super::ElasticsearchSink::start(
        &cfg,
        Origin::new("svc", None),
        std::sync::Arc::new(Metrics::new()),
        false,
    )
    .unwrap();
    let ship = super::sink::SHIPPER_THREAD;
    // A new thread names itself once it runs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !thread_names().iter().any(|n| n == ship) {
        assert!(
            std::time::Instant::now() < deadline,
            "no {ship} thread: {:?}",
            thread_names()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // The spool fills although this test's one runtime thread never yields to it.
    sink.write(std::sync::Arc::new(crate::telemetry::Line::from_value(
        &json!({ "n": 1 }),
    )));
    let spooled = || {
        std::fs::read_dir(dir.path().join("spool"))
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|f| std::fs::read_to_string(f.path()).ok())
            .any(|text| text.contains("\"n\":1"))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !spooled() {
        assert!(std::time::Instant::now() < deadline, "never spooled");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    drop(sink);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while thread_names().iter().any(|n| n == ship) {
        assert!(
            std::time::Instant::now() < deadline,
            "the shipper outlived its sink"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
