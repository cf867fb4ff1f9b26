//! The blast e-mail flow end to end: two real ferry processes, each supervising one of the
//! real blast worker binaries (`ferry run -- blast-...`), sharing one embedded queue file —
//! the demo of `scripts/demo.sh` as a test. A blast is published twice and a blast from a
//! lapsed account once: every customer is mailed exactly once, the duplicate blast's
//! fan-out is dropped by its de-duplication ids, the lapsed blast is dead-lettered with its
//! story, and skipped customers (inactive, opted out, invalid address) get no mail.
#![allow(clippy::unwrap_used, missing_docs)]

use std::{collections::BTreeSet, path::Path};

use ferry_tests::{
    FerryBuilder, Sub, assert_eventually,
    conformance::{dead_letters, stats, story},
    ferry::{blast_bin, free_port},
    fixtures::{BackendFixture, Embedded},
};
use serde_json::Value;

fn data(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/rust/blast/data")
            .join(file),
    )
    .unwrap()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blast_mails_every_customer_exactly_once() {
    let f = Embedded::new().await;
    let out = tempfile::tempdir().unwrap();
    let outbox = out.path().join("outbox.jsonl");
    let activities = out.path().join("activities.jsonl");
    let directory =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rust/blast/data/directory.json");
    let sidecar = |queue: &str, bin: &str| {
        FerryBuilder::new(
            f.backend_toml(),
            &format!("http://127.0.0.1:{}", free_port()),
        )
        .sub(
            Sub::new("s")
                .set("queue", &format!("\"{queue}\""))
                .set("max_in_flight_per_realm", "4"),
        )
        .worker_command(&[blast_bin(bin).to_str().unwrap()])
        .env("BLAST_DATA", directory.display().to_string())
        .env("BLAST_OUTBOX", outbox.display().to_string())
        .env("BLAST_ACTIVITIES", activities.display().to_string())
    };
    let lists = sidecar("BlastCustomerListSender", "blast-list-sender")
        .spawn()
        .await;
    let customers = sidecar("BlastCustomerSender", "blast-customer-sender")
        .spawn()
        .await;

    let blast = data("blast.json");
    let first = ferry_tests::conformance::publish(
        &f,
        "BlastCustomerListSender",
        &blast,
        &[("realm", "acct-harbor")],
    )
    .await;
    let again = ferry_tests::conformance::publish(
        &f,
        "BlastCustomerListSender",
        &blast,
        &[("realm", "acct-harbor")],
    )
    .await;
    let lapsed = ferry_tests::conformance::publish(
        &f,
        "BlastCustomerListSender",
        &data("blast-lapsed-account.json"),
        &[("realm", "acct-lapsed")],
    )
    .await;

    assert_eventually!(
        lists.count_for("message.done", &first) == 1
            && lists.count_for("message.done", &again) == 1,
        "both list messages done"
    );
    assert_eventually!(
        lists.count_for("message.dead_lettered", &lapsed) == 1,
        "the lapsed account's blast is dead-lettered"
    );
    assert_eventually!(
        stats(&f, "BlastCustomerSender").await == Default::default(),
        "every customer message settled"
    );

    // 13 ids with 3 duplicates = 10 customers; the list sender fanned out 10 per blast, but
    // the second blast's fan-out carried the same de-duplication ids and was dropped.
    let fanned: Vec<Value> = lists.events_of("message.published");
    assert_eq!(fanned.len(), 20, "10 follow-ups per list message");
    // The queue is settled; the last `message.done` lines may still be on their way from
    // ferry's stdout, and nothing more can come.
    assert_eventually!(
        customers.events_of("message.done").len() >= 10,
        "every customer message logged done"
    );
    assert_eq!(
        customers.events_of("message.done").len(),
        10,
        "only 10 customer messages existed"
    );

    let mails = lines(&outbox);
    let keys: BTreeSet<&str> = mails.iter().map(|m| m["key"].as_str().unwrap()).collect();
    assert_eq!(mails.len(), keys.len(), "no customer mailed twice");
    assert_eq!(
        mails.len(),
        7,
        "10 customers minus inactive, opted-out and invalid-address ones"
    );
    for skipped in ["cust-004", "cust-005", "cust-006"] {
        assert!(
            !keys.contains(format!("blast/storm-2024-09/customer/{skipped}").as_str()),
            "{skipped} was mailed"
        );
    }
    let ann = mails
        .iter()
        .find(|m| m["to"] == "ann.lee@example.com")
        .unwrap();
    assert!(
        ann["body"].as_str().unwrap().starts_with("Dear Ann Lee,"),
        "the template is rendered per customer"
    );
    assert_eq!(lines(&activities).len(), 7, "one activity per mail");

    let letters = dead_letters(&f, "BlastCustomerListSender").await;
    let s = story(&letters[0]);
    assert_eq!(
        (s["reason"].as_str(), s["last_error"].as_str()),
        ("worker", "account acct-lapsed is not active")
    );
}

/// One blast is one trace: the list message gets a trace id from ferry (the web app sent
/// none), and every record about it or its fan-out, in both sidecars, carries that id —
/// ferry's own events and the workers' log lines alike — with the delivery's span id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_blast_is_one_trace_across_both_sidecars() {
    let f = Embedded::new().await;
    let out = tempfile::tempdir().unwrap();
    let directory =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rust/blast/data/directory.json");
    let sidecar = |queue: &str, bin: &str| {
        FerryBuilder::new(
            f.backend_toml(),
            &format!("http://127.0.0.1:{}", free_port()),
        )
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
    let lists = sidecar("BlastCustomerListSender", "blast-list-sender")
        .spawn()
        .await;
    let customers = sidecar("BlastCustomerSender", "blast-customer-sender")
        .spawn()
        .await;
    let blast = ferry_tests::conformance::publish(
        &f,
        "BlastCustomerListSender",
        &data("blast.json"),
        &[("realm", "acct-harbor")],
    )
    .await;
    assert_eventually!(
        lists.count_for("message.done", &blast) == 1,
        "the blast is done"
    );
    assert_eventually!(
        customers.events_of("message.done").len() == 10,
        "every customer message done"
    );
    // Each worker logs once per message (the counts, the mail or the skip reason).
    assert_eventually!(
        customers.events_of("worker.log").len() >= 10,
        "the customer sender's lines arrived"
    );

    let about = |events: Vec<Value>| -> Vec<Value> {
        events
            .into_iter()
            .filter(|e| e.get("ferry.message_id").is_some())
            .collect()
    };
    let list_records = about(lists.events());
    let customer_records = about(customers.events());
    let trace = list_records[0]["trace.id"].as_str().unwrap().to_owned();
    assert_eq!(trace.len(), 32);
    let traces: BTreeSet<&str> = list_records
        .iter()
        .chain(&customer_records)
        .map(|e| e["trace.id"].as_str().unwrap_or("(none)"))
        .collect();
    assert_eq!(
        traces,
        BTreeSet::from([trace.as_str()]),
        "one trace id across both sidecars"
    );
    for (name, records) in [("list", &list_records), ("customer", &customer_records)] {
        assert!(
            records.iter().any(|e| e["event.action"] == "worker.log"),
            "the {name} sender's own lines are in the trace"
        );
        for r in records {
            assert_eq!(r["span.id"].as_str().map(str::len), Some(16), "{r}");
            assert!(r["ecs.version"].is_string(), "{r}");
        }
    }
    // Every customer delivery is a span of its own, apart from the list's.
    let spans = |records: &[Value], action: &str| -> BTreeSet<String> {
        records
            .iter()
            .filter(|e| e["event.action"] == action)
            .map(|e| e["span.id"].as_str().unwrap().to_owned())
            .collect()
    };
    let list_span = spans(&list_records, "message.received");
    let customer_spans = spans(&customer_records, "message.received");
    assert_eq!(list_span.len(), 1);
    assert_eq!(customer_spans.len(), 10, "one span per customer delivery");
    assert!(customer_spans.is_disjoint(&list_span));
}
