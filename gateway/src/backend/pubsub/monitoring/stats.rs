//! [`SampledStats`] for Pub/Sub: a subscription's backlog, its retry subscription's (the
//! delayed copies ferry made) and its error subscription's (the dead letters), as Cloud
//! Monitoring last sampled them.

use async_trait::async_trait;

use super::Monitoring;
use crate::backend::{BackendError, Sampled, SampledStats};

#[async_trait]
impl SampledStats for Monitoring {
    async fn sampled(&self, queue: &str, error_queue: &str) -> Result<Sampled, BackendError> {
        let retry = self.config.retry_id(queue);
        let got = self.backlogs(&[queue, &retry, error_queue]).await?;
        let main = got.get(queue).ok_or_else(|| BackendError::Queue {
            queue: queue.to_owned(),
            reason: format!(
                "Cloud Monitoring has no sample of it in the last {} minutes (a new subscription's first appears within a few)",
                super::query::WINDOW.as_secs() / 60
            ),
        })?;
        // A retry or error subscription without a sample holds nothing yet (ferry creates
        // the error subscription with the first dead letter).
        let of = |sub: &str| got.get(sub).map_or(0, |s| s.value);
        Ok(Sampled {
            backlog: main.value,
            delayed: of(&retry),
            dead: of(error_queue),
            sampled_at: main.at,
        })
    }
}
