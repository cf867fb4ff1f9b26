//! The Google Cloud Pub/Sub backend (feature `pubsub`), built on the `gcloud-pubsub` crate
//! (1.8, the maintained continuation of the `google-cloud-pubsub` line up to 0.30) and its
//! `gcloud-googleapis` / `gcloud-gax` companions.
//!
//! Why this crate: ferry needs the raw StreamingPull stream with its flow-control fields,
//! per-message ModifyAckDeadline with any deadline (lease extension, retry delays,
//! hand-backs), `delivery_attempt`, GetSubscription (dead-letter policy, topic),
//! `PUBSUB_EMULATOR_HOST` and Application Default Credentials. `gcloud-pubsub` exposes all
//! of them. Google's official `google-cloud-pubsub` 1.x manages leases itself and only
//! offers ack/nack on a handler, so it cannot delay a retry with ModifyAckDeadline. Both
//! build on tonic 0.14 / prost 0.14 like the rest of ferry, so there is one gRPC stack;
//! TLS is rustls with ring, installed as the process default (no aws-lc, no OpenSSL).
//!
//! Mapping: a subscription's `queue` is a Pub/Sub subscription id, its `error_queue` a
//! topic id (dead letters are read through the subscription of the same id, see
//! [`admin`]); publish destinations are topic ids. Each subscription `S` has a retry
//! topic and retry subscription (`S-retry`), where ferry's own copies go, so they reach `S`
//! alone. Attempts, delays, dead letters, ordering and the resources ferry needs are
//! described in `docs/backends/pubsub.md`; the receive side in [`feed`] (its pure state,
//! its driver) and [`stream`], the settle rules in [`settle`], the ack batching in
//! [`acks`], the carried `ferry.*` attributes in [`attrs`], queue depths from Cloud Monitoring in
//! [`monitoring`].

mod acks;
mod admin;
mod attrs;
mod backend;
mod client;
mod config;
mod dlq;
mod feed;
mod monitoring;
mod settle;
mod stream;

pub use backend::PubsubBackend;
pub use config::{PubsubConfig, is_valid_resource_id};

#[cfg(test)]
mod tests;
