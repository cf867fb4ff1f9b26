//! Queue depths of Pub/Sub subscriptions from Cloud Monitoring (Pub/Sub's own API has no
//! message counts): the metric `subscription/num_undelivered_messages` of a subscription,
//! of its retry subscription and of its error subscription, read in one `timeSeries.list`
//! call. Google samples it every 60 s and shows a sample a few minutes later, so these
//! figures are for people ([`SampledStats`](crate::backend::SampledStats): the console,
//! `ferry queue stats`), never for a decision.
//!
//! The request and the reading of the answer are pure ([`query`]); the HTTP call, its
//! credentials and its bounds are in [`client`]; [`stats`] maps the three figures onto a
//! ferry queue (the Pub/Sub backend hands out its [`Monitoring`]).

mod client;
mod query;
mod stats;

pub(super) use client::Monitoring;

#[cfg(test)]
mod tests;
