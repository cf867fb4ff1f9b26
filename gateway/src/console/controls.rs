//! [`FleetControls`]: what operators set on one subscription of the fleet — pause, paused
//! realms, fleet-wide limits — each with who set it and when, and [`FleetControls::for_sidecar`],
//! the controls one sidecar gets in its heartbeat answer, limits divided
//! ([`super::fleet::share`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fleet::{share, share_rate};
use crate::control::wire::SubscriptionControls;

/// Who set a control, and when (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// The operator (the `X-Ferry-Actor` header, else `operator`).
    pub by: String,
    /// When.
    pub at_ms: i64,
}

/// A fleet-wide limit and who set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override<T> {
    /// The limit over every live sidecar of the subscription.
    pub value: T,
    /// Who set it.
    #[serde(flatten)]
    pub mark: Mark,
}

/// The controls of one subscription of the fleet.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FleetControls {
    /// Receiving stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Mark>,
    /// Realms whose messages are handed back.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paused_realms: BTreeMap<String, Mark>,
    /// Fleet-wide `max_in_flight`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<Override<u32>>,
    /// Fleet-wide `max_in_flight_per_realm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight_per_realm: Option<Override<u32>>,
    /// Fleet-wide `rate_limit`, per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<Override<f64>>,
}

impl FleetControls {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The controls of the sidecar at `index` among `live` live sidecars.
    pub fn for_sidecar(&self, index: usize, live: usize) -> SubscriptionControls {
        SubscriptionControls {
            paused: self.paused.is_some(),
            paused_realms: self.paused_realms.keys().cloned().collect(),
            max_in_flight: self
                .max_in_flight
                .as_ref()
                .map(|o| share(o.value, live, index)),
            max_in_flight_per_realm: self
                .max_in_flight_per_realm
                .as_ref()
                .map(|o| share(o.value, live, index)),
            rate_limit: self
                .rate_limit
                .as_ref()
                .map(|o| share_rate(o.value, live).max(0.001)),
        }
    }
}
