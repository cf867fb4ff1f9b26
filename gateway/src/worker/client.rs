//! [`WorkerClient`]: calls the worker's `WorkerService.Handle` over one multiplexed HTTP/2
//! connection that reconnects by itself when the worker comes back; each request goes out
//! in one write ([`WholeBody`]).

use std::time::Duration;

use ferry_proto::v1::{HandleRequest, HandleResponse, worker_service_client::WorkerServiceClient};

use super::whole_body::WholeBody;
use tonic::{
    Request, Status,
    transport::{Channel, Endpoint},
};

/// The most bytes a `HandleResponse` (with its follow-up messages) may have.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// A client for the worker.
#[derive(Debug, Clone)]
pub struct WorkerClient {
    channel: Channel,
}

impl WorkerClient {
    /// A client for `address` (`http://host:port`); connects on first use.
    pub fn connect_lazy(address: &str) -> Result<Self, String> {
        let endpoint = Endpoint::from_shared(address.to_owned())
            .map_err(|e| format!("worker.address `{address}`: {e}"))?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true);
        Ok(Self {
            channel: endpoint.connect_lazy(),
        })
    }

    /// The channel, for the health client.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Calls `Handle` with a deadline of `timeout`. The request's trace context also goes as
    /// `traceparent` / `tracestate` metadata, where gRPC instrumentation (otelgrpc, the
    /// OpenTelemetry propagators) looks for it.
    pub async fn handle(
        &self,
        request: HandleRequest,
        timeout: Duration,
    ) -> Result<HandleResponse, Status> {
        let mut client = WorkerServiceClient::new(WholeBody(self.channel.clone()))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let trace = request.trace.clone().unwrap_or_default();
        let mut request = Request::new(request);
        request.set_timeout(timeout);
        for (key, value) in [
            ("traceparent", trace.traceparent),
            ("tracestate", trace.tracestate),
        ] {
            // A value that is not valid metadata (only from a message's own `tracestate`)
            // is left out; the request carries it anyway.
            if let (false, Ok(value)) = (value.is_empty(), value.parse()) {
                request.metadata_mut().insert(key, value);
            }
        }
        match tokio::time::timeout(timeout, client.handle(request)).await {
            Ok(result) => result.map(tonic::Response::into_inner),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "the worker did not answer within {}",
                humantime::format_duration(timeout)
            ))),
        }
    }
}
