//! The sidecar's side of the console (`[console]` in `ferry.toml`): [`Reporter`] sends a
//! heartbeat every few seconds and applies the controls of the answer ([`Controls`]);
//! dispatch consults them through [`Applied`] (pause, paused realms, limit overrides);
//! [`Tally`] counts what was settled per subscription × realm between beats. The wire
//! format is in [`wire`], shared with the console server (`crate::console`).

mod applied;
mod config;
mod heartbeat;
mod identity;
mod set;
mod tally;
pub mod wire;

#[cfg(test)]
mod tests;

pub use applied::{Applied, Limiter, Refused, limiter};
pub use config::{BeatInterval, ConsoleLink, PausedRealmDelay};
pub use heartbeat::{ConsoleClient, HttpConsole, Reported, Reporter, Running, identity};
pub use identity::backend_ref;
pub use set::Controls;
pub use tally::{Settled, Tally, merge};
