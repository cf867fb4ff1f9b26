//! The `ferry.toml` model, how it is loaded (file, then `FERRY_*` environment overrides) and
//! how it is validated. A bad config is a [`ConfigError`] naming the file, the key and the
//! reason; `ferry` exits with [`EXIT_CONFIG`] on it.

mod load;
mod model;
mod subscription;
mod validate;

pub use load::{ConfigError, EXIT_CONFIG, load, load_str};
pub use model::{
    AdminConfig, BackendConfig, FerryConfig, GatewayConfig, LimitsConfig, ShutdownConfig,
    WorkerConfig,
};
pub use subscription::SubscriptionConfig;
pub use validate::{is_valid_name, is_valid_queue_name};

#[cfg(test)]
mod tests;
