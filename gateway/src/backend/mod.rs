//! Queue backends: the [`Backend`] trait every backend implements, the opt-in capability
//! traits ([`DeadLetterAdmin`], [`QueueStats`], [`SampledStats`], …) and one folder per backend.
//!
//! The embedded backend is the reference implementation; the behaviour every backend must
//! show is written once in the conformance suite in `tests/`.

mod config;
mod error;
mod story;
mod traits;
mod types;

#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "pubsub")]
pub mod pubsub;
#[cfg(feature = "sqs")]
pub mod sqs;

pub use config::{BACKENDS, BackendConfig, is_valid_queue_name};
pub use error::BackendError;
pub use story::{DeadLetterStory, STORY_PREFIX, strip_story};
pub use traits::{
    Backend, DEFAULT_HORIZON, DeadLetterAdmin, Preflight, QueueDiscovery, QueueStats, SampledStats,
};
pub use types::{DeadLetter, Failure, NewMessage, QueuePlan, Receipt, Received, Sampled, Stats};

/// Opens the backend named in the config (the embedded queue's file is created if need be).
pub async fn open(config: &BackendConfig) -> Result<std::sync::Arc<dyn Backend>, BackendError> {
    open_as(config, embedded::OpenMode::Create).await
}

/// Opens the backend named in the config for a command that must not create state: the
/// embedded queue's file must exist.
pub async fn open_existing(
    config: &BackendConfig,
) -> Result<std::sync::Arc<dyn Backend>, BackendError> {
    open_as(config, embedded::OpenMode::Existing).await
}

async fn open_as(
    config: &BackendConfig,
    mode: embedded::OpenMode,
) -> Result<std::sync::Arc<dyn Backend>, BackendError> {
    match config {
        BackendConfig::Embedded(c) => Ok(std::sync::Arc::new(match mode {
            embedded::OpenMode::Create => embedded::EmbeddedBackend::open(c).await?,
            embedded::OpenMode::Existing => embedded::EmbeddedBackend::open_existing(c).await?,
        })),
        #[cfg(feature = "sqs")]
        BackendConfig::Sqs(c) => Ok(std::sync::Arc::new(sqs::SqsBackend::open(c).await?)),
        #[cfg(feature = "pubsub")]
        BackendConfig::Pubsub(c) => Ok(std::sync::Arc::new(pubsub::PubsubBackend::open(c).await?)),
    }
}
