//! The `ferry.v1.WorkerService` implementation around a [`Handler`]: catches a panic of the
//! handler and answers it as a retry, stops the call at the message's deadline, and refuses
//! new calls once shutdown has begun.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ferry_proto::v1::worker_service_server::WorkerService;
use ferry_proto::v1::{HandleRequest, HandleResponse};
use futures::FutureExt as _;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status};

use crate::handler::Handler;
use crate::message::Message;
use crate::reply::{Level, Reply};

/// Shared between the service and the server's shutdown: whether shutdown has begun, and
/// the handler calls still running.
#[derive(Debug, Default)]
pub(crate) struct Drain {
    draining: AtomicBool,
    calls: TaskTracker,
}

impl Drain {
    /// Refuses new calls from now on.
    pub(crate) fn begin(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.calls.close();
    }

    /// Waits until every handler call that started has finished.
    pub(crate) async fn finished(&self) {
        self.calls.wait().await;
    }

    fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// The gRPC service serving one handler.
#[derive(Debug)]
pub(crate) struct Worker<H> {
    handler: H,
    drain: Arc<Drain>,
}

impl<H: Handler> Worker<H> {
    pub(crate) fn new(handler: H, drain: Arc<Drain>) -> Self {
        Worker { handler, drain }
    }

    /// Runs the handler for `msg` up to the message's deadline. It runs inside the call's
    /// own task (the server gives each call one), so a panic is caught here and only fails
    /// this message; if ferry cancels the call, the handler is dropped with it.
    pub(crate) async fn run(&self, msg: Message) -> Reply {
        let time_left = msg.time_left();
        let call = self
            .drain
            .calls
            .track_future(AssertUnwindSafe(self.handler.handle(msg)).catch_unwind());
        let joined = match time_left {
            None => call.await,
            Some(left) => match tokio::time::timeout(left, call).await {
                Ok(joined) => joined,
                Err(_elapsed) => {
                    return Reply::retry("deadline exceeded")
                        .log(Level::Warn, "handler stopped at the message deadline");
                }
            },
        };
        match joined {
            Ok(reply) => reply,
            Err(payload) => {
                let reason = format!("handler panicked: {}", panic_message(payload));
                Reply::retry(reason.clone()).log(Level::Error, reason)
            }
        }
    }
}

#[tonic::async_trait]
impl<H: Handler> WorkerService for Worker<H> {
    async fn handle(
        &self,
        request: Request<HandleRequest>,
    ) -> Result<Response<HandleResponse>, Status> {
        if self.drain.is_draining() {
            // UNAVAILABLE: ferry hands the message back without counting an attempt.
            return Err(Status::unavailable("worker is shutting down"));
        }
        let reply = self.run(Message::from(request.into_inner())).await;
        Ok(Response::new(reply.into()))
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(text) => (*text).to_owned(),
            Err(_) => "non-text panic payload".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests;
