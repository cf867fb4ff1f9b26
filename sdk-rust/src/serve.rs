//! Serving a [`Handler`]: the worker service plus `grpc.health.v1.Health`, with graceful
//! shutdown (report NOT_SERVING, refuse new calls, finish the calls in flight, stop).

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use ferry_proto::v1::worker_service_server::{SERVICE_NAME, WorkerServiceServer};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;

use crate::error::ServeError;
use crate::handler::Handler;
use crate::service::{Drain, Worker};

/// The environment variable ferry sets, when it starts the worker as its child, to the
/// `host:port` the worker must listen on.
pub const WORKER_ADDR_ENV: &str = "FERRY_WORKER_ADDR";

/// The address [`serve_from_env`] listens on when [`WORKER_ADDR_ENV`] is not set.
pub const DEFAULT_WORKER_ADDR: &str = "127.0.0.1:50051";

/// Serves `handler` on `addr` until SIGTERM or SIGINT (Ctrl-C), then shuts down gracefully
/// (see [`serve_on`]).
pub async fn serve<A, H>(addr: A, handler: H) -> Result<(), ServeError>
where
    A: ToSocketAddrs + Debug,
    H: Handler,
{
    let signal = termination_signal().map_err(ServeError::Signal)?;
    serve_with_shutdown(addr, handler, signal).await
}

/// Serves `handler` on the address in `FERRY_WORKER_ADDR` (`host:port`, default
/// `127.0.0.1:50051`) until SIGTERM or SIGINT. This is what a worker started by
/// `ferry run -- <worker command>` calls.
pub async fn serve_from_env<H: Handler>(handler: H) -> Result<(), ServeError> {
    let addr = match std::env::var(WORKER_ADDR_ENV) {
        Ok(value) if !value.trim().is_empty() => worker_addr(&value)?,
        _ => DEFAULT_WORKER_ADDR.to_owned(),
    };
    serve(addr, handler).await
}

/// Serves `handler` on `addr` until `shutdown` completes, then shuts down gracefully (see
/// [`serve_on`]).
pub async fn serve_with_shutdown<A, H, F>(
    addr: A,
    handler: H,
    shutdown: F,
) -> Result<(), ServeError>
where
    A: ToSocketAddrs + Debug,
    H: Handler,
    F: Future<Output = ()>,
{
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: format!("{addr:?}"),
            source,
        })?;
    serve_on(listener, handler, shutdown).await
}

/// Serves `handler` on an already bound listener until `shutdown` completes.
///
/// Health reports SERVING for `ferry.v1.WorkerService` and for the overall server (`""`).
/// When `shutdown` completes, health turns NOT_SERVING and new `Handle` calls are refused
/// with UNAVAILABLE (ferry hands such messages back without counting an attempt); the
/// calls in flight run to completion (each is bounded by its message's deadline), and then
/// the server closes its connections and this function returns.
///
/// ```no_run
/// # async fn run() -> Result<(), ferry_sdk::ServeError> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(ferry_sdk::serve_on(
///     listener,
///     |_msg| async { ferry_sdk::Reply::done() },
///     async { stopped.await.ok(); },
/// ));
/// // ... call it ...
/// stop.send(()).ok();
/// server.await.expect("server task")?;
/// # Ok(()) }
/// ```
pub async fn serve_on<H, F>(
    listener: TcpListener,
    handler: H,
    shutdown: F,
) -> Result<(), ServeError>
where
    H: Handler,
    F: Future<Output = ()>,
{
    let (mut reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(SERVICE_NAME, ServingStatus::Serving)
        .await;
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;

    let drain = Arc::new(Drain::default());
    let worker = WorkerServiceServer::new(Worker::new(handler, Arc::clone(&drain)));
    let drained = async move {
        shutdown.await;
        drain.begin();
        reporter
            .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
            .await;
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
        drain.finished().await;
        // Ends open `Watch` streams (they would otherwise hold the graceful shutdown open).
        reporter.clear_service_status(SERVICE_NAME).await;
        reporter.clear_service_status("").await;
    };
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(worker)
        .serve_with_incoming_shutdown(no_delay(listener), drained)
        .await?;
    Ok(())
}

/// The connections `listener` accepts, with Nagle's algorithm off: an answer is a few
/// small frames, and holding one back until the previous is acknowledged would add a
/// round trip to a call.
fn no_delay(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures::StreamExt as _;
    TcpListenerStream::new(listener).map(|accepted| {
        accepted.inspect(|stream| {
            // Only slower if it fails: the connection is served either way.
            let _ = stream.set_nodelay(true);
        })
    })
}

/// `host:port` from the value of `FERRY_WORKER_ADDR`, tolerating an `http://` prefix.
pub(crate) fn worker_addr(value: &str) -> Result<String, ServeError> {
    let addr = value.trim();
    let addr = addr
        .strip_prefix("http://")
        .unwrap_or(addr)
        .trim_end_matches('/');
    let valid = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if valid {
        Ok(addr.to_owned())
    } else {
        Err(ServeError::BadAddress {
            var: WORKER_ADDR_ENV,
            value: value.to_owned(),
        })
    }
}

/// Completes on the first SIGTERM or SIGINT. The handlers are installed before it returns,
/// so a signal that arrives while the server starts is not lost.
fn termination_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            // Without a handler there is no way to stop gracefully: treat failure as a stop.
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests;
