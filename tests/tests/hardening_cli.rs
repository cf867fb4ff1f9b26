//! The command line tells the truth, tried as a new user would: a worker command that
//! cannot start stops ferry, one that keeps exiting is restarted with growing delays and
//! reported, the child's output stays inside ferry's JSON event stream,
//! read-only commands create nothing, `publish` warns about a queue nobody consumes and
//! says when it waits for stdin, and several ferry processes share one embedded queue
//! file (`ferry conformance` with nothing listening: `worker_conformance.rs`).
#![allow(clippy::unwrap_used, missing_docs)]

use std::{collections::HashMap, path::Path, time::Duration};

use ferry::backend::NewMessage;
use ferry_tests::{
    FerryBuilder, Sub, TestWorker, assert_eventually,
    ferry::{ferry_bin, free_port, run_cli},
    fixtures::{BackendFixture, Embedded},
};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_command_that_cannot_start_stops_ferry() {
    let f = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let config = FerryBuilder::new(
        f.backend_toml(),
        &format!("http://127.0.0.1:{}", free_port()),
    )
    .sub(Sub::new("s"))
    .config();
    let path = write(dir.path(), "ferry.toml", &config);
    for (command, reason) in [
        ("./no-such-worker-binary", "not found"),
        (path.to_str().unwrap(), "not executable"),
    ] {
        let out = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::process::Command::new(ferry_bin())
                .args(["run", "--config"])
                .arg(&path)
                .args(["--", command])
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap_or_else(|_| panic!("ferry kept restarting `{command}`"))
        .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {err}");
        assert!(
            err.contains(&format!("cannot start the worker `{command}`")) && err.contains(reason),
            "{command}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_child_workers_output_becomes_events() {
    let f = Embedded::new().await;
    let port = free_port();
    let mut ferry = FerryBuilder::new(f.backend_toml(), &format!("http://127.0.0.1:{port}"))
        .sub(Sub::new("s"))
        .worker_command(&[
            "sh",
            "-c",
            "echo 'hello from the child'; echo 'trouble ahead' >&2; printf 'no newline'; exec sleep 60",
        ])
        .spawn()
        .await;
    assert_eventually!(
        ferry.events_of("worker.output").len() == 3,
        "three lines of output"
    );
    let lines: HashMap<String, String> = ferry
        .events_of("worker.output")
        .iter()
        .map(|e| {
            (
                e["message"].as_str().unwrap().to_owned(),
                e["ferry.worker.stream"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(lines["hello from the child"], "stdout");
    assert_eq!(lines["trouble ahead"], "stderr");
    assert_eq!(lines["no newline"], "stdout");
    ferry.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(ferry.wait().await.success());
    assert!(ferry.not_json().is_empty(), "{:?}", ferry.not_json());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_keeps_exiting_is_restarted_with_backoff_and_reported() {
    let f = Embedded::new().await;
    let port = free_port();
    let mut ferry = FerryBuilder::new(f.backend_toml(), &format!("http://127.0.0.1:{port}"))
        .sub(Sub::new("s"))
        .worker_command(&["sh", "-c", "exit 3"])
        .spawn()
        .await;
    assert_eventually!(
        ferry.events_of("worker.exited").len() >= 4,
        "four exits of the crashing worker"
    );
    let exits = ferry.events_of("worker.exited");
    let delays: Vec<Duration> = exits[..4]
        .iter()
        .map(|e| {
            assert_eq!(e["log.level"], "error", "{e}");
            let text = e["message"].as_str().unwrap();
            assert!(text.contains("exit status: 3"), "{text}");
            let (_, delay) = text.split_once("restarting in ").expect(text);
            humantime::parse_duration(delay).unwrap()
        })
        .collect();
    // Jittered in [base/2, base], the base doubling per exit: the fourth wait is at least
    // twice the longest first one could be.
    assert!(delays[3] >= delays[0] * 2, "{delays:?}");
    assert!(ferry.events_of("worker.started").len() >= 4);
    ferry.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(ferry.wait().await.success());
}

#[tokio::test]
async fn read_only_commands_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typo").join("ferry.db");
    let path = write(
        dir.path(),
        "ferry.toml",
        &format!(
            "[backend.embedded]\npath = {:?}\n[subscriptions.orders]\n",
            db.display().to_string()
        ),
    );
    for cmd in [
        &["queue", "stats"][..],
        &["dlq", "list"][..],
        &["dlq", "redrive"][..],
    ] {
        let out = run_cli(&path, cmd).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {err}");
        assert!(err.contains("no queue file at"), "{cmd:?}: {err}");
        assert!(
            !db.parent().unwrap().exists(),
            "{cmd:?} created {}",
            db.display()
        );
    }
}

#[tokio::test]
async fn publish_warns_about_a_queue_nobody_consumes() {
    let f = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ferry.toml",
        &format!("{}[subscriptions.orders]\n", f.backend_toml()),
    );
    let out = run_cli(&path, &["publish", "--queue", "ordres", "--data", "x"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: no subscription in") && err.contains("consumes queue `ordres`"),
        "{err}"
    );
    let out = run_cli(&path, &["publish", "--queue", "orders", "--data", "x"]).await;
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn publish_says_when_it_reads_a_terminal() {
    use std::io::{Read, Write};
    let f = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ferry.toml",
        &format!("{}[subscriptions.orders]\n", f.backend_toml()),
    );
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut master = std::fs::File::from(pty.master);
    let mut child = std::process::Command::new(ferry_bin())
        .args(["publish", "--queue", "orders", "--config"])
        .arg(&path)
        .stdin(std::process::Stdio::from(pty.slave))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // The first line on stderr, read on a thread of its own so that silence fails the test.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut said = Vec::new();
        let mut byte = [0u8; 1];
        while !said.ends_with(b"\n") && stderr.read(&mut byte).unwrap_or(0) == 1 {
            said.push(byte[0]);
        }
        let _ = tx.send(String::from_utf8_lossy(&said).into_owned());
    });
    let said = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("ferry publish waited on the terminal without a word");
    assert!(
        said.contains("reading the payload from the terminal"),
        "{said}"
    );
    // A line, then end of input (Ctrl-D).
    master.write_all(b"typed by hand\n\x04").unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(out.trim().len(), 36, "a message id: {out}");
    let got = f
        .backend()
        .await
        .receive("orders", 1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(&got[0].payload[..], b"typed by hand\n");
}

/// Three ferry processes on one queue file (as three sidecars on one host share it): every
/// message is handled exactly once and none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_ferry_processes_share_one_queue_file() {
    const MESSAGES: usize = 600;
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let mut ferries = Vec::new();
    for _ in 0..3 {
        ferries.push(
            FerryBuilder::new(f.backend_toml(), &worker.url())
                .sub(
                    Sub::new("s")
                        .set("queue", "\"q-shared\"")
                        .set("max_in_flight", "8"),
                )
                .spawn()
                .await,
        );
    }
    let messages = (0..MESSAGES)
        .map(|i| NewMessage::new("q-shared", format!("m{i}")).attribute("t.sleep_ms", "2"))
        .collect();
    f.backend().await.publish(messages).await.unwrap();
    assert_eventually!(
        @within Duration::from_secs(120),
        ferries.iter().map(|p| p.events_of("message.done").len()).sum::<usize>() == MESSAGES,
        "all done"
    );
    let mut calls: HashMap<String, usize> = HashMap::new();
    for c in worker.calls() {
        *calls.entry(c.payload).or_default() += 1;
    }
    assert_eq!(calls.len(), MESSAGES, "none lost");
    assert!(
        calls.values().all(|&n| n == 1),
        "one handled twice: {calls:?}"
    );
    for p in &ferries {
        assert!(
            !p.events_of("message.done").is_empty(),
            "every process took a share"
        );
    }
    assert!(f.is_empty("q-shared").await);
}
