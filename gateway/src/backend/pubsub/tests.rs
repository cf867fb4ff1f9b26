//! Unit tests of the Pub/Sub backend's pure parts: the carried `ferry.*` attributes, ack
//! deadlines and config checks. Its behaviour against the emulator is covered by the
//! conformance suite and `tests/tests/pubsub_*.rs`.

use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::{
    attrs::{self, Carry, carry, deadline_secs, split},
    config::{PubsubConfig, is_valid_resource_id},
};
use crate::backend::Failure;

fn map(pairs: Vec<(String, String)>) -> HashMap<String, String> {
    pairs.into_iter().collect()
}

#[test]
fn carried_attributes_round_trip_and_stay_hidden_from_the_worker() {
    let f = Failure {
        last_error: "boom".into(),
        first_at: UNIX_EPOCH + Duration::from_millis(1_000),
        last_at: UNIX_EPOCH + Duration::from_millis(2_000),
    };
    let at = UNIX_EPOCH + Duration::from_millis(5_000);
    let first = UNIX_EPOCH + Duration::from_millis(500);
    let mut a = map(carry(&Carry {
        id: "42",
        attempts_before: 3,
        deliver_at: Some(at),
        dedup_id: Some("d1"),
        failure: Some(&f),
        published_at: Some(first),
    }));
    a.insert("color".into(), "blue".into());
    let c = split(&a);
    assert_eq!(c.id.as_deref(), Some("42"));
    assert_eq!(c.attempts_before, 3);
    assert_eq!(c.deliver_at, Some(at));
    assert_eq!(c.dedup_id.as_deref(), Some("d1"));
    assert_eq!(c.published_at, Some(first));
    assert_eq!(c.failure, Some(f));
    assert_eq!(
        c.user.len(),
        1,
        "only the worker's attributes remain: {:?}",
        c.user
    );
    assert!(c.malformed.is_none());
}

#[test]
fn a_first_copy_carries_nothing_but_its_id() {
    let a = map(carry(&Carry {
        id: "7",
        ..Carry::default()
    }));
    assert_eq!(a.len(), 1);
    let c = split(&HashMap::new());
    assert_eq!((c.id, c.attempts_before, c.deliver_at), (None, 0, None));
}

#[test]
fn unreadable_ferry_attributes_make_the_message_malformed() {
    let a = map(vec![
        (attrs::ATTEMPTS.into(), "many".into()),
        (attrs::DELIVER_AT.into(), "soon".into()),
    ]);
    let reason = split(&a).malformed.unwrap();
    assert!(
        reason.contains("`ferry.attempts` = `many` is not a count"),
        "{reason}"
    );
    assert!(reason.contains("`ferry.deliver_at` = `soon`"), "{reason}");
}

#[test]
fn deadlines_round_up_to_whole_seconds_within_600() {
    assert_eq!(deadline_secs(Duration::ZERO), 0);
    assert_eq!(deadline_secs(Duration::from_millis(700)), 1);
    assert_eq!(deadline_secs(Duration::from_secs(30)), 30);
    assert_eq!(deadline_secs(Duration::from_secs(3600)), 600);
    assert!(attrs::to_ms(SystemTime::now()) > 1_600_000_000_000);
}

#[test]
fn config_problems_name_the_key() {
    let mut c = PubsubConfig::new("my-project");
    c.emulator_host = Some("http://127.0.0.1:8085".into());
    c.retry_suffix = "/retry".into();
    let keys: Vec<&str> = c.problems().iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["emulator_host", "retry_suffix"]);
    c.retry_suffix = "-retry".into();
    assert_eq!(c.retry_id("orders"), "orders-retry");
    c.emulator_host = Some("127.0.0.1:8085".into());
    c.project = String::new();
    assert_eq!(c.problems()[0].0, "project");
    // Ranges are the types' (refused when the file is read).
    let e = crate::config::load_str(
        "t.toml",
        "[backend.pubsub]\nproject = \"p\"\nstreams = 0\nsettle_window = \"2s\"\n[subscriptions.a]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("backend.pubsub.streams: 0 is out of range"),
        "{e}"
    );
    assert!(
        e.contains("backend.pubsub.settle_window: `2s` is out of range"),
        "{e}"
    );
}

#[test]
fn queue_depths_are_read_from_google_s_monitoring_unless_beside_the_emulator() {
    let mut c = PubsubConfig::new("my-project");
    assert_eq!(
        c.monitoring().as_deref(),
        Some("https://monitoring.googleapis.com")
    );
    c.emulator_host = Some("127.0.0.1:8085".into());
    assert_eq!(c.monitoring(), None, "the emulator has no Monitoring");
    c.monitoring_endpoint = Some("http://127.0.0.1:9/".into());
    assert_eq!(c.monitoring().as_deref(), Some("http://127.0.0.1:9"));
    assert!(c.problems().is_empty(), "{:?}", c.problems());
    for bad in [
        "127.0.0.1:9",
        "ftp://x",
        "http://",
        "https://h/v3/projects",
        "http://h?x=1",
    ] {
        c.monitoring_endpoint = Some(bad.into());
        let keys: Vec<&str> = c.problems().iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["monitoring_endpoint"], "{bad}");
    }
}

#[test]
fn resource_ids_follow_pubsub_rules() {
    assert!(is_valid_resource_id("orders"));
    assert!(!is_valid_resource_id("ab"));
    assert!(!is_valid_resource_id("1orders"));
    assert!(!is_valid_resource_id("google-x"));
}
