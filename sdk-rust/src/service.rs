//! The `ferry.v1.WorkerService` implementation around a [`Handler`]: runs each call on its
//! own task so that a panic becomes a retry answer, stops the call at the message's
//! deadline, and refuses new calls once shutdown has begun.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ferry_proto::v1::worker_service_server::WorkerService;
use ferry_proto::v1::{HandleRequest, HandleResponse};
use tokio_util::task::{AbortOnDropHandle, TaskTracker};
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
    handler: Arc<H>,
    drain: Arc<Drain>,
}

impl<H: Handler> Worker<H> {
    pub(crate) fn new(handler: H, drain: Arc<Drain>) -> Self {
        Worker {
            handler: Arc::new(handler),
            drain,
        }
    }

    /// Runs the handler for `msg` on its own task, up to the message's deadline.
    ///
    /// If the caller stops waiting (the gRPC call is cancelled), the task is aborted.
    pub(crate) async fn run(&self, msg: Message) -> Reply {
        let time_left = msg.time_left();
        let handler = Arc::clone(&self.handler);
        let mut task = AbortOnDropHandle::new(
            self.drain
                .calls
                .spawn(async move { handler.handle(msg).await }),
        );
        let joined = match time_left {
            None => (&mut task).await,
            Some(left) => match tokio::time::timeout(left, &mut task).await {
                Ok(joined) => joined,
                Err(_elapsed) => {
                    return Reply::retry("deadline exceeded")
                        .log(Level::Warn, "handler stopped at the message deadline");
                }
            },
        };
        match joined {
            Ok(reply) => reply,
            Err(err) if err.is_panic() => {
                let reason = format!("handler panicked: {}", panic_message(err.into_panic()));
                Reply::retry(reason.clone()).log(Level::Error, reason)
            }
            Err(_cancelled) => Reply::retry("handler task was cancelled"),
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
