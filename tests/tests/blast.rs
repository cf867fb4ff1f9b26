//! The blast e-mail flow end to end: two real ferry processes, each supervising one of the
//! real blast worker binaries (`ferry run -- blast-...`), sharing one embedded queue file —
//! the demo of `scripts/demo.sh` as a test. A blast is published twice and a blast from a
//! lapsed account once: every customer is mailed exactly once, the duplicate blast's
//! fan-out is dropped by its de-duplication ids, the lapsed blast is dead-lettered with its
//! story, and skipped customers (inactive, opted out, invalid address) get no mail.
#![allow(clippy::unwrap_used, missing_docs)]

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use ferry_tests::{
    FerryBuilder, Sub, assert_eventually,
    conformance::{dead_letters, stats, story},
    fixtures::{BackendFixture, Embedded},
};
use serde_json::Value;

fn blast_bin(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    escargot::CargoBuild::new()
        .manifest_path(manifest)
        .package("ferry-blast")
        .bin(name)
        .run()
        .unwrap()
        .path()
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
