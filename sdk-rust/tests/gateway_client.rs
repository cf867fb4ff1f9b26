//! Calls a fake `ferry.v1.GatewayService` on 127.0.0.1:0 with [`GatewayClient`]: publish
//! and log requests arrive as sent, and errors are reported as typed errors.

use std::sync::{Arc, Mutex};

use ferry_sdk::proto::v1::gateway_service_server::{GatewayService, GatewayServiceServer};
use ferry_sdk::proto::v1::{LogContext, LogRequest, LogResponse, PublishRequest, PublishResponse};
use ferry_sdk::{ClientError, GatewayClient, Level, LogEntry, Outgoing};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

#[derive(Default, Clone)]
struct FakeGateway {
    published: Arc<Mutex<Vec<PublishRequest>>>,
    logged: Arc<Mutex<Vec<LogRequest>>>,
}

#[tonic::async_trait]
impl GatewayService for FakeGateway {
    async fn publish(
        &self,
        request: Request<PublishRequest>,
    ) -> Result<Response<PublishResponse>, Status> {
        let request = request.into_inner();
        if request.messages.iter().any(|m| m.destination.is_empty()) {
            return Err(Status::invalid_argument("messages[0].destination is empty"));
        }
        let message_ids = (0..request.messages.len())
            .map(|i| format!("id-{i}"))
            .collect();
        self.published.lock().expect("lock").push(request);
        Ok(Response::new(PublishResponse { message_ids }))
    }

    async fn log(&self, request: Request<LogRequest>) -> Result<Response<LogResponse>, Status> {
        self.logged.lock().expect("lock").push(request.into_inner());
        Ok(Response::new(LogResponse {}))
    }
}

async fn start(gateway: FakeGateway) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(GatewayServiceServer::new(gateway))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    format!("http://{addr}")
}

#[tokio::test]
async fn publish_sends_every_message_and_returns_the_ids() {
    let gateway = FakeGateway::default();
    let client = GatewayClient::connect(start(gateway.clone()).await)
        .await
        .unwrap();
    let ids = client
        .publish(vec![
            Outgoing::new("A", "1").realm("r").dedup_id("d"),
            Outgoing::json("B", &serde_json::json!({ "x": 1 })).unwrap(),
        ])
        .await
        .unwrap();
    assert_eq!(ids, ["id-0", "id-1"]);
    let published = gateway.published.lock().unwrap();
    let messages = &published[0].messages;
    assert_eq!(
        (messages[0].destination.as_str(), messages[0].realm.as_str()),
        ("A", "r")
    );
    assert_eq!(messages[0].deduplication_id, "d");
    assert_eq!(&messages[1].payload[..], br#"{"x":1}"#);
}

#[tokio::test]
async fn publishing_nothing_makes_no_call() {
    let gateway = FakeGateway::default();
    let client = GatewayClient::connect_lazy(start(gateway.clone()).await).unwrap();
    assert!(client.publish(Vec::new()).await.unwrap().is_empty());
    assert!(gateway.published.lock().unwrap().is_empty());
}

#[tokio::test]
async fn refusals_come_back_as_status_errors() {
    let client = GatewayClient::connect(start(FakeGateway::default()).await)
        .await
        .unwrap();
    let err = client
        .publish(vec![Outgoing::new("", "x")])
        .await
        .unwrap_err();
    match err {
        ClientError::Status(status) => assert_eq!(status.code(), tonic::Code::InvalidArgument),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn log_lines_carry_level_fields_and_context() {
    let gateway = FakeGateway::default();
    let client = GatewayClient::connect(start(gateway.clone()).await)
        .await
        .unwrap();
    client.log(Level::Warn, "plain").await.unwrap();
    let context = LogContext {
        message_id: "m1".into(),
        ..LogContext::default()
    };
    client
        .log_entries(
            [LogEntry::new(Level::Error, "with fields").field("n", 3)],
            Some(context),
        )
        .await
        .unwrap();
    let logged = gateway.logged.lock().unwrap();
    assert_eq!(logged[0].lines[0].message, "plain");
    assert_eq!(logged[0].context, None);
    assert_eq!(logged[1].lines[0].fields["n"], "3");
    assert_eq!(
        logged[1].context.as_ref().map(|c| c.message_id.as_str()),
        Some("m1")
    );
}

#[tokio::test]
async fn a_bad_address_is_a_typed_error() {
    let err = GatewayClient::connect_lazy("http://bad host:1").unwrap_err();
    assert!(matches!(err, ClientError::Address { .. }), "{err}");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = GatewayClient::connect(addr.to_string()).await.unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
}
