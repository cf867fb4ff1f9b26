//! Serves handlers on 127.0.0.1:0 and calls them over real gRPC with the generated client:
//! the reply mapping, health SERVING / NOT_SERVING around a graceful shutdown, a panicking
//! handler, and the message deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferry_sdk::proto::v1::handle_response::Outcome as PbOutcome;
use ferry_sdk::proto::v1::worker_service_client::WorkerServiceClient;
use ferry_sdk::proto::v1::{HandleRequest, HandleResponse, Retry};
use ferry_sdk::{Handler, Level, Message, Outgoing, Reply, ServeError};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long any wait in these tests may take before it counts as a failure.
const PATIENCE: Duration = Duration::from_secs(10);

struct Running {
    channel: Channel,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), ServeError>>,
}

impl Running {
    async fn start<H: Handler>(handler: H) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(ferry_sdk::serve_on(listener, handler, async {
            stopped.await.ok();
        }));
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        Running {
            channel,
            stop: Some(stop),
            server,
        }
    }

    fn worker(&self) -> WorkerServiceClient<Channel> {
        WorkerServiceClient::new(self.channel.clone())
    }

    async fn handle(&self, request: HandleRequest) -> HandleResponse {
        self.worker()
            .handle(request)
            .await
            .expect("handle")
            .into_inner()
    }

    async fn health(&self, service: &str) -> ServingStatus {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        let response = HealthClient::new(self.channel.clone())
            .check(request)
            .await
            .expect("health check");
        response.into_inner().status()
    }

    fn shut_down(&mut self) {
        let stop = self.stop.take().expect("shut down once");
        stop.send(()).expect("server still running");
    }

    async fn stopped(self) {
        let result = within(self.server).await.expect("server task");
        result.expect("server stopped cleanly");
    }
}

async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(PATIENCE, f).await.expect("timed out")
}

fn retry_reason(response: &HandleResponse) -> &str {
    match &response.outcome {
        Some(PbOutcome::Retry(Retry { reason, .. })) => reason,
        other => panic!("expected retry, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reply_arrives_as_a_handle_response() {
    let running = Running::start(|msg: Message| async move {
        let realm = msg.realm.clone().unwrap_or_default();
        Reply::done()
            .publish(
                Outgoing::new("Next", msg.payload)
                    .realm(realm)
                    .dedup_id("d-1"),
            )
            .log(Level::Info, format!("attempt {}", msg.attempt))
    })
    .await;
    let response = running
        .handle(HandleRequest {
            payload: "hello".into(),
            attempt: 2,
            realm: "acme".into(),
            ..HandleRequest::default()
        })
        .await;
    assert!(matches!(response.outcome, Some(PbOutcome::Done(_))));
    assert_eq!(response.publish.len(), 1);
    assert_eq!(&response.publish[0].payload[..], b"hello");
    assert_eq!(response.publish[0].realm, "acme");
    assert_eq!(response.publish[0].deduplication_id, "d-1");
    assert_eq!(response.logs[0].message, "attempt 2");
}

#[tokio::test]
async fn health_serves_then_drains_in_flight_calls_on_shutdown() {
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (s, r) = (Arc::clone(&started), Arc::clone(&release));
    let mut running = Running::start(move |_msg: Message| {
        let (started, release) = (Arc::clone(&s), Arc::clone(&r));
        async move {
            started.notify_one();
            release.notified().await;
            Reply::done()
        }
    })
    .await;
    assert_eq!(
        running.health("ferry.v1.WorkerService").await,
        ServingStatus::Serving
    );
    assert_eq!(running.health("").await, ServingStatus::Serving);

    let mut worker = running.worker();
    let in_flight = tokio::spawn(async move { worker.handle(HandleRequest::default()).await });
    within(started.notified()).await;

    running.shut_down();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while running.health("ferry.v1.WorkerService").await != ServingStatus::NotServing {
        assert!(
            tokio::time::Instant::now() < deadline,
            "health never turned NOT_SERVING"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(running.health("").await, ServingStatus::NotServing);

    let refused = running
        .worker()
        .handle(HandleRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable);

    release.notify_one();
    let answer = within(in_flight).await.unwrap().unwrap().into_inner();
    assert!(matches!(answer.outcome, Some(PbOutcome::Done(_))));
    running.stopped().await;
}

#[tokio::test]
async fn a_panicking_handler_answers_retry() {
    let mut running = Running::start(|msg: Message| async move {
        if msg.payload.is_empty() {
            panic!("empty payload");
        }
        Reply::done()
    })
    .await;
    let response = running.handle(HandleRequest::default()).await;
    assert_eq!(retry_reason(&response), "handler panicked: empty payload");
    // The server survives the panic.
    let response = running
        .handle(HandleRequest {
            payload: "x".into(),
            ..Default::default()
        })
        .await;
    assert!(matches!(response.outcome, Some(PbOutcome::Done(_))));
    running.shut_down();
    running.stopped().await;
}

#[tokio::test]
async fn the_message_deadline_answers_retry() {
    let running = Running::start(|_msg: Message| async {
        std::future::pending::<()>().await;
        Reply::done()
    })
    .await;
    let deadline = SystemTime::now() + Duration::from_millis(200);
    let response = running
        .handle(HandleRequest {
            deadline: Some(deadline.into()),
            ..HandleRequest::default()
        })
        .await;
    assert_eq!(retry_reason(&response), "deadline exceeded");
    assert!(SystemTime::now() >= deadline);
}
