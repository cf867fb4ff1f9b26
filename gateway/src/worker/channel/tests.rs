//! Unit tests of the worker transport against a real tonic server on 127.0.0.1: calls
//! and answers (a large one, an error status) come through; with no worker the call is
//! `Unavailable`; a worker that stops and comes back on its port is reached again.
#![allow(clippy::unwrap_used)]

use std::{net::SocketAddr, time::Duration};

use bytes::Bytes;
use ferry_proto::v1::{
    Done, HandleRequest, HandleResponse,
    handle_response::Outcome,
    worker_service_server::{WorkerService, WorkerServiceServer},
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::{Code, Request, Response, Status};

use crate::worker::WorkerClient;

/// Answers done, with the payload's length as the reason of a retry when asked, and
/// with an error status for the payload `fail`.
struct Echo;

#[tonic::async_trait]
impl WorkerService for Echo {
    async fn handle(
        &self,
        request: Request<HandleRequest>,
    ) -> Result<Response<HandleResponse>, Status> {
        let r = request.into_inner();
        if r.payload.as_ref() == b"fail" {
            return Err(Status::failed_precondition("cannot handle \"fail\""));
        }
        let outcome = if r.message_id == "measure" {
            Outcome::Retry(ferry_proto::v1::Retry {
                reason: r.payload.len().to_string(),
                delay: None,
            })
        } else {
            Outcome::Done(Done {})
        };
        Ok(Response::new(HandleResponse {
            outcome: Some(outcome),
            ..HandleResponse::default()
        }))
    }
}

/// A worker served on `listener` until the returned sender is dropped or used.
fn serve(listener: TcpListener) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let _ = tonic::transport::Server::builder()
            .add_service(WorkerServiceServer::new(Echo).max_decoding_message_size(64 << 20))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await;
    });
    (stop, task)
}

async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

fn request(id: &str, payload: &'static [u8]) -> HandleRequest {
    HandleRequest {
        message_id: id.into(),
        payload: Bytes::from_static(payload),
        ..HandleRequest::default()
    }
}

async fn call(client: &WorkerClient, r: HandleRequest) -> Result<HandleResponse, Status> {
    client.handle(r, Duration::from_secs(10)).await
}

#[tokio::test]
async fn calls_and_answers_come_through_a_real_worker() {
    let (l, addr) = listener().await;
    let (_stop, _task) = serve(l);
    let client = WorkerClient::connect_lazy(&format!("http://{addr}")).unwrap();
    let answer = call(&client, request("m-1", b"hello")).await.unwrap();
    assert_eq!(answer.outcome, Some(Outcome::Done(Done {})));
    // Many at once share the one connection.
    let calls = (0..50).map(|i| {
        let client = client.clone();
        async move { call(&client, request(&format!("m-{i}"), b"x")).await }
    });
    for answer in futures::future::join_all(calls).await {
        assert_eq!(answer.unwrap().outcome, Some(Outcome::Done(Done {})));
    }
    // A message far beyond one frame and the first flow-control window arrives whole.
    let big: &'static [u8] = Box::leak(vec![7u8; 3 << 20].into_boxed_slice());
    let answer = call(&client, request("measure", big)).await.unwrap();
    assert!(
        matches!(&answer.outcome, Some(Outcome::Retry(r)) if r.reason == (3 << 20).to_string()),
        "{answer:?}"
    );
    // The worker's status comes back with its code and message.
    let failed = call(&client, request("m-2", b"fail")).await.unwrap_err();
    assert_eq!(failed.code(), Code::FailedPrecondition);
    assert_eq!(failed.message(), "cannot handle \"fail\"");
}

#[tokio::test]
async fn without_a_worker_a_call_is_unavailable_and_one_that_comes_back_is_reached() {
    let (l, addr) = listener().await;
    drop(l);
    let client = WorkerClient::connect_lazy(&format!("http://{addr}")).unwrap();
    let down = call(&client, request("m-1", b"x")).await.unwrap_err();
    assert_eq!(down.code(), Code::Unavailable, "{down:?}");
    assert!(down.message().contains(&addr.to_string()), "{down:?}");

    // The worker starts on that port: the next call connects.
    let l = TcpListener::bind(addr).await.unwrap();
    let (stop, task) = serve(l);
    assert!(call(&client, request("m-2", b"x")).await.is_ok());

    // It stops: calls fail as unavailable, never hang; it comes back: calls work again.
    stop.send(()).unwrap();
    task.await.unwrap();
    let gone = call(&client, request("m-3", b"x")).await.unwrap_err();
    assert_eq!(gone.code(), Code::Unavailable, "{gone:?}");
    let l = TcpListener::bind(addr).await.unwrap();
    let (_stop, _task) = serve(l);
    assert!(call(&client, request("m-4", b"x")).await.is_ok());
}

#[tokio::test]
async fn only_plain_http_addresses_are_taken() {
    let tls = WorkerClient::connect_lazy("https://127.0.0.1:50051").unwrap_err();
    assert!(tls.contains("TLS to the worker is not supported"), "{tls}");
    assert!(WorkerClient::connect_lazy("http://localhost").is_ok());
}
