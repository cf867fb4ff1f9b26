//! The `ferry` command line: `run`, `check`, `publish`, `dlq list|redrive`, `queue stats`,
//! `logs`.
//!
//! Exit codes: 0 success, 1 runtime failure, 64 bad config or arguments (`EX_USAGE`).

mod admin_cmds;
mod args;
mod check;
pub(crate) mod logs;
mod publish;
mod queue_stats;
pub mod runtime;

use std::{path::Path, process::ExitCode};

use clap::Parser;

pub use args::{Cli, Command};

use self::runtime::Threads;
use crate::config::{self, EXIT_CONFIG, FerryConfig};

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Reads `FAILPOINTS` in a build with the `failpoints` feature (fault tests); a no-op
    // otherwise.
    let _faults = fail::FailScenario::setup();
    // `ferry run` reads its config before its runtime starts: `[runtime]` sizes it.
    let (threads, loaded) = match &cli.command {
        Command::Run { .. } => match load_config(&cli.config) {
            Ok(cfg) => (Threads::Exactly(cfg.runtime.threads.get()), Some(cfg)),
            Err(e) => return exit_code(Err(e)),
        },
        _ => (Threads::PerCore, None),
    };
    let runtime = match runtime::build(threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    exit_code(runtime.block_on(dispatch(cli, loaded)))
}

/// A failure that carries its exit code.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    message: String,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl CliError {
    /// A bad config or bad arguments (exit 64).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_CONFIG,
            message: message.into(),
        }
    }

    /// A runtime failure (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

fn load_config(path: &Path) -> Result<FerryConfig, CliError> {
    config::load(path).map_err(|e| CliError::usage(format!("invalid config\n{e}")))
}

/// Runs `cli`'s command; `loaded` is `ferry run`'s config, read before the runtime started.
async fn dispatch(cli: Cli, loaded: Option<FerryConfig>) -> Result<(), CliError> {
    match cli.command {
        Command::Run { worker } => match loaded.map_or_else(|| load_config(&cli.config), Ok) {
            Ok(cfg) => crate::app::run(cfg, worker)
                .await
                .map_err(|e| CliError::failure(format!("{e:#}"))),
            Err(e) => Err(e),
        },
        Command::Check => match load_config(&cli.config).and_then(|cfg| {
            let text = toml::to_string_pretty(&cfg.redacted())
                .map_err(|e| CliError::failure(e.to_string()))?;
            println!(
                "# {}: valid. Effective config (defaults and FERRY_* overrides applied):\n{text}",
                cli.config.display()
            );
            Ok(cfg)
        }) {
            Ok(cfg) => {
                check::preflight_warnings(&cfg).await;
                Ok(())
            }
            Err(e) => Err(e),
        },
        Command::Publish(args) => match load_config(&cli.config) {
            Ok(cfg) => publish::run(&cfg, args).await,
            Err(e) => Err(e),
        },
        Command::Dlq(cmd) => match load_config(&cli.config) {
            Ok(cfg) => admin_cmds::dlq(&cfg, cmd).await,
            Err(e) => Err(e),
        },
        Command::Queue(cmd) => match load_config(&cli.config) {
            Ok(cfg) => queue_stats::queue(&cfg, cmd).await,
            Err(e) => Err(e),
        },
        Command::Logs(args) => match load_config(&cli.config) {
            Ok(cfg) => logs::run(&cfg, args).await,
            Err(e) => Err(e),
        },
        Command::Console { check: true } => crate::console::config::load(&cli.config)
            .map_err(|e| CliError::usage(format!("invalid console config\n{e}")))
            .and_then(|cfg| {
                let text = toml::to_string_pretty(&cfg.redacted())
                    .map_err(|e| CliError::failure(e.to_string()))?;
                println!(
                    "# {}: valid. Effective console config:\n{text}",
                    cli.config.display()
                );
                Ok(())
            }),
        Command::Console { check: false } => crate::console::server::run(&cli.config)
            .await
            .map_err(|e| CliError::failure(format!("{e:#}"))),
        Command::Conformance(args) => {
            crate::conformance::run_command(args)
                .await
                .map_err(|e| match e {
                    crate::conformance::ConformanceError::Usage(m) => CliError::usage(m),
                    failed => CliError::failure(failed.to_string()),
                })
        }
    }
}

fn exit_code(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferry: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
