//! [`WholeBody`]: sends each `Handle` request's body as one complete buffer.
//!
//! tonic streams even a unary request's body, so hyper learns that the body ended only
//! after the message went out, and ends the HTTP/2 stream with a second, empty DATA frame:
//! two socket writes per call, and two wake-ups of the worker. A `Handle` request is one
//! message, so collecting the body first (it is already in memory) lets hyper mark the one
//! DATA frame as the last: one write per call. Errors pass through unchanged, so tonic maps
//! a transport failure to the same status as before.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http_body_util::{BodyExt as _, Full};
use tonic::body::Body;
use tower_service::Service;

/// Boxed errors, as tonic's client expects them.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps the gRPC channel; see the module doc.
#[derive(Debug, Clone)]
pub(super) struct WholeBody<S>(pub(super) S);

impl<S> Service<http::Request<Body>> for WholeBody<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The service polled ready takes the call; this wrapper keeps a fresh clone.
        let fresh = self.0.clone();
        let mut ready = std::mem::replace(&mut self.0, fresh);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let bytes = body.collect().await?.to_bytes();
            let whole = http::Request::from_parts(parts, Body::new(Full::new(bytes)));
            ready.call(whole).await.map_err(Into::into)
        })
    }
}

#[cfg(test)]
mod tests;
