//! [`H2Channel`]: the transport under the `Handle` client — one HTTP/2 connection to the
//! worker (h2, the crate hyper and tonic use), made on first use and made again after it
//! broke. tonic's own `Channel` puts a buffer task, hyper's dispatch task and a task per
//! request body between a call and the socket; here the calling task hands the request's
//! headers and its whole body (one DATA frame that ends the stream) straight to the
//! connection, and reads the answer from it: per message two fewer task hand-offs and
//! allocations, and requests that are ready together share one socket write
//! ([`Unvectored`]; docs/PERFORMANCE.md). tonic still does everything gRPC: it encodes
//! and decodes, sets `grpc-timeout` and reads `grpc-status`.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::BodyExt as _;
use tokio::{net::TcpStream, sync::Mutex};
use tonic::{Status, body::Body};
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The worker's HTTP/2 settings: hyper's defaults for a client (what tonic's `Channel`
/// used), generous for messages of many megabytes.
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 5 * 1024 * 1024;

/// A connection to one worker address, shared by every call.
#[derive(Clone)]
pub(super) struct H2Channel {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for H2Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Channel")
            .field("authority", &self.shared.authority)
            .finish_non_exhaustive()
    }
}

struct Shared {
    /// Sent as `:authority`.
    authority: http::uri::Authority,
    /// `host:port` (port 80 when the address names none), dialled.
    dial: String,
    connect_timeout: Duration,
    /// The live connection and its number; `None` until the first call, and again once
    /// it broke.
    current: Mutex<Option<(u64, h2::client::SendRequest<Bytes>)>>,
    /// Numbers the connections, so a broken one is forgotten only if it is still current.
    made: AtomicU64,
}

/// A transport error as the call's status: the worker could not be reached or the
/// connection broke (`Unavailable`, so ferry asks the worker's health), or what h2 says.
fn status_of(e: &h2::Error) -> Status {
    if e.is_io() || e.is_go_away() || e.reason() == Some(h2::Reason::REFUSED_STREAM) {
        Status::unavailable(format!("the connection to the worker failed: {e}"))
    } else if e.reason() == Some(h2::Reason::CANCEL) {
        Status::cancelled(format!("the worker cancelled the call: {e}"))
    } else {
        Status::internal(format!("HTTP/2 error from the worker: {e}"))
    }
}

impl H2Channel {
    /// A channel to `address` (`http://host:port`); connects on first use.
    pub(super) fn new(address: &str, connect_timeout: Duration) -> Result<Self, String> {
        let uri: http::Uri = address
            .parse()
            .map_err(|e| format!("worker.address `{address}`: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "worker.address `{address}`: ferry talks to its worker over plain HTTP/2 (http://); TLS to the worker is not supported"
            ));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("worker.address `{address}` needs a host"))?;
        let dial = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        Ok(Self {
            shared: Arc::new(Shared {
                authority,
                dial,
                connect_timeout,
                current: Mutex::new(None),
                made: AtomicU64::new(0),
            }),
        })
    }

    /// The live connection, made now if there is none.
    async fn sender(&self) -> Result<(u64, h2::client::SendRequest<Bytes>), Status> {
        let mut current = self.shared.current.lock().await;
        if let Some(live) = &*current {
            return Ok(live.clone());
        }
        let live = self.connect().await?;
        *current = Some(live.clone());
        Ok(live)
    }

    /// Dials the worker and starts the connection's task, which forgets the connection
    /// when it ends.
    async fn connect(&self) -> Result<(u64, h2::client::SendRequest<Bytes>), Status> {
        let dial = self.shared.dial.as_str();
        let unreachable = |e: &dyn std::fmt::Display| {
            Status::unavailable(format!("cannot connect to the worker at {dial}: {e}"))
        };
        let tcp = tokio::time::timeout(self.shared.connect_timeout, TcpStream::connect(dial))
            .await
            .map_err(|_| unreachable(&"timed out"))?
            .map_err(|e| unreachable(&e))?;
        tcp.set_nodelay(true).map_err(|e| unreachable(&e))?;
        let (send, connection) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .handshake::<_, Bytes>(Unvectored(tcp))
            .await
            .map_err(|e| unreachable(&e))?;
        let number = self.shared.made.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            // Ends when the worker closes the connection or it fails; calls then make a
            // new one.
            let _ = connection.await;
            if let Some(shared) = shared.upgrade() {
                shared.forget(number).await;
            }
        });
        Ok((number, send))
    }
}

/// The TCP stream, saying it has no vectored writes: h2 then copies a DATA frame of up to
/// 1 KiB into its write buffer (256 bytes with vectored writes), instead of holding it
/// aside and writing it before it takes the next frame. Requests of ordinary size then
/// share writes — in ferry-bench about one write per ten requests instead of one each; a
/// larger request still goes out without a copy.
struct Unvectored(TcpStream);

impl tokio::io::AsyncRead for Unvectored {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Unvectored {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl Shared {
    /// Forgets connection `number`, unless another has replaced it already.
    async fn forget(&self, number: u64) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|(n, _)| *n == number) {
            *current = None;
        }
    }
}

/// The answer's body: the stream's DATA frames (their flow-control window given back as
/// they are read), then its trailers.
struct Answer(h2::RecvStream);

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let stream = &mut self.0;
        if !stream.is_end_stream() {
            match stream.poll_data(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(data))) => {
                    let _ = stream.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(http_body::Frame::data(data))));
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(status_of(&e)))),
                Poll::Ready(None) => {}
            }
        }
        match stream.poll_trailers(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(trailers))) => {
                Poll::Ready(Some(Ok(http_body::Frame::trailers(trailers))))
            }
            Poll::Ready(Ok(None)) => Poll::Ready(None),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(status_of(&e)))),
        }
    }
}

impl Service<http::Request<Body>> for H2Channel {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let channel = self.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            // tonic's encoder yields the whole message at once; it goes out as one frame.
            let data = body.collect().await.map_err(Box::new)?.to_bytes();
            let (number, send) = channel.sender().await?;
            let broken = |e: h2::Error| {
                let shared = channel.shared.clone();
                async move {
                    if e.is_io() || e.is_go_away() {
                        shared.forget(number).await;
                    }
                    status_of(&e)
                }
            };
            let mut send = match send.ready().await {
                Ok(send) => send,
                Err(e) => return Err(broken(e).await.into()),
            };
            let path = parts
                .uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
            parts.uri = http::Uri::builder()
                .scheme("http")
                .authority(channel.shared.authority.clone())
                .path_and_query(path)
                .build()
                .map_err(Box::new)?;
            let head = http::Request::from_parts(parts, ());
            let (answer, mut stream) = match send.send_request(head, data.is_empty()) {
                Ok(sent) => sent,
                Err(e) => return Err(broken(e).await.into()),
            };
            if !data.is_empty()
                && let Err(e) = stream.send_data(data, true)
            {
                return Err(broken(e).await.into());
            }
            let answer = match answer.await {
                Ok(answer) => answer,
                Err(e) => return Err(broken(e).await.into()),
            };
            Ok(answer.map(|recv| Body::new(Answer(recv))))
        })
    }
}

#[cfg(test)]
mod tests;
