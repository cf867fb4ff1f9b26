//! SQS start-up when IAM denies the credentials the queue. ElasticMQ has no IAM, so this
//! test puts the fault-injecting proxy (`fixtures::SqsProxy`, a stand-in named as such) in
//! front of it, answering every call as AWS does when a policy denies it.
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

use ferry_tests::{
    Sub,
    ferry::run_cli,
    fixtures::{Sqs, SqsProxy},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_stops_start_up_with_a_clear_error() {
    let proxy = SqsProxy::start().await;
    proxy.deny_everything();
    let f = Sqs::with_config(|c| c.endpoint = Some(proxy.url().to_owned())).await;
    let dir = tempfile::tempdir().unwrap();
    let path = f.config_file(&dir, Sub::new("s").set("queue", "\"sqs-denied\""));

    let out = run_cli(&path, &["run"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("subscriptions.s.queue: queue `sqs-denied`: access denied [AccessDenied"),
        "{err}"
    );
    assert!(
        proxy.calls().iter().any(|c| c == "GetQueueUrl"),
        "the answer came from the stand-in: {:?}",
        proxy.calls()
    );
    // `check` reports the same finding as a warning and does not fail.
    let out = run_cli(&path, &["check"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("ferry: warning: subscriptions.s.queue: queue `sqs-denied`: access denied"),
        "{err}"
    );
}
