//! The tokio runtime a command runs on. `ferry run` sizes it from `[runtime] threads`
//! (see [`crate::config::RuntimeConfig`] for why one thread is the default): one thread is
//! tokio's current-thread scheduler, more is the multi-thread scheduler with that many
//! workers. The other commands are short-lived clients and keep tokio's default, one
//! worker per core. ferry-bench sizes its consumer's and worker's runtimes the same way.

use std::io;

use tokio::runtime::{Builder, Runtime};

/// How many threads a runtime gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// This many (`[runtime] threads` of `ferry run`'s config); 0 is taken as 1.
    Exactly(u32),
    /// tokio's default: one worker per core.
    PerCore,
}

/// A runtime builder for `threads`, with its I/O and time drivers on (more settings, such
/// as thread names, may still be added).
pub fn builder(threads: Threads) -> Builder {
    let mut builder = match threads {
        Threads::Exactly(0 | 1) => Builder::new_current_thread(),
        Threads::Exactly(n) => {
            let mut b = Builder::new_multi_thread();
            b.worker_threads(usize::try_from(n).unwrap_or(usize::MAX));
            b
        }
        Threads::PerCore => Builder::new_multi_thread(),
    };
    builder.enable_all();
    builder
}

/// Builds the runtime for `threads`.
pub fn build(threads: Threads) -> io::Result<Runtime> {
    builder(threads).build()
}

#[cfg(test)]
mod tests;
