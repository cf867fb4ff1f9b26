//! The `ferry.toml` model, how it is loaded (file, then `FERRY_*` environment overrides) and
//! how it is validated. A bad config is a [`ConfigError`] naming the file, every bad key and
//! the reason; `ferry` exits with [`EXIT_CONFIG`] on it.

mod load;
mod model;
mod problem;
mod runtime;
mod subscription;
mod validate;

pub use crate::backend::is_valid_queue_name;
pub use load::{ConfigError, EXIT_CONFIG, Problem, load, load_str};
pub use model::{
    AdminConfig, BackendConfig, FerryConfig, GatewayConfig, LimitsConfig, MetricsConfig,
    ShutdownConfig, WorkerConfig,
};
pub use runtime::RuntimeConfig;
pub use subscription::{
    Attempts, BatchSize, Concurrency, DiscoveryInterval, HandlerTimeout, LeaseSpan, Pollers,
    ReceiveWait, RequeueDelay, SubscriptionConfig,
};
pub use validate::is_valid_name;

#[cfg(test)]
mod tests;
