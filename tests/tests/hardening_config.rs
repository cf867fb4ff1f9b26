//! Config files a user might write by mistake: values out of range, two backends, clashing
//! listen addresses, several mistakes at once. Each is refused by `ferry check` and `ferry
//! run` with exit 64, naming the file, every bad key and the reason in TOML's terms.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use ferry_tests::ferry::run_cli;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `check` and `run` on `text`; both must exit 64 and print every `expected` line.
async fn refused(text: &str, expected: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ferry.toml", text);
    let mut last = String::new();
    for cmd in [&["check"][..], &["run"][..]] {
        let out = run_cli(&path, cmd).await;
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(64), "{cmd:?} on\n{text}\n{err}");
        for e in expected {
            assert!(
                err.contains(&format!("{}: {e}", path.display())),
                "{cmd:?}: expected `{e}` in:\n{err}"
            );
        }
        last = err;
    }
    last
}

#[tokio::test]
async fn durations_counts_and_rates_have_upper_bounds() {
    for (key, value) in [
        ("lease", "\"18446744073709551615s\""),
        ("receive_wait", "\"18446744073709551615s\""),
        ("handler_timeout", "\"18446744073709551615s\""),
        ("max_lease", "\"100000d\""),
        ("realm_requeue_delay", "\"100000d\""),
        ("rate_limit", "1e-20"),
        ("rate_limit", "1e300"),
        ("max_in_flight", "4294967295"),
        ("max_attempts", "4294967295"),
        ("batch_size", "100000"),
    ] {
        let text = format!("[subscriptions.a]\n{key} = {value}\n");
        let err = refused(&text, &[&format!("subscriptions.a.{key}: ")]).await;
        assert!(err.contains("out of range"), "{key} = {value}: {err}");
    }
    refused(
        "[shutdown]\ngrace = \"18446744073709551615s\"\n[subscriptions.a]\n",
        &["shutdown.grace: "],
    )
    .await;
    refused(
        "[worker]\nhealth_interval = \"18446744073709551615s\"\n[subscriptions.a]\n",
        &["worker.health_interval: "],
    )
    .await;
}

#[tokio::test]
async fn exactly_one_backend_table() {
    refused(
        "[backend.embedded]\n[backend.sqs]\n[subscriptions.a]\n",
        &["backend.sqs: only one backend can be configured"],
    )
    .await;
    refused(
        "[backend.nonesuch]\n[subscriptions.a]\n",
        &["backend.nonesuch: unknown backend"],
    )
    .await;
    refused(
        "[backend]\nkind = 1\n[subscriptions.a]\n",
        &["backend.kind: unknown backend"],
    )
    .await;
}

#[tokio::test]
async fn gateway_and_admin_cannot_share_an_address() {
    refused(
        "[gateway]\nlisten = \"127.0.0.1:7000\"\n[admin]\nlisten = \"127.0.0.1:7000\"\n[subscriptions.a]\n",
        &["admin.listen: 127.0.0.1:7000 is also gateway.listen"],
    )
    .await;
}

#[tokio::test]
async fn every_mistake_is_reported_with_a_suggestion_in_toml_terms() {
    let err = refused(
        "[worker]\nadress = \"http://127.0.0.1:1\"\n[subscriptions.a]\nmax_in_flight = \"many\"\nlease = \"forever\"\nmax_atempts = 3\n",
        &[
            "worker.adress: unknown key; did you mean `address`?",
            "subscriptions.a.max_in_flight: expected an integer from 1 to",
            "subscriptions.a.lease: `forever` is not a duration",
            "subscriptions.a.max_atempts: unknown key; did you mean `max_attempts`?",
        ],
    )
    .await;
    for rust in ["u32", "usize", "u64", "f64", "variant", "struct "] {
        assert!(!err.contains(rust), "Rust type names in:\n{err}");
    }
    // One line per problem.
    assert!(err.lines().count() >= 5, "{err}");
}
