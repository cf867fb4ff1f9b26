//! The command-line arguments (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Ferry: runs queue workers in any language over gRPC.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about)]
pub struct Cli {
    /// The config file.
    #[arg(
        long,
        short,
        global = true,
        env = "FERRY_CONFIG",
        default_value = "ferry.toml"
    )]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the sidecar; with `-- CMD ARGS...`, also start and supervise the worker.
    Run {
        /// The worker command (after `--`).
        #[arg(last = true)]
        worker: Vec<String>,
    },
    /// Validate the config and print the effective config (exit 64 when invalid).
    Check,
    /// Publish one message.
    Publish(PublishArgs),
    /// Dead letters: list them with their story, or redrive them.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Queue statistics.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Read the log events in Elasticsearch (a message's story, filters, -f); `logs setup`
    /// installs the index templates.
    Logs(super::logs::LogsArgs),
    /// Check a running worker against the conformance vectors (one PASS/FAIL line each).
    Conformance(crate::conformance::ConformanceArgs),
    /// Serve the console (the web page and its API over a fleet of sidecars); `--config`
    /// names its `console.toml`.
    Console {
        /// Only validate `console.toml` and print it (tokens redacted); exit 64 when invalid.
        #[arg(long)]
        check: bool,
    },
}

/// `ferry publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The destination queue.
    #[arg(long, short)]
    pub queue: String,
    /// An attribute, `KEY=VALUE` (repeatable).
    #[arg(long = "attr", short, value_name = "KEY=VALUE")]
    pub attributes: Vec<String>,
    /// The realm (tenant key).
    #[arg(long)]
    pub realm: Option<String>,
    /// Deliver after this delay (e.g. `30s`).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub delay: Option<std::time::Duration>,
    /// De-duplication id.
    #[arg(long)]
    pub dedup_id: Option<String>,
    /// Ordering key.
    #[arg(long)]
    pub ordering_key: Option<String>,
    /// The payload as a string.
    #[arg(long, short, conflicts_with = "file")]
    pub data: Option<String>,
    /// Read the payload from a file (`-` for stdin). Without --data or --file, stdin is read.
    #[arg(long, short)]
    pub file: Option<PathBuf>,
}

/// `ferry dlq ...`.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters with their story.
    List {
        /// Only this subscription's error queue (default: all).
        #[arg(long, short)]
        subscription: Option<String>,
        /// At most this many per error queue.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Move dead letters back to their source queue with the attempt count reset: those in
    /// the error queue when the command starts (a letter that fails again meanwhile stays).
    Redrive {
        /// Only this subscription's error queue (default: all).
        #[arg(long, short)]
        subscription: Option<String>,
        /// At most this many per error queue (default: all).
        #[arg(long)]
        limit: Option<usize>,
    },
}

/// `ferry queue ...`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Ready, in flight, delayed and dead counts per subscription.
    Stats {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}
