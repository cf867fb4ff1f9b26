//! Worker conformance: `ferry conformance --worker ADDR` checks that a worker in any
//! language answers as the protocol says. It sends language-neutral vectors
//! (`tests/conformance/*.json`, embedded in the binary, or `--vectors DIR`) to a running
//! worker that implements the reference behaviour documented in
//! `tests/conformance/README.md`, and prints one `PASS` / `FAIL` line per vector and a
//! `N passed, N failed` summary; any failure makes the command exit 1.
//!
//! [`vectors`] is the vector model and loading, [`runner`] calls the worker, and [`judge`]
//! compares an answer with a vector's expectations.

pub mod judge;
pub mod runner;
pub mod vectors;

use std::path::PathBuf;

use clap::Args;

pub use judge::{ECHO_DESTINATION, judge_handle};
pub use runner::{Runner, TRACEPARENT, Verdict, build_request};
pub use vectors::{Check, Expect, Outcome, Vector, VectorError, embedded, load_dir, parse};

/// `ferry conformance`.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// The worker to check: `host:port` or `http://host:port`.
    #[arg(long, env = "FERRY_WORKER_ADDR")]
    pub worker: String,
    /// Read the vectors from the `*.json` files of this directory instead of the embedded set.
    #[arg(long, value_name = "DIR")]
    pub vectors: Option<PathBuf>,
    /// Run only the vector with this name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
}

/// Why the conformance command did not pass.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// The vectors or the arguments are unusable (exit 64).
    #[error("{0}")]
    Usage(String),
    /// Nothing answers at the worker's address (exit 1): one error, not one failure per
    /// vector.
    #[error("cannot reach a worker at {address}: {reason}")]
    Unreachable {
        /// The `--worker` address.
        address: String,
        /// Why the connection failed.
        reason: String,
    },
    /// At least one vector failed (exit 1).
    #[error("{failed} of {total} conformance vector(s) failed")]
    Failed {
        /// How many failed.
        failed: usize,
        /// How many ran.
        total: usize,
    },
}

/// Runs `ferry conformance`: prints a line per vector as it completes, then the summary.
pub async fn run_command(args: ConformanceArgs) -> Result<(), ConformanceError> {
    let vectors = match &args.vectors {
        Some(dir) => load_dir(dir),
        None => embedded(),
    }
    .map_err(|e| ConformanceError::Usage(e.to_string()))?;
    if let Some(unknown) = args
        .only
        .iter()
        .find(|name| !vectors.iter().any(|v| &v.name == *name))
    {
        let known: Vec<_> = vectors.iter().map(|v| v.name.as_str()).collect();
        return Err(ConformanceError::Usage(format!(
            "--only `{unknown}`: no such vector (known: {})",
            known.join(", ")
        )));
    }
    let runner = Runner::new(&args.worker).map_err(ConformanceError::Usage)?;
    runner
        .reachable()
        .await
        .map_err(|reason| ConformanceError::Unreachable {
            address: args.worker.clone(),
            reason,
        })?;
    let (mut passed, mut failed) = (0, 0);
    for vector in vectors
        .iter()
        .filter(|v| args.only.is_empty() || args.only.contains(&v.name))
    {
        let verdict = runner.run(vector).await;
        println!("{}", verdict.line());
        if verdict.result.is_ok() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(ConformanceError::Failed {
            failed,
            total: passed + failed,
        })
    }
}

#[cfg(test)]
mod tests;
