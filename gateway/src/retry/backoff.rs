//! [`Backoff`]: exponential backoff with full jitter between a minimum and a maximum.
//!
//! The type cannot be built invalid: `min` is above zero and not above `max`, and `max` is
//! at most [`Backoff::LONGEST`]. It is used for
//! a subscription's retry delays (`attempt` is the attempt that just failed) and for
//! restarting a worker child process.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Why a [`Backoff`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackoffError {
    /// `min` was zero.
    #[error("min must be greater than zero")]
    ZeroMin,
    /// `min` was greater than `max`.
    #[error("min ({min}) must not exceed max ({max})")]
    MinAboveMax {
        /// The minimum given, formatted.
        min: String,
        /// The maximum given, formatted.
        max: String,
    },
    /// `max` was longer than [`Backoff::LONGEST`].
    #[error("max ({max}) must not exceed 7d")]
    MaxTooLong {
        /// The maximum given, formatted.
        max: String,
    },
}

/// Exponential backoff: the delay after failed attempt `n` (1-based) is drawn uniformly from
/// `[base/2, base]` where `base = min(max, min * 2^(n-1))`.
///
/// Half-jitter keeps the delay from collapsing to zero while still spreading retries of
/// messages that failed together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BackoffSpec", into = "BackoffSpec")]
pub struct Backoff {
    min: Duration,
    max: Duration,
}

/// The serialized form of a [`Backoff`], checked by [`Backoff::new`] when read.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffSpec {
    /// Delay after the first failed attempt, before jitter (e.g. "1s").
    #[serde(with = "humantime_serde", default = "default_min")]
    pub min: Duration,
    /// The largest delay; also the cap on a delay chosen by the worker (e.g. "5m").
    #[serde(with = "humantime_serde", default = "default_max")]
    pub max: Duration,
}

fn default_min() -> Duration {
    Duration::from_secs(1)
}

fn default_max() -> Duration {
    Duration::from_secs(300)
}

impl Backoff {
    /// The longest `max`: 7 days, within every backend's retention of a message waiting
    /// for its retry.
    pub const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);

    /// Builds a backoff, refusing a zero `min`, a `min` above `max` or a `max` above
    /// [`Backoff::LONGEST`].
    pub fn new(min: Duration, max: Duration) -> Result<Self, BackoffError> {
        if min.is_zero() {
            return Err(BackoffError::ZeroMin);
        }
        if max > Self::LONGEST {
            return Err(BackoffError::MaxTooLong {
                max: humantime::format_duration(max).to_string(),
            });
        }
        if min > max {
            return Err(BackoffError::MinAboveMax {
                min: humantime::format_duration(min).to_string(),
                max: humantime::format_duration(max).to_string(),
            });
        }
        Ok(Self { min, max })
    }

    /// The smallest base delay.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The largest delay.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The un-jittered delay after failed attempt `attempt` (1-based; 0 is treated as 1).
    pub fn base(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(32);
        let factor = 1u64 << exp;
        let nanos = (self.min.as_nanos()).saturating_mul(u128::from(factor));
        let capped = nanos.min(self.max.as_nanos());
        Duration::from_nanos(u64::try_from(capped).unwrap_or(u64::MAX))
    }

    /// The jittered delay after failed attempt `attempt`: uniform in `[base/2, base]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self.base(attempt);
        let half = base / 2;
        let spread = base - half;
        let jitter =
            rand::rng().random_range(0..=spread.as_nanos().min(u128::from(u64::MAX)) as u64);
        half + Duration::from_nanos(jitter)
    }

    /// A delay chosen by the worker, capped at `max`.
    pub fn cap(&self, chosen: Duration) -> Duration {
        chosen.min(self.max)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            min: default_min(),
            max: default_max(),
        }
    }
}

impl TryFrom<BackoffSpec> for Backoff {
    type Error = BackoffError;

    fn try_from(spec: BackoffSpec) -> Result<Self, Self::Error> {
        Self::new(spec.min, spec.max)
    }
}

impl From<Backoff> for BackoffSpec {
    fn from(b: Backoff) -> Self {
        Self {
            min: b.min,
            max: b.max,
        }
    }
}
