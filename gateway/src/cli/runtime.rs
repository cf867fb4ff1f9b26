//! The tokio runtime a command runs on. `ferry run` sizes it from `[runtime] threads`
//! (see [`crate::config::RuntimeConfig`] for why one thread is the default): one thread is
//! tokio's current-thread scheduler, more is the multi-thread scheduler with that many
//! workers. The other commands are short-lived clients and keep tokio's default, one
//! worker per core.

use std::io;

use tokio::runtime::{Builder, Runtime};

/// How many threads a runtime gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// `[runtime] threads` of `ferry run`'s config.
    Configured(u32),
    /// tokio's default: one worker per core.
    PerCore,
}

/// Builds the runtime for `threads`, with its I/O and time drivers on.
pub fn build(threads: Threads) -> io::Result<Runtime> {
    let mut builder = match threads {
        Threads::Configured(1) => Builder::new_current_thread(),
        Threads::Configured(n) => {
            let mut b = Builder::new_multi_thread();
            b.worker_threads(usize::try_from(n.max(1)).unwrap_or(1));
            b
        }
        Threads::PerCore => Builder::new_multi_thread(),
    };
    builder.enable_all().build()
}

#[cfg(test)]
mod tests;
