//! The `GatewayService` ferry serves on localhost: `Publish` (validated, then handed to the
//! backend) and `Log` (standard log lines). Used by the worker and by any local service,
//! for example a web API that enqueues work.

mod service;

pub use service::GatewayApi;
