//! The error types of the SDK: JSON payloads, serving a worker, and calling the gateway.

/// A payload that could not be read or written as JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The message payload is not a JSON document of the expected shape.
    #[error("payload is not a valid `{type_name}` JSON document: {source}")]
    Decode {
        /// The Rust type the payload was read as.
        type_name: &'static str,
        /// What serde_json reported (line, column and cause).
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be written as JSON (for example a map with non-string keys).
    #[error("cannot encode `{type_name}` as JSON: {source}")]
    Encode {
        /// The Rust type that was written.
        type_name: &'static str,
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },
}

/// Why a worker could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listening address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address as given.
        addr: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The address in the environment is not `host:port`.
    #[error("{var}={value:?} is not a host:port address")]
    BadAddress {
        /// The environment variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// Installing the SIGTERM / SIGINT handlers failed.
    #[error("cannot install signal handlers: {0}")]
    Signal(#[source] std::io::Error),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Why a call to the ferry gateway failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The gateway address is not a valid URI.
    #[error("invalid gateway address {addr:?}: {source}")]
    Address {
        /// The address as given.
        addr: String,
        /// The parser's reason.
        #[source]
        source: tonic::transport::Error,
    },
    /// The gateway could not be reached.
    #[error("cannot connect to the ferry gateway at {addr}: {source}")]
    Connect {
        /// The address as given.
        addr: String,
        /// The transport's reason.
        #[source]
        source: tonic::transport::Error,
    },
    /// The gateway answered with an error (for example INVALID_ARGUMENT naming the bad
    /// message and field, or UNAVAILABLE while the sidecar is shutting down).
    #[error("ferry gateway refused the call: {0}")]
    Status(#[from] tonic::Status),
}
