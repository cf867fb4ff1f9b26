//! The Ferry console: one page over every subscription, realm and dead letter of a fleet of
//! sidecars, with live controls. `ferry console --config console.toml` serves the page
//! ([`ui`], assets embedded in the binary) and its JSON API ([`api`], `/api/v1/...`);
//! sidecars report to it with heartbeats (`crate::control`) and get their controls in the
//! answer. A `ferry run` on the embedded queue serves the same console for itself on its
//! admin port ([`local`]).
//!
//! The parts: [`fleet`] (the sidecars, and dividing limits among the live ones),
//! [`controls`] (what operators set), [`rollup`] (per-minute counts, percentiles),
//! [`store`] (the SQLite file: rollups, controls, audit), [`queues`] (queue counts and
//! dead letters through ferry's backends), [`story`] (a message's story), [`state`] (the
//! console's state and heartbeat handling), [`views`] (what the pages show), [`actions`]
//! (what operators change, audited), [`server`] (`ferry console`).

pub mod actions;
pub mod api;
pub mod config;
pub mod controls;
pub mod fleet;
pub mod local;
pub mod queues;
pub mod rollup;
pub mod server;
pub mod state;
pub mod store;
pub mod story;
pub mod ui;
pub mod views;

#[cfg(test)]
mod tests;

pub use config::ConsoleConfig;
pub use state::{Console, Settings};

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    ms_of(std::time::SystemTime::now())
}

/// `t` in Unix milliseconds.
pub fn ms_of(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
