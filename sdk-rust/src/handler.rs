//! The [`Handler`] trait: the one thing a worker implements.

use std::future::Future;

use crate::message::Message;
use crate::reply::Reply;

/// Handles one delivery and answers what happened.
///
/// Any `Fn(Message) -> impl Future<Output = Reply>` closure is a handler. A type with state
/// implements the trait with an `async fn`:
///
/// ```
/// use ferry_sdk::{Handler, Message, Reply};
///
/// struct Greeter {
///     greeting: String,
/// }
///
/// impl Handler for Greeter {
///     async fn handle(&self, msg: Message) -> Reply {
///         let name = msg.payload_str().unwrap_or("stranger");
///         Reply::done().log(ferry_sdk::Level::Info, format!("{} {name}", self.greeting))
///     }
/// }
/// # let _ = Greeter { greeting: "hello".into() };
/// ```
///
/// The future must be `Send`: the gRPC server runs each call on its own task, on any of the
/// runtime's threads. A panic in it becomes a retry answer, and the deadline stops it.
pub trait Handler: Send + Sync + 'static {
    /// Handles `msg`. Never panic on bad input: answer
    /// [`Reply::dead_letter`] for messages that can never succeed.
    fn handle(&self, msg: Message) -> impl Future<Output = Reply> + Send;
}

impl<F, Fut> Handler for F
where
    F: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send,
{
    fn handle(&self, msg: Message) -> impl Future<Output = Reply> + Send {
        self(msg)
    }
}

/// Makes a handler from a closure; the same as passing the closure itself, but names the
/// intent and helps type inference when the closure's argument type is not written.
///
/// ```
/// let handler = ferry_sdk::handler_fn(|_msg| async { ferry_sdk::Reply::done() });
/// # fn is_handler(_: impl ferry_sdk::Handler) {}
/// # is_handler(handler);
/// ```
pub fn handler_fn<F, Fut>(f: F) -> F
where
    F: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send,
{
    f
}
