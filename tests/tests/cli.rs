//! The `ferry` command line on the embedded backend: config errors, `check`, `publish`,
//! `queue stats`, and `ferry run -- WORKER` supervising a real worker process.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use ferry_tests::{
    FerryBuilder, Sub, assert_eventually,
    ferry::run_cli,
    fixtures::{BackendFixture, Embedded},
};
use nix::sys::signal::Signal;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test]
async fn bad_config_files_exit_64_naming_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown.toml",
            "[worker]\nadress = \"http://127.0.0.1:1\"\n[subscriptions.a]\n",
            "worker.adress: unknown key; did you mean `address`?",
        ),
        (
            "type.toml",
            "[subscriptions.a]\nmax_in_flight = \"many\"\n",
            "subscriptions.a.max_in_flight: expected an integer from 1 to 10000, found the string \"many\"",
        ),
        (
            "backoff.toml",
            "[subscriptions.a]\nbackoff = { min = \"1m\", max = \"1s\" }\n",
            "subscriptions.a.backoff",
        ),
        (
            "lease.toml",
            "[subscriptions.a]\nhandler_timeout = \"5m\"\nmax_lease = \"1m\"\n",
            "subscriptions.a.max_lease: 1m is shorter than handler_timeout",
        ),
        (
            "address.toml",
            "[worker]\naddress = \"localhost:50051\"\n[subscriptions.a]\n",
            "worker.address: `localhost:50051` must start with http://",
        ),
        (
            "empty.toml",
            "",
            "subscriptions: at least one [subscriptions.<name>] table (or an [ingress]) is required",
        ),
        ("syntax.toml", "[subscriptions.a\n", "syntax.toml"),
    ];
    for (file, text, expected) in cases {
        let path = write(dir.path(), file, text);
        for cmd in [&["check"][..], &["run"][..]] {
            let out = run_cli(&path, cmd).await;
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(64), "{file} {cmd:?}: {err}");
            assert!(
                err.contains(&path.display().to_string()),
                "{file}: the file is named in: {err}"
            );
            assert!(
                err.contains(expected),
                "{file}: expected `{expected}` in: {err}"
            );
        }
    }
    let missing = run_cli(&dir.path().join("nope.toml"), &["check"]).await;
    assert_eq!(missing.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the file"));
}

#[tokio::test]
async fn check_prints_the_effective_config_with_env_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ferry.toml", "[subscriptions.orders]\n");
    let out = tokio::process::Command::new(ferry_tests::ferry::ferry_bin())
        .args(["check", "--config"])
        .arg(&path)
        .env("FERRY_SUBSCRIPTIONS__ORDERS__MAX_IN_FLIGHT", "3")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("max_in_flight = 3"), "{text}");
    assert!(text.contains("[backend.embedded]"), "{text}");
    let bad = tokio::process::Command::new(ferry_tests::ferry::ferry_bin())
        .args(["check", "--config"])
        .arg(&path)
        .env("FERRY_SUBSCRIPTIONS__ORDERS__MAX_IN_FLIGHT", "lots")
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("environment (FERRY_*): subscriptions.orders.max_in_flight")
    );
}

#[tokio::test]
async fn publish_and_queue_stats() {
    let f = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ferry.toml",
        &format!("{}[subscriptions.orders]\n", f.backend_toml()),
    );
    let ok = run_cli(
        &path,
        &[
            "publish", "--queue", "orders", "--data", "{}", "--attr", "k=v", "--realm", "acme",
        ],
    )
    .await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let delayed = run_cli(
        &path,
        &[
            "publish", "--queue", "orders", "--data", "x", "--delay", "1h",
        ],
    )
    .await;
    assert!(delayed.status.success());
    let bad = run_cli(
        &path,
        &[
            "publish",
            "--queue",
            "orders",
            "--data",
            "x",
            "--attr",
            "ferry.x=1",
        ],
    )
    .await;
    assert_eq!(bad.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("attributes: key `ferry.x`"));
    let stats = run_cli(&path, &["queue", "stats", "--json"]).await;
    let line: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(
        (
            line["ready"].as_u64(),
            line["delayed"].as_u64(),
            line["dead"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
    let received = f
        .backend()
        .await
        .receive(
            "orders",
            10,
            std::time::Duration::from_secs(30),
            std::time::Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(received[0].attributes["realm"], "acme");
    assert_eq!(received[0].attributes["k"], "v");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_supervises_the_worker_process() {
    let f = Embedded::new().await;
    // A free port for the child worker.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut ferry = FerryBuilder::new(f.backend_toml(), &format!("http://127.0.0.1:{port}"))
        .sub(Sub::new("s").set("queue", "\"q-child\""))
        .worker_command(&[env!("CARGO_BIN_EXE_test-worker")])
        .spawn()
        .await;
    let first = ferry_tests::conformance::publish(&f, "q-child", "one", &[]).await;
    assert_eventually!(
        ferry.count_for("message.done", &first) == 1,
        "the child worker handled a message"
    );
    let pid = ferry.events_of("worker.started")[0]["process.pid"]
        .as_i64()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
        Signal::SIGKILL,
    )
    .unwrap();
    assert_eventually!(
        ferry.events_of("worker.started").len() == 2,
        "the worker was restarted"
    );
    let second = ferry_tests::conformance::publish(&f, "q-child", "two", &[]).await;
    assert_eventually!(
        ferry.count_for("message.done", &second) == 1,
        "the restarted worker handles messages"
    );
    ferry.signal(Signal::SIGTERM);
    assert!(ferry.wait().await.success());
    let exits = ferry.events_of("worker.exited");
    assert!(
        exits.last().unwrap()["message"]
            .as_str()
            .unwrap()
            .starts_with("worker exited"),
        "{exits:?}"
    );
    assert_eq!(
        ferry.events_of("worker.started").len(),
        2,
        "not restarted during shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_worker_ferry_says_so_and_is_not_ready() {
    let f = Embedded::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ferry = FerryBuilder::new(f.backend_toml(), &format!("http://127.0.0.1:{port}"))
        .sub(Sub::new("s"))
        .spawn()
        .await;
    assert_eventually!(
        ferry
            .events_of("worker.health")
            .iter()
            .any(|e| e["ferry.worker.serving"] == false),
        "the first health result is logged even though it is not a change"
    );
    let (code, body) = ferry.admin_get("/readyz").await;
    assert_eq!((code, body.as_str()), (503, "worker not serving\n"));
    assert_eq!(
        ferry.admin_get("/healthz").await.0,
        200,
        "ferry itself is alive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_drains_like_sigterm() {
    let f = Embedded::new().await;
    let worker = ferry_tests::TestWorker::start().await;
    let mut ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml("[shutdown]\ngrace = \"20s\"")
        .sub(Sub::new("s").set("queue", "\"q\""))
        .spawn()
        .await;
    let id = ferry_tests::conformance::publish(&f, "q", "slow", &[("t.sleep_ms", "800")]).await;
    assert_eventually!(worker.calls_for("slow").len() == 1, "call running");
    ferry.signal(Signal::SIGINT);
    assert!(ferry.wait().await.success(), "exit 0 after the drain");
    assert_eq!(
        ferry.count_for("message.done", &id),
        1,
        "the running call finished and was acked before exit"
    );
    assert!(ferry.events_of("message.handed_back").is_empty());
    assert_eq!(ferry.events_of("ferry.stopped").len(), 1);
}
