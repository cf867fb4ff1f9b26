//! Unit tests of the SQS backend's pure parts: the message encoding, the bounded ledger,
//! the rounding rules and SQS's limits. The behaviour against a real server is tested in
//! `tests/` against ElasticMQ.

use std::{collections::BTreeMap, time::Duration};

use super::{
    admin::limit_warnings,
    backend::visibility_secs,
    codec::{
        MAX_ATTRIBUTES, META, Meta, STORY, decode, encode, is_legal_name, is_legal_text, story_json,
    },
    memory::Ledger,
    publish::{ceil_secs, fifo_token},
};
use crate::{
    backend::{DeadLetterStory, Failure},
    config::SubscriptionConfig,
    retry::Backoff,
};

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn plain_messages_use_native_attributes_only() {
    let a = attrs(&[("color", "blue"), ("t.fail_until", "3")]);
    let e = encode(b"hello", &a, Meta::default(), None).unwrap();
    assert_eq!(e.body, "hello");
    assert_eq!(e.attributes.len(), 2);
    assert!(!e.attributes.contains_key(META));
    let d = decode(&e.body, Some(&e.attributes));
    assert_eq!((&d.payload[..], &d.attributes), (&b"hello"[..], &a));
    assert!(d.malformed.is_none());
}

#[test]
fn binary_and_empty_payloads_round_trip() {
    for payload in [&b""[..], &[0u8, 159, 146, 150][..], &b"nul\0inside"[..]] {
        let e = encode(payload, &BTreeMap::new(), Meta::default(), None).unwrap();
        assert!(is_legal_text(&e.body), "{:?}", e.body);
        let d = decode(&e.body, Some(&e.attributes));
        assert_eq!(&d.payload[..], payload);
    }
}

#[test]
fn attributes_beyond_what_sqs_holds_are_folded_and_restored() {
    let mut a: BTreeMap<String, String> = (0..14)
        .map(|i| (format!("k{i:02}"), format!("v{i}")))
        .collect();
    a.insert("has space".into(), "x".into());
    a.insert("empty".into(), String::new());
    a.insert("AWS.reserved".into(), "y".into());
    let story = Some("{}".to_owned());
    let e = encode(b"p", &a, Meta::default(), story).unwrap();
    assert_eq!(e.attributes.len(), MAX_ATTRIBUTES, "exactly the SQS limit");
    assert!(e.attributes.contains_key(META) && e.attributes.contains_key(STORY));
    assert!(e.attributes.keys().all(|k| is_legal_name(k)));
    let d = decode(&e.body, Some(&e.attributes));
    assert_eq!(d.attributes, a, "every attribute comes back");
}

#[test]
fn story_is_one_attribute_decoded_into_the_dlq_keys() {
    let now = std::time::SystemTime::now();
    let story = DeadLetterStory {
        source_queue: "q".into(),
        subscription: "s".into(),
        message_id: "m1".into(),
        attempts: 3,
        reason: "max_attempts".into(),
        last_error: "boom".into(),
        first_failure_at: now,
        last_failure_at: now,
    };
    let own = attrs(&[("order", "42")]);
    let e = encode(b"x", &own, Meta::default(), Some(story_json(&story, None))).unwrap();
    assert_eq!(e.attributes.len(), 2);
    let d = decode(&e.body, Some(&e.attributes));
    let mut expected = own.clone();
    expected.extend(story.to_attributes());
    assert_eq!(d.attributes, expected);
}

#[test]
fn meta_carries_copies_state() {
    let meta = Meta {
        id: Some("orig".into()),
        spent: 2,
        due_at: Some(5),
        ..Meta::default()
    };
    let e = encode(b"x", &BTreeMap::new(), meta.clone(), None).unwrap();
    let d = decode(&e.body, Some(&e.attributes));
    assert_eq!(d.meta, meta);
}

#[test]
fn foreign_attributes_that_cannot_be_read_are_reported() {
    use aws_sdk_sqs::{primitives::Blob, types::MessageAttributeValue};
    let mut raw = std::collections::HashMap::new();
    raw.insert(
        "n".to_owned(),
        MessageAttributeValue::builder()
            .data_type("Number")
            .string_value("7")
            .build()
            .unwrap(),
    );
    raw.insert(
        "b".to_owned(),
        MessageAttributeValue::builder()
            .data_type("Binary")
            .binary_value(Blob::new(vec![0xff, 0xfe]))
            .build()
            .unwrap(),
    );
    raw.insert(
        META.to_owned(),
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value("{oops")
            .build()
            .unwrap(),
    );
    let d = decode("body", Some(&raw));
    assert_eq!(d.attributes["n"], "7");
    let why = d.malformed.unwrap();
    assert!(
        why.contains("attribute `b`: Binary value is not UTF-8"),
        "{why}"
    );
    assert!(why.contains("`ferry.meta` is not ferry's"), "{why}");
}

#[test]
fn attribute_names_follow_the_sqs_rules() {
    for ok in ["realm", "t.fail_until", "ferry.meta", "a-b_c.d"] {
        assert!(is_legal_name(ok), "{ok}");
    }
    for bad in [
        "",
        ".x",
        "x.",
        "a..b",
        "AWS.x",
        "amazon.y",
        "sp ace",
        &"x".repeat(257),
    ] {
        assert!(!is_legal_name(bad), "{bad}");
    }
    assert!(!is_legal_text("\u{1}"));
    assert!(is_legal_text("tab\tok"));
}

#[test]
fn ledger_forgets_the_oldest_beyond_its_capacity() {
    let l = Ledger::new(3);
    let f = |e: &str| Failure {
        last_error: e.into(),
        first_at: std::time::UNIX_EPOCH,
        last_at: std::time::UNIX_EPOCH,
    };
    for id in ["a", "b", "c", "d"] {
        l.update(id, |e| e.failure = Some(f(id)));
    }
    assert_eq!(l.len(), 3);
    assert_eq!(l.get("a").failure, None, "the oldest was forgotten");
    l.update("b", |e| e.uncounted += 1);
    assert_eq!(
        (l.get("b").uncounted, l.get("b").failure),
        (1, Some(f("b")))
    );
    l.forget("b");
    l.update("e", |e| e.uncounted = 2);
    assert_eq!(
        l.get("c").failure,
        Some(f("c")),
        "a forgotten entry frees its place"
    );
    assert_eq!(Ledger::new(0).get("x"), Default::default());
}

#[test]
fn delays_round_up_to_whole_seconds() {
    assert_eq!(ceil_secs(Duration::ZERO), 0);
    assert_eq!(ceil_secs(Duration::from_millis(20)), 1);
    assert_eq!(ceil_secs(Duration::from_millis(1000)), 1);
    assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
}

#[test]
fn fifo_tokens_are_kept_or_hashed() {
    assert_eq!(fifo_token("m-1/0"), "m-1/0");
    let long = "x".repeat(200);
    assert_eq!(fifo_token(&long).len(), 36);
    assert_eq!(fifo_token(&long), fifo_token(&long), "deterministic");
    assert_ne!(fifo_token("a b"), "a b");
}

#[test]
fn retry_visibility_stays_within_twelve_hours_of_the_receive() {
    const HOUR: Duration = Duration::from_secs(3600);
    assert_eq!(
        visibility_secs(Duration::ZERO, Duration::from_millis(1200)),
        2
    );
    assert_eq!(visibility_secs(Duration::ZERO, 24 * HOUR), 43_199, "capped");
    assert_eq!(
        visibility_secs(11 * HOUR, 2 * HOUR),
        3_599,
        "what is left of the 12 h since the receive"
    );
    assert_eq!(visibility_secs(13 * HOUR, HOUR), 0, "nothing left");
}

#[test]
fn settings_beyond_the_sqs_limits_are_warned_about() {
    let plan = |sub: SubscriptionConfig| {
        let cfg = crate::config::FerryConfig {
            subscriptions: [("s".to_owned(), sub)].into(),
            ..crate::config::load_str("t.toml", "[subscriptions.s]\n").unwrap()
        };
        cfg.queue_plans().remove(0)
    };
    assert!(limit_warnings(&plan(SubscriptionConfig::default())).is_empty());
    let sub = SubscriptionConfig {
        max_lease: crate::bounded::Span::secs(12 * 3600),
        backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(24 * 3600)).unwrap(),
        receive_wait: crate::bounded::Span::secs(30),
        ..SubscriptionConfig::default()
    };
    let warnings = limit_warnings(&plan(sub));
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(warnings[0].starts_with("subscriptions.s.backoff.max (1day) exceeds the 12h"));
    assert!(warnings[0].ends_with("a retry waits at most 12h"));
    assert!(warnings[1].starts_with("subscriptions.s.receive_wait (30s) exceeds the 20s"));
}

fn forged(meta: &str, body: &str) -> super::codec::Decoded {
    let value = aws_sdk_sqs::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value(meta)
        .build()
        .unwrap();
    let raw = std::collections::HashMap::from([(META.to_owned(), value)]);
    decode(body, Some(&raw))
}

#[test]
fn forged_bookkeeping_makes_a_message_malformed() {
    let d = forged(r#"{"spent":4294967295}"#, "hello");
    assert!(
        d.malformed
            .as_deref()
            .unwrap()
            .contains("4294967295 attempts were spent"),
        "{:?}",
        d.malformed
    );
    assert_eq!(d.meta.spent, 0, "an impossible count is not used");
    let d = forged(r#"{"body":"empty"}"#, "not empty at all");
    assert!(
        d.malformed
            .as_deref()
            .unwrap()
            .contains("says the body is empty"),
        "{:?}",
        d.malformed
    );
    assert_eq!(&d.payload[..], b"not empty at all", "the body is kept");
    let d = forged(r#"{"due_at":9223372036854775807}"#, "x");
    assert!(d.malformed.as_deref().unwrap().contains("horizon"));
    // What ferry itself writes still reads.
    let d = forged(r#"{"spent":3,"body":"empty"}"#, "-");
    assert!(d.malformed.is_none(), "{:?}", d.malformed);
    assert_eq!((d.meta.spent, d.payload.len()), (3, 0));
}

/// A client for a port nobody listens on: every call fails at once.
fn unreachable_client() -> aws_sdk_sqs::Client {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        .http_client(http)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

#[tokio::test]
async fn idle_batcher_lanes_end_and_leave_the_map() {
    let batcher = super::batch::Batcher::with_idle(
        unreachable_client(),
        Duration::from_millis(1),
        Duration::from_millis(50),
    );
    for i in 0..20 {
        let url = format!("http://127.0.0.1/000000000000/realm-{i}");
        assert!(
            batcher.delete(&url, "r").await.is_err(),
            "nothing listens there"
        );
    }
    assert!(batcher.lanes() > 0, "a lane per queue URL while in use");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while batcher.lanes() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} lanes left",
            batcher.lanes()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A queue used again gets a new lane.
    let _ = batcher
        .delete("http://127.0.0.1/000000000000/realm-0", "r")
        .await;
    assert_eq!(batcher.lanes(), 1);
}
