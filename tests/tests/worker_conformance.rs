//! `ferry conformance` against real workers over real gRPC: the Rust reference worker
//! (ferry-sdk, served in this process), the Go reference worker (built with `go build` and
//! run as a process), a worker that answers one vector wrongly (the command must fail
//! naming that vector), a worker that is not there, and a bad `--vectors` directory.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    path::{Path, PathBuf},
    process::{Output, Stdio},
};

use ferry_conformance_worker::{Reference, reference};
use ferry_sdk::{Handler, Message, Outcome, Reply};
use ferry_tests::{assert_eventually, ferry::ferry_bin};
use tokio::{net::TcpListener, process::Command, sync::oneshot};

/// Runs `ferry conformance --worker ADDR EXTRA...`.
async fn conformance(addr: &str, extra: &[&str]) -> Output {
    Command::new(ferry_bin())
        .args(["conformance", "--worker", addr])
        .args(extra)
        .env_remove("FERRY_WORKER_ADDR")
        .output()
        .await
        .expect("running ferry conformance")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn vector_names() -> Vec<String> {
    ferry::conformance::embedded()
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect()
}

/// Asserts the run passed with one PASS line per vector, in order.
fn assert_all_pass(who: &str, out: &Output) {
    let text = stdout(out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{who}:\n{text}\n{stderr}");
    let passed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("PASS "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert_eq!(passed, vector_names(), "{who}:\n{text}");
    let n = passed.len();
    assert!(
        text.ends_with(&format!("{n} passed, 0 failed\n")),
        "{who}:\n{text}"
    );
}

/// Serves `handler` with the SDK on a free port until the returned sender is dropped.
async fn serve(handler: impl Handler) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(ferry_sdk::serve_on(listener, handler, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test]
async fn the_rust_reference_worker_passes_every_vector() {
    let (addr, _stop) = serve(Reference).await;
    assert_all_pass("rust reference worker", &conformance(&addr, &[]).await);
}

/// A child process killed when dropped.
struct Child(tokio::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

fn go_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/go")
}

#[tokio::test]
async fn the_go_reference_worker_passes_every_vector() {
    let go_found = std::process::Command::new("go")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !go_found {
        eprintln!("`go` is not on PATH: the Go reference worker is not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("conformance-worker");
    let build = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg("./cmd/conformance-worker")
        .current_dir(go_dir())
        .output()
        .await
        .unwrap();
    assert!(
        build.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let _worker = Child(
        Command::new(&bin)
            .env("FERRY_WORKER_ADDR", &addr)
            .kill_on_drop(true)
            .spawn()
            .unwrap(),
    );
    assert_eventually!(
        tokio::net::TcpStream::connect(&addr).await.is_ok(),
        "the Go worker listens on {addr}"
    );
    assert_all_pass("go reference worker", &conformance(&addr, &[]).await);
}

#[tokio::test]
async fn a_worker_that_ignores_the_retry_delay_fails_naming_that_vector() {
    // The reference behaviour, except that a retry loses its delay.
    let (addr, _stop) = serve(|msg: Message| async move {
        let reply = reference(&msg).await;
        match reply.outcome() {
            Outcome::Retry { reason, .. } => Reply::retry(reason.clone()),
            _ => reply,
        }
    })
    .await;
    let out = conformance(&addr, &[]).await;
    let text = stdout(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}\n{stderr}");
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert_eq!(failed.len(), 1, "{text}");
    assert!(
        failed[0].starts_with("FAIL retry-with-delay (")
            && failed[0].ends_with("expected delay 1500 ms, got no delay"),
        "{text}"
    );
    let n = vector_names().len();
    assert!(
        text.ends_with(&format!("{} passed, 1 failed\n", n - 1)),
        "{text}"
    );
    assert!(
        stderr.contains(&format!("1 of {n} conformance vector(s) failed")),
        "{stderr}"
    );

    // --only runs just the named vectors.
    let only = conformance(&addr, &["--only", "health", "--only", "retry-with-delay"]).await;
    assert_eq!(only.status.code(), Some(1));
    assert!(
        stdout(&only).ends_with("1 passed, 1 failed\n"),
        "{}",
        stdout(&only)
    );
}

/// Nothing listening: one connection error, not one failure per vector.
#[tokio::test]
async fn a_worker_that_is_not_there_is_one_connection_error() {
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().to_string()
    };
    let out = conformance(&addr, &[]).await;
    let text = stdout(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}{err}");
    assert!(
        err.contains(&format!("cannot reach a worker at {addr}")),
        "{err}"
    );
    assert!(!text.contains("FAIL"), "{text}");
}

#[tokio::test]
async fn bad_vector_directories_and_names_exit_64_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.json"), "{\"name\": 1}").unwrap();
    let out = conformance("127.0.0.1:1", &["--vectors", dir.path().to_str().unwrap()]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("broken.json") && stderr.contains("invalid type"),
        "{stderr}"
    );

    let out = conformance("127.0.0.1:1", &["--only", "nope"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("--only `nope`: no such vector"), "{stderr}");

    // The checked-in directory is the embedded set.
    let (addr, _stop) = serve(Reference).await;
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let out = conformance(&addr, &["--vectors", vectors.to_str().unwrap()]).await;
    assert_all_pass("--vectors tests/conformance", &out);
}
