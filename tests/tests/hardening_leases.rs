//! A message ferry holds is always leased: while it waits for a rate-limit token, while
//! its follow-up messages are published (here through a stand-in that holds the publish
//! longer than the lease), and while ferry asks the worker's health after a failure. A
//! burst of failed calls asks the worker's health once, not once per call, and shutdown
//! does not wait for the next rate token.
#![allow(clippy::unwrap_used, missing_docs)]

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use ferry_proto::v1::{
    HandleRequest, HandleResponse,
    worker_service_server::{WorkerService, WorkerServiceServer},
};
use ferry_tests::{
    Sub, TestWorker, assert_eventually,
    conformance::{ferry_on, publish},
    fixtures::Embedded,
};
use tonic_health::pb::{
    HealthCheckRequest, HealthCheckResponse,
    health_check_response::ServingStatus,
    health_server::{Health, HealthServer},
};

fn calls_per_payload(worker: &TestWorker) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for c in worker.calls() {
        *n.entry(c.payload).or_default() += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_message_is_delivered_once() {
    for (rate, count) in [("2.0", 8), ("0.5", 3)] {
        let f = Embedded::new().await;
        let worker = TestWorker::start().await;
        let ferry = ferry_on(&f, &worker.url(), &["q-rate"])
            .await
            .sub(
                Sub::new("s")
                    .set("queue", "\"q-rate\"")
                    .set("lease", "\"1s\"")
                    .set("max_in_flight", "4")
                    .set("rate_limit", rate),
            )
            .spawn()
            .await;
        let mut ids = Vec::new();
        for i in 0..count {
            ids.push(publish(&f, "q-rate", &format!("r{i}"), &[]).await);
        }
        assert_eventually!(
            ids.iter()
                .all(|id| ferry.count_for("message.done", id) >= 1),
            "all done at {rate}/s"
        );
        let calls = calls_per_payload(&worker);
        assert!(
            calls.values().all(|&n| n == 1),
            "at {rate}/s with a 1 s lease, delivered more than once: {calls:?}"
        );
        assert_eq!(calls.len(), count);
    }
}

/// Health that answers SERVING after 200 ms (so calls that fail a moment apart find a
/// probe under way) and counts the checks.
#[derive(Clone, Default)]
struct CountingHealth(Arc<AtomicUsize>);

#[tonic::async_trait]
impl Health for CountingHealth {
    async fn check(
        &self,
        _: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        self.0.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(tonic::Response::new(HealthCheckResponse {
            status: ServingStatus::Serving.into(),
        }))
    }

    type WatchStream = tokio_stream::Pending<Result<HealthCheckResponse, tonic::Status>>;

    async fn watch(
        &self,
        _: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("watch"))
    }
}

/// Fails every call with UNAVAILABLE once `calls` of them are running, so they fail
/// together.
#[derive(Clone)]
struct Unavailable {
    running: Arc<AtomicUsize>,
    together: usize,
}

#[tonic::async_trait]
impl WorkerService for Unavailable {
    async fn handle(
        &self,
        _: tonic::Request<HandleRequest>,
    ) -> Result<tonic::Response<HandleResponse>, tonic::Status> {
        self.running.fetch_add(1, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.running.load(Ordering::SeqCst) < self.together
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(tonic::Status::unavailable("overloaded"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_failing_together_share_one_health_probe() {
    const N: usize = 64;
    let checks = CountingHealth::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = Unavailable {
        running: Arc::default(),
        together: N,
    };
    let health = checks.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(HealthServer::new(health))
            .add_service(WorkerServiceServer::new(service))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
    });
    let f = Embedded::new().await;
    let mut ids = Vec::new();
    for i in 0..N {
        ids.push(publish(&f, "q-burst", &format!("b{i}"), &[]).await);
    }
    let ferry = ferry_on(&f, &format!("http://{addr}"), &["q-burst"])
        .await
        .health_interval("1h")
        .sub(
            Sub::new("s")
                .set("queue", "\"q-burst\"")
                .set("max_in_flight", &N.to_string())
                .set("batch_size", &N.to_string())
                .set("max_attempts", "1"),
        )
        .spawn()
        .await;
    assert_eventually!(
        ids.iter()
            .all(|id| ferry.count_for("message.dead_lettered", id) == 1),
        "all {N} dead-lettered after one failed attempt each"
    );
    let probes = checks.0.load(Ordering::SeqCst);
    // One probe at start (the next periodic one is an hour away) and the burst's: the
    // calls that fail while a probe runs share the next one, so at most two.
    assert!(
        probes <= 3,
        "{probes} health checks for {N} calls that failed together"
    );
}

#[cfg(feature = "sqs")]
mod sqs {
    use std::time::Duration;

    use ferry::backend::{Backend, NewMessage};
    use ferry_tests::{
        Sub, TestWorker, assert_eventually,
        conformance::ferry_on,
        fixtures::{Sqs, SqsProxy},
    };

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_follow_up_publish_slower_than_the_lease_keeps_the_input_leased() {
        let proxy = SqsProxy::start().await;
        let f = Sqs::with_config(|c| c.endpoint = Some(proxy.url().to_owned())).await;
        // The test publishes past the proxy, so only ferry's follow-up publish is held.
        let direct = Sqs::new().await;
        let worker = TestWorker::start().await;
        let ferry = ferry_on(&f, &worker.url(), &["sqs-slow-in", "sqs-slow-out"])
            .await
            .sub(
                Sub::new("s")
                    .set("queue", "\"sqs-slow-in\"")
                    .set("lease", "\"1s\"")
                    .set("receive_wait", "\"1s\""),
            )
            .spawn()
            .await;
        proxy.hold_next("SendMessageBatch", Duration::from_secs(4));
        let id = direct
            .sqs()
            .publish(vec![
                NewMessage::new("sqs-slow-in", "fan")
                    .attribute("t.fanout", "2")
                    .attribute("t.fanout_to", "sqs-slow-out"),
            ])
            .await
            .unwrap()
            .remove(0);
        assert_eventually!(
            ferry.count_for("message.done", &id) == 1,
            "the input is done"
        );
        assert_eq!(
            worker.attempts_for("fan"),
            [1],
            "the input was delivered again while its follow-ups were being published"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_rate_token() {
    // One token now, the next in 1000 s: after the first message ferry waits for a token.
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let sub = |rate: Option<&str>| {
        let s = Sub::new("s")
            .set("queue", "\"q-token\"")
            .set("max_in_flight", "4");
        match rate {
            Some(r) => s.set("rate_limit", r),
            None => s,
        }
    };
    let mut ferry = ferry_on(&f, &worker.url(), &["q-token"])
        .await
        .sub(sub(Some("0.001")))
        .spawn()
        .await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(publish(&f, "q-token", &format!("t{i}"), &[]).await);
    }
    assert_eventually!(
        ferry.events_of("message.done").len() == 1,
        "the first message, on the one token"
    );
    // A ferry that waited for the next token would not exit for 1000 s (`wait` gives 60).
    ferry.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(ferry.wait().await.success());
    assert_eq!(worker.calls().len(), 1);

    // The two that waited were never taken or were handed back uncounted: a ferry without
    // the limit gives each to the worker once, on its first attempt.
    let ferry = ferry_on(&f, &worker.url(), &["q-token"])
        .await
        .sub(sub(None))
        .spawn()
        .await;
    assert_eventually!(
        ids[1..]
            .iter()
            .all(|id| ferry.count_for("message.done", id) == 1),
        "the other two delivered after the restart"
    );
    let calls = worker.calls();
    assert!(calls.iter().all(|c| c.attempt == 1), "{calls:?}");
    assert_eq!(calls_per_payload(&worker).len(), 3);
}
