//! SQS start-up when IAM denies the credentials the queue. ElasticMQ has no IAM, so this
//! one test talks to a **stand-in** (a mock, named as such): an HTTP server on 127.0.0.1
//! that answers every SQS call the way AWS does when a policy denies it — 403 with
//! `AccessDeniedException` and the query-compatible code `AccessDenied`. Everything else
//! about SQS is tested against ElasticMQ.
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::{Arc, Mutex};

use axum::{Router, http::HeaderMap, http::StatusCode};
use ferry_tests::{
    FerryBuilder, Sub,
    ferry::run_cli,
    fixtures::{BackendFixture, Sqs},
};

/// Starts the stand-in; returns its URL and the `X-Amz-Target` of every call it answered.
async fn denying_sqs() -> (String, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let app = Router::new().fallback(move |headers: HeaderMap| {
        let seen = seen.clone();
        async move {
            let target = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            seen.lock().unwrap().push(target.clone());
            let body = format!(
                r#"{{"__type":"com.amazon.coral.service#AccessDeniedException","message":"User: arn:aws:iam::000000000000:user/ferry is not authorized to perform: {target}"}}"#
            );
            (
                StatusCode::FORBIDDEN,
                [
                    ("content-type", "application/x-amz-json-1.0"),
                    ("x-amzn-query-error", "AccessDenied;Sender"),
                    ("x-amzn-requestid", "00000000-0000-0000-0000-000000000000"),
                ],
                body,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_stops_start_up_with_a_clear_error() {
    let (url, calls) = denying_sqs().await;
    let f = Sqs::with_config(|c| c.endpoint = Some(url)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.toml");
    let config = FerryBuilder::new(f.backend_toml(), "http://127.0.0.1:9")
        .sub(Sub::new("s").set("queue", "\"sqs-denied\""))
        .config();
    std::fs::write(&path, config).unwrap();

    let out = run_cli(&path, &["run"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("subscriptions.s.queue: queue `sqs-denied`: access denied [AccessDenied"),
        "{err}"
    );
    assert!(
        calls
            .lock()
            .unwrap()
            .iter()
            .any(|t| t == "AmazonSQS.GetQueueUrl"),
        "the answer came from the stand-in: {:?}",
        calls.lock().unwrap()
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
