//! [`SubscriptionContext`]: everything one subscription's poller and deliveries share,
//! behind one `Arc`: a delivery takes a clone, which copies no string.

use std::{ops::Deref, sync::Arc};

use super::Admission;
use crate::{
    backend::Backend,
    config::{LimitsConfig, SubscriptionConfig},
    shutdown::Shutdown,
    telemetry::Telemetry,
    worker::{HealthWatch, WorkerClient},
};

/// One subscription at run time (its [`Parts`], shared).
#[derive(Clone)]
pub struct SubscriptionContext(Arc<Parts>);

/// What a subscription's poller and deliveries share.
#[derive(Clone)]
pub struct Parts {
    /// Its name.
    pub name: String,
    /// The queue consumed.
    pub queue: String,
    /// Where dead letters go.
    pub error_queue: String,
    /// Its settings.
    pub config: SubscriptionConfig,
    /// Message limits.
    pub limits: LimitsConfig,
    /// The queue backend.
    pub backend: Arc<dyn Backend>,
    /// The worker.
    pub worker: WorkerClient,
    /// The worker's health.
    pub health: HealthWatch,
    /// Events.
    pub telemetry: Telemetry,
    /// Shutdown signals.
    pub shutdown: Shutdown,
    /// In-flight, per-realm and rate limits.
    pub admission: Arc<Admission>,
}

impl SubscriptionContext {
    /// Builds the context of subscription `name`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        config: SubscriptionConfig,
        limits: LimitsConfig,
        backend: Arc<dyn Backend>,
        worker: WorkerClient,
        health: HealthWatch,
        telemetry: Telemetry,
        shutdown: Shutdown,
    ) -> Self {
        Self(Arc::new(Parts {
            name: name.to_owned(),
            queue: config.queue_name(name),
            error_queue: config.error_queue_name(name),
            admission: Arc::new(Admission::new(&config)),
            config,
            limits,
            backend,
            worker,
            health,
            telemetry,
            shutdown,
        }))
    }

    /// The context under the console's `controls` for this subscription (the admission
    /// follows them; needs a tokio runtime).
    #[must_use]
    pub fn with_controls(self, controls: crate::control::Applied) -> Self {
        let mut parts = Arc::unwrap_or_clone(self.0);
        parts.admission = Arc::new(Admission::with_controls(&parts.config, controls));
        Self(Arc::new(parts))
    }
}

impl Deref for SubscriptionContext {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}
