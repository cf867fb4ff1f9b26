//! SQS start-up when IAM denies the credentials the queue. ElasticMQ has no IAM, so this
//! test puts the fault-injecting proxy (`fixtures::SqsProxy`, a stand-in named as such) in
//! front of it, answering every call as AWS does when a policy denies it.
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

use ferry_tests::{
    Sub,
    ferry::assert_run_refuses_and_check_warns,
    fixtures::{BackendFixture, Sqs, SqsProxy},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_stops_start_up_with_a_clear_error() {
    let proxy = SqsProxy::start().await;
    proxy.deny_everything();
    let f = Sqs::with_config(|c| c.endpoint = Some(proxy.url().to_owned())).await;
    let dir = tempfile::tempdir().unwrap();
    let path = f.config_file(&dir, Sub::new("s").set("queue", "\"sqs-denied\""));

    // `run` exits 1 naming the finding; `check` reports it as a warning and succeeds.
    let finding = "subscriptions.s.queue: queue `sqs-denied`: access denied";
    let err = assert_run_refuses_and_check_warns(&path, finding).await;
    assert!(err.contains(&format!("{finding} [AccessDenied")), "{err}");
    assert!(
        proxy.calls().iter().any(|c| c == "GetQueueUrl"),
        "the answer came from the stand-in: {:?}",
        proxy.calls()
    );
}

/// An SQS endpoint nobody listens on: the commands say what failed in words (the cause
/// chain, each cause once), never the SDK's debug structures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_told_in_words() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let f = Sqs::with_config(|c| c.endpoint = Some(format!("http://{closed}"))).await;
    let dir = tempfile::tempdir().unwrap();
    let path = f.config_file(&dir, Sub::new("s").set("queue", "\"sqs-unreachable\""));
    for cmd in [&["queue", "stats"][..], &["dlq", "list"][..], &["run"][..]] {
        let out = ferry_tests::ferry::run_cli(&path, cmd).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {err}");
        assert!(err.contains("Connection refused"), "{cmd:?}: {err}");
        for debug in ["DispatchFailure(", "{ source", "ConnectorError", "Os {"] {
            assert!(!err.contains(debug), "{cmd:?} printed `{debug}`: {err}");
        }
    }
}
