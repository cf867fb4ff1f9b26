//! [`GatewayClient`]: publish messages and write log lines through the ferry sidecar's
//! gateway, from a worker or from any local service (for example a web API that enqueues
//! work instead of doing it).

use ferry_proto::v1 as pb;
use ferry_proto::v1::gateway_service_client::GatewayServiceClient;
use tonic::transport::{Channel, Endpoint};

use crate::TraceContext;
use crate::error::ClientError;
use crate::outgoing::Outgoing;
use crate::reply::{Level, LogEntry};

/// The environment variable ferry sets for its child worker to the gateway's address.
pub const GATEWAY_ADDR_ENV: &str = "FERRY_GATEWAY_ADDR";

/// The gateway address [`GatewayClient::from_env`] uses when [`GATEWAY_ADDR_ENV`] is not set.
pub const DEFAULT_GATEWAY_ADDR: &str = "http://127.0.0.1:50052";

/// A client of the sidecar's `ferry.v1.GatewayService`. Cheap to clone; clones share one
/// HTTP/2 connection.
///
/// ```no_run
/// use ferry_sdk::{GatewayClient, Outgoing};
///
/// # async fn enqueue() -> Result<(), Box<dyn std::error::Error>> {
/// let gateway = GatewayClient::from_env().await?;
/// let blast = serde_json::json!({ "blast_id": "b1", "account_id": "a1" });
/// let ids = gateway
///     .publish(vec![Outgoing::json("BlastCustomerListSender", &blast)?.realm("a1")])
///     .await?;
/// println!("queued as {}", ids[0]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct GatewayClient {
    inner: GatewayServiceClient<Channel>,
}

impl GatewayClient {
    /// Connects to the gateway at `addr` (`http://host:port`; `host:port` is accepted too).
    pub async fn connect(addr: impl Into<String>) -> Result<Self, ClientError> {
        let addr = addr.into();
        let endpoint = endpoint(&addr)?;
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| ClientError::Connect { addr, source })?;
        Ok(GatewayClient {
            inner: GatewayServiceClient::new(channel),
        })
    }

    /// A client for `addr` that connects on first use (and reconnects after failures), so
    /// that a service can start before its sidecar.
    pub fn connect_lazy(addr: impl Into<String>) -> Result<Self, ClientError> {
        let channel = endpoint(&addr.into())?.connect_lazy();
        Ok(GatewayClient {
            inner: GatewayServiceClient::new(channel),
        })
    }

    /// Connects to the gateway named by `FERRY_GATEWAY_ADDR` (default
    /// `http://127.0.0.1:50052`).
    pub async fn from_env() -> Result<Self, ClientError> {
        let addr = std::env::var(GATEWAY_ADDR_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_GATEWAY_ADDR.to_owned());
        GatewayClient::connect(addr).await
    }

    /// Publishes `messages`, all or none, and returns the broker's message ids in order
    /// (a message dropped as a duplicate reports the original's id). Publishing nothing
    /// makes no call.
    pub async fn publish(&self, messages: Vec<Outgoing>) -> Result<Vec<String>, ClientError> {
        self.publish_in(None, messages).await
    }

    /// Like [`publish`](Self::publish), in the trace `trace` (usually the
    /// [`Message::trace`](crate::Message::trace) of the message being handled): it goes as
    /// `traceparent` / `tracestate` metadata, and ferry gives it to every message that
    /// does not set a `traceparent` attribute of its own, so the follow-ups join the
    /// delivery's trace.
    pub async fn publish_in(
        &self,
        trace: Option<&TraceContext>,
        messages: Vec<Outgoing>,
    ) -> Result<Vec<String>, ClientError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut request = tonic::Request::new(pb::PublishRequest {
            messages: messages.into_iter().map(Into::into).collect(),
        });
        if let Some(trace) = trace {
            for (key, value) in [
                ("traceparent", &trace.traceparent),
                ("tracestate", &trace.tracestate),
            ] {
                if let (false, Ok(value)) = (value.is_empty(), value.parse()) {
                    request.metadata_mut().insert(key, value);
                }
            }
        }
        let response = self.inner.clone().publish(request).await?;
        Ok(response.into_inner().message_ids)
    }

    /// Writes one log line in the standard shape.
    pub async fn log(&self, level: Level, message: impl Into<String>) -> Result<(), ClientError> {
        self.log_entries([LogEntry::new(level, message)], None)
            .await
    }

    /// Writes log lines, optionally tagged with the message, subscription, realm and trace
    /// they are about.
    pub async fn log_entries(
        &self,
        entries: impl IntoIterator<Item = LogEntry>,
        context: Option<pb::LogContext>,
    ) -> Result<(), ClientError> {
        let request = pb::LogRequest {
            lines: entries.into_iter().map(Into::into).collect(),
            context,
        };
        self.inner.clone().log(request).await?;
        Ok(())
    }
}

/// An endpoint for `addr`, adding `http://` when no scheme is given.
fn endpoint(addr: &str) -> Result<Endpoint, ClientError> {
    let uri = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    Endpoint::from_shared(uri).map_err(|source| ClientError::Address {
        addr: addr.to_owned(),
        source,
    })
}
