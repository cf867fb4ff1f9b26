//! [`WorkerClient`]: calls the worker's `WorkerService.Handle` over one multiplexed HTTP/2
//! connection that is made again when the worker comes back ([`H2Channel`]); the health
//! watch has a connection of its own (tonic's `Channel`).

use std::time::Duration;

use ferry_proto::v1::{HandleRequest, HandleResponse, worker_service_client::WorkerServiceClient};

use super::channel::H2Channel;
use tonic::{
    Request, Status,
    transport::{Channel, Endpoint},
};

/// The most bytes a `HandleResponse` (with its follow-up messages) may have.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// How long connecting to the worker may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A client for the worker.
#[derive(Debug, Clone)]
pub struct WorkerClient {
    calls: H2Channel,
    health: Channel,
}

impl WorkerClient {
    /// A client for `address` (`http://host:port`); connects on first use.
    pub fn connect_lazy(address: &str) -> Result<Self, String> {
        let endpoint = Endpoint::from_shared(address.to_owned())
            .map_err(|e| format!("worker.address `{address}`: {e}"))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true);
        Ok(Self {
            calls: H2Channel::new(address, CONNECT_TIMEOUT)?,
            health: endpoint.connect_lazy(),
        })
    }

    /// A channel to the worker for the health client.
    pub fn channel(&self) -> Channel {
        self.health.clone()
    }

    /// Calls `Handle` with a deadline of `timeout`. The request's trace context also goes as
    /// `traceparent` / `tracestate` metadata, where gRPC instrumentation (otelgrpc, the
    /// OpenTelemetry propagators) looks for it.
    pub async fn handle(
        &self,
        request: HandleRequest,
        timeout: Duration,
    ) -> Result<HandleResponse, Status> {
        let mut client = WorkerServiceClient::new(self.calls.clone())
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
            if let (false, Ok(mut value)) = (
                value.is_empty(),
                value.parse::<tonic::metadata::MetadataValue<_>>(),
            ) {
                // New with every call: HPACK sends it as a literal that is never indexed,
                // instead of filling the connection's header table with values that never
                // come again (and evicting the ones that do).
                value.set_sensitive(true);
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
