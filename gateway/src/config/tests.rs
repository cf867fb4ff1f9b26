//! Unit tests for config loading and validation.

use std::time::Duration;

use super::*;

const MINIMAL: &str = "[subscriptions.orders]\n";

#[test]
fn minimal_config_runs_embedded_with_defaults() {
    let cfg = load_str("ferry.toml", MINIMAL).unwrap();
    assert_eq!(cfg.worker.address, "http://127.0.0.1:50051");
    assert!(matches!(cfg.backend, BackendConfig::Embedded(_)));
    let sub = &cfg.subscriptions["orders"];
    assert_eq!(sub.queue_name("orders"), "orders");
    assert_eq!(sub.error_queue_name("orders"), "orders-errors");
    assert_eq!(sub.max_in_flight.get(), 16);
    assert_eq!(sub.handler_timeout.get(), Duration::from_secs(30));
    assert_eq!(sub.error_queue_name("orders"), "orders-errors");
    let fifo = SubscriptionConfig {
        queue: Some("orders.fifo".into()),
        ..SubscriptionConfig::default()
    };
    assert_eq!(fifo.error_queue_name("x"), "orders-errors.fifo");
}

#[test]
fn full_config_parses() {
    let cfg = load_str(
        "ferry.toml",
        r#"
service = "blast"
[worker]
address = "http://127.0.0.1:6000"
health_interval = "250ms"
[backend.embedded]
path = "/tmp/x.db"
poll_interval = "20ms"
[limits]
max_payload_bytes = 1024
[subscriptions.customers]
queue = "BlastCustomerSender"
max_in_flight = 8
max_in_flight_per_realm = 2
rate_limit = 12.5
backoff = { min = "10ms", max = "2s" }
"#,
    )
    .unwrap();
    let sub = &cfg.subscriptions["customers"];
    assert_eq!(sub.max_in_flight_per_realm.map(|n| n.get()), Some(2));
    assert_eq!(sub.backoff.max(), Duration::from_secs(2));
    assert_eq!(cfg.limits.max_payload_bytes.get(), 1024);
}

fn problem(text: &str) -> String {
    load_str("bad.toml", text).unwrap_err().to_string()
}

#[test]
fn unknown_key_names_file_key_and_field() {
    let e = problem("[worker]\nadress = \"http://x:1\"\n[subscriptions.a]\n");
    assert!(
        e.starts_with("bad.toml: worker.adress: unknown key; did you mean `address`?"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_the_key() {
    let e = problem("[subscriptions.a]\nmax_in_flight = \"lots\"\n");
    assert!(
        e.contains("bad.toml: subscriptions.a.max_in_flight: "),
        "{e}"
    );
}

#[test]
fn invalid_backoff_names_the_key_and_reason() {
    let e = problem("[subscriptions.a]\nbackoff = { min = \"1m\", max = \"1s\" }\n");
    assert!(e.contains("subscriptions.a.backoff"), "{e}");
    assert!(e.contains("must not exceed max"), "{e}");
}

#[test]
fn semantic_problems_are_all_reported() {
    let e = problem(
        "[worker]\naddress = \"127.0.0.1:1\"\n[subscriptions.a]\nmax_in_flight = 0\nmax_lease = \"1s\"\nmax_in_flight_per_realm = 3\n",
    );
    for key in [
        "worker.address",
        "subscriptions.a.max_in_flight",
        "subscriptions.a.max_lease",
    ] {
        assert!(
            e.contains(&format!("bad.toml: {key}: ")),
            "missing {key} in:\n{e}"
        );
    }
}

#[test]
fn runtime_threads_default_to_one_and_are_range_checked() {
    assert_eq!(
        load_str("ferry.toml", MINIMAL)
            .unwrap()
            .runtime
            .threads
            .get(),
        1
    );
    let four = load_str("ferry.toml", "[runtime]\nthreads = 4\n[subscriptions.a]\n").unwrap();
    assert_eq!(four.runtime.threads.get(), 4);
    let e = problem("[runtime]\nthreads = 0\n[subscriptions.a]\nmax_in_flight = 0\n");
    for key in ["runtime.threads", "subscriptions.a.max_in_flight"] {
        assert!(
            e.contains(&format!("bad.toml: {key}: ")),
            "missing {key} in:\n{e}"
        );
    }
}

#[test]
fn no_subscription_is_an_error() {
    assert!(problem("service = \"x\"\n").contains("subscriptions: at least one"));
}

#[test]
fn bad_queue_names_are_refused() {
    let e = problem("[subscriptions.a]\nqueue = \"has space\"\n");
    assert!(e.contains("subscriptions.a.queue"), "{e}");
    assert!(is_valid_queue_name("orders.fifo"));
    assert!(!is_valid_queue_name(".fifo"));
}

#[test]
fn toml_syntax_error_names_the_file() {
    let e = problem("[subscriptions.a\n");
    assert!(e.starts_with("bad.toml"), "{e}");
}

#[test]
fn top_level_key_list_matches_the_model() {
    let mut cfg = load_str("t.toml", MINIMAL).unwrap();
    cfg.service_version = Some("1".into());
    cfg.ingress = Some(toml::from_str("").unwrap());
    let value = toml::Value::try_from(&cfg).unwrap();
    let mut keys: Vec<&str> = value
        .as_table()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = super::load::TOP_LEVEL_KEYS.to_vec();
    expected.sort_unstable();
    assert_eq!(
        keys, expected,
        "update TOP_LEVEL_KEYS when FerryConfig gains a field"
    );
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's closure returns figment's error type
fn unrelated_ferry_variables_are_not_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    // Figment's Jail isolates the environment for this closure.
    figment::Jail::expect_with(|jail| {
        jail.set_env("FERRY_BIN", "/usr/bin/ferry");
        jail.set_env("FERRY_TEST_SQS_ENDPOINT", "http://127.0.0.1:1");
        jail.set_env("FERRY_WORKER__HEALTH_INTERVAL", "3s");
        let cfg = load(&path).map_err(|e| e.to_string())?;
        assert_eq!(cfg.worker.health_interval.get(), Duration::from_secs(3));
        jail.set_env("FERRY_WORKER__ADRESS", "http://x:1");
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("environment (FERRY_*): worker.adress"),
            "{err}"
        );
        Ok(())
    });
}

/// The dotted keys of `value` (`subscriptions.<name>.x` written `…x`).
fn keys_of(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
    if let toml::Value::Table(t) = value {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else if prefix == "ingress.routes" {
                "ingress.routes.<name>".to_owned()
            } else if prefix == "subscriptions" {
                "…".to_owned()
            } else if prefix == "…" {
                format!("…{k}")
            } else {
                format!("{prefix}.{k}")
            };
            if prefix == "subscriptions" || matches!(v, toml::Value::Table(_)) {
                keys_of(&key, v, out);
            } else {
                out.push(key);
            }
        }
    }
}

fn documented(key: &str) -> bool {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut docs = std::fs::read_to_string(root.join("README.md")).unwrap();
    for doc in [
        "docs/LOGS.md",
        "docs/backends/sqs.md",
        "docs/backends/pubsub.md",
        "docs/INGRESS.md",
    ] {
        docs.push_str(&std::fs::read_to_string(root.join(doc)).unwrap_or_default());
    }
    let segments: Vec<&str> = key.split('.').collect();
    let in_an_example = (0..segments.len()).any(|i| {
        let suffix = segments[i..].join(".");
        docs.lines().any(|l| {
            l.trim_start_matches(['#', ' '])
                .strip_prefix(suffix.as_str())
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
    });
    let long = key.replace('…', "subscriptions.<name>.");
    docs.contains(&format!("`{key}`")) || docs.contains(&format!("`{long}`")) || in_an_example
}

/// Every key of `ferry.toml` is in the configuration reference (README.md, or the
/// backend and log docs it points to).
#[test]
#[cfg_attr(
    not(feature = "elasticsearch"),
    ignore = "its config has a [logs.elasticsearch] table, which a build without the elasticsearch feature refuses"
)]
fn every_key_is_documented() {
    let text = r#"
service_version = "1"
[backend.embedded]
[logs]
stdout = true
[logs.elasticsearch]
url = "http://127.0.0.1:9200"
api_key = "x"
[ingress.routes.r]
path = "/hooks/{tenant}"
queue = "q"
schema = "s.json"
verify = { scheme = "hmac", secrets = ["env:S"], tolerance = "1m", header = "X-Sig", algorithm = "sha256", encoding = "hex", prefix = "sha256=", signed = "{body}", timestamp_header = "X-Ts" }
realm = { path = "tenant" }
dedup_id = { header = "Idempotency-Key" }
attributes = ["X-Event"]
rate_limit = { per_second = 10.0, burst = 20 }
[tracing]
otlp_endpoint = "http://127.0.0.1:4317"
service_name = "s"
[logs.local]
enabled = true
path = "l.db"
[subscriptions.a]
queue = "q"
error_queue = "e"
max_in_flight_per_realm = 2
rate_limit = 1.0
"#;
    let mut cfg = load_str("t.toml", text).unwrap_or_else(|e| panic!("{e}"));
    // Keys that cannot all be set at once in a valid file.
    let a = cfg.subscriptions.get_mut("a").unwrap();
    a.queue_prefix = Some("p-".into());
    let route = cfg.ingress.as_mut().unwrap().routes.get_mut("r").unwrap();
    route.realm.as_mut().unwrap().pointer = Some("/a".into());
    route.dedup_id.as_mut().unwrap().path = Some("tenant".into());
    let es = cfg.logs.elasticsearch.as_mut().unwrap();
    es.username = Some("u".into());
    es.password = Some("p".into());
    let mut keys = Vec::new();
    keys_of("", &toml::Value::try_from(&cfg).unwrap(), &mut keys);
    #[cfg_attr(not(any(feature = "sqs", feature = "pubsub")), allow(unused_mut))]
    let mut more = Vec::new();
    #[cfg(feature = "sqs")]
    keys_of(
        "backend.sqs",
        &toml::Value::try_from(crate::backend::sqs::SqsConfig {
            region: Some("r".into()),
            endpoint: Some("http://x".into()),
            ..Default::default()
        })
        .unwrap(),
        &mut more,
    );
    #[cfg(feature = "pubsub")]
    keys_of(
        "backend.pubsub",
        &toml::Value::try_from(crate::backend::pubsub::PubsubConfig {
            emulator_host: Some("h:1".into()),
            monitoring_endpoint: Some("http://h:2".into()),
            ..crate::backend::pubsub::PubsubConfig::new("p")
        })
        .unwrap(),
        &mut more,
    );
    keys.extend(more);
    let missing: Vec<&String> = keys.iter().filter(|k| !documented(k)).collect();
    assert!(
        missing.is_empty(),
        "not in the configuration reference: {missing:?}"
    );
}

#[test]
#[cfg_attr(
    not(feature = "elasticsearch"),
    ignore = "its config has a [logs.elasticsearch] table, which a build without the elasticsearch feature refuses"
)]
fn check_output_never_shows_secrets() {
    let cfg = load_str(
        "t.toml",
        "[logs.elasticsearch]\nurl = \"http://x:9200\"\nusername = \"u\"\npassword = \"hunter2\"\n[subscriptions.a]\n",
    )
    .unwrap();
    let text = toml::to_string(&cfg.redacted()).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("password = \"<redacted>\""), "{text}");
}
