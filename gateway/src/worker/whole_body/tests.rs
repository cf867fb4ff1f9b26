//! Unit tests for [`WholeBody`]: the inner service receives the request with its body in
//! one piece that says it is complete (so hyper can end the stream with the data frame),
//! with the request's head unchanged; and errors of the body are passed on.

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use bytes::Bytes;
use futures::{FutureExt as _, future::BoxFuture, stream};
use http_body::{Body as _, Frame};
use http_body_util::{BodyExt as _, StreamBody};
use tonic::body::Body;
use tower_service::Service;

use super::WholeBody;

/// What the inner service saw: the head, the size hint, and the frames it read.
#[derive(Debug, Default)]
struct Seen {
    uri: String,
    header: Option<String>,
    exact: Option<u64>,
    frames: Vec<(Bytes, bool)>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Seen>>);

impl Service<http::Request<Body>> for Recorder {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let seen = self.0.clone();
        async move {
            let (parts, mut body) = request.into_parts();
            let exact = body.size_hint().exact();
            let mut frames = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                if let Ok(data) = frame.into_data() {
                    frames.push((data, body.is_end_stream()));
                }
            }
            *seen.lock().expect("lock") = Seen {
                uri: parts.uri.to_string(),
                header: parts
                    .headers
                    .get("grpc-timeout")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                exact,
                frames,
            };
            Ok(http::Response::new(Body::empty()))
        }
        .boxed()
    }
}

fn streamed(chunks: &[&'static str]) -> Body {
    let frames: Vec<Result<Frame<Bytes>, tonic::Status>> = chunks
        .iter()
        .map(|c| Ok(Frame::data(Bytes::from_static(c.as_bytes()))))
        .collect();
    Body::new(StreamBody::new(stream::iter(frames)))
}

#[tokio::test]
async fn the_body_arrives_whole_and_says_it_is_the_last_frame() {
    let recorder = Recorder::default();
    let mut service = WholeBody(recorder.clone());
    let request = http::Request::builder()
        .uri("http://worker/ferry.v1.WorkerService/Handle")
        .header("grpc-timeout", "30S")
        .body(streamed(&["\0\0\0\0\x05", "hello"]))
        .expect("request");
    std::future::poll_fn(|cx| service.poll_ready(cx))
        .await
        .expect("ready");
    service.call(request).await.expect("called");

    let seen = recorder.0.lock().expect("lock");
    assert_eq!(seen.uri, "http://worker/ferry.v1.WorkerService/Handle");
    assert_eq!(seen.header.as_deref(), Some("30S"));
    assert_eq!(seen.exact, Some(10), "the length is known before sending");
    assert_eq!(
        seen.frames,
        vec![(Bytes::from_static(b"\0\0\0\0\x05hello"), true)],
        "one data frame, and the body ends with it"
    );
}

#[tokio::test]
async fn an_error_of_the_body_is_passed_on() {
    let mut service = WholeBody(Recorder::default());
    let frames: Vec<Result<Frame<Bytes>, tonic::Status>> =
        vec![Err(tonic::Status::internal("encoding failed"))];
    let request = http::Request::new(Body::new(StreamBody::new(stream::iter(frames))));
    let error = service.call(request).await.expect_err("the body failed");
    let status = error
        .downcast::<tonic::Status>()
        .expect("the body's own error");
    assert_eq!(status.message(), "encoding failed");
}
