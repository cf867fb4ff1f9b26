//! Unit tests for the worker service: panics and deadlines become retries, and calls are
//! refused once draining.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferry_proto::v1::HandleRequest;
use ferry_proto::v1::worker_service_server::WorkerService;

use super::{Drain, Worker};
use crate::message::Message;
use crate::reply::{Outcome, Reply};

fn worker<H: crate::Handler>(handler: H) -> Worker<H> {
    Worker::new(handler, Arc::new(Drain::default()))
}

#[tokio::test]
async fn a_reply_passes_through() {
    let w = worker(|_msg: Message| async { Reply::dead_letter("no") });
    assert_eq!(
        w.run(Message::new("")).await.outcome(),
        &Outcome::DeadLetter {
            reason: "no".into()
        }
    );
}

#[tokio::test]
async fn a_panic_becomes_a_retry_with_its_message() {
    let w = worker(|msg: Message| async move {
        let n: u32 = msg
            .payload_str()
            .unwrap_or_default()
            .parse()
            .expect("a number");
        Reply::retry(format!("{n}"))
    });
    let reply = w.run(Message::new("not a number")).await;
    match reply.outcome() {
        Outcome::Retry {
            reason,
            delay: None,
        } => {
            assert!(reason.starts_with("handler panicked: a number"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn the_deadline_stops_the_handler() {
    let w = worker(|_msg: Message| async {
        std::future::pending::<()>().await;
        Reply::done()
    });
    let msg = Message {
        deadline: Some(SystemTime::now() + Duration::from_millis(50)),
        ..Message::new("")
    };
    let reply = w.run(msg).await;
    assert_eq!(
        reply.outcome(),
        &Outcome::Retry {
            reason: "deadline exceeded".into(),
            delay: None
        }
    );
}

#[tokio::test]
async fn calls_are_refused_while_draining() {
    let drain = Arc::new(Drain::default());
    let w = Worker::new(|_msg: Message| async { Reply::done() }, Arc::clone(&drain));
    drain.begin();
    let status = w
        .handle(tonic::Request::new(HandleRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    drain.finished().await;
}
