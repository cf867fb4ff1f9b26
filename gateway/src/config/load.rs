//! Loading `ferry.toml`: the file, then `FERRY_*` environment overrides (`__` separates
//! nesting: `FERRY_WORKER__ADDRESS`, `FERRY_SUBSCRIPTIONS__ORDERS__MAX_IN_FLIGHT`), then
//! validation. Every problem is reported with the file, the key and the reason.

use std::{fmt, path::Path};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};

use super::{model::FerryConfig, validate::validate};

/// The exit code for a bad config (`EX_USAGE` from sysexits.h).
pub const EXIT_CONFIG: u8 = 64;

/// The top-level keys of `ferry.toml`. Only `FERRY_*` variables whose first segment is one
/// of these are overrides; others (`FERRY_CONFIG`, `FERRY_WORKER_ADDR` given to a child
/// worker, `FERRY_TEST_*`, a tool's `FERRY_BIN`) are not config and are left alone. A
/// misspelt key *inside* a section is still refused (`FERRY_WORKER__ADRESS`).
pub(super) const TOP_LEVEL_KEYS: [&str; 10] = [
    "service",
    "service_version",
    "worker",
    "gateway",
    "admin",
    "backend",
    "limits",
    "shutdown",
    "logs",
    "subscriptions",
];

/// One or more problems with a config, each naming where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems found, in file order where known.
    pub problems: Vec<Problem>,
}

/// One config problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file (or "environment" for `FERRY_*` overrides) the value came from.
    pub source: String,
    /// The dotted key, e.g. `subscriptions.orders.max_in_flight`; empty for the whole file.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.key.is_empty() {
                write!(f, "{}: {}", p.source, p.reason)?;
            } else {
                write!(f, "{}: {}: {}", p.source, p.key, p.reason)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn one(source: &str, key: &str, reason: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                source: source.to_owned(),
                key: key.to_owned(),
                reason: reason.into(),
            }],
        }
    }
}

/// Loads and validates the config file at `path`, applying `FERRY_*` overrides.
pub fn load(path: &Path) -> Result<FerryConfig, ConfigError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::one(&source, "", format!("cannot read the file: {e}")))?;
    load_with(&source, Figment::from(Toml::string(&text)).merge(env()))
}

/// Loads and validates config text (no environment overrides); `source` names it in errors.
pub fn load_str(source: &str, text: &str) -> Result<FerryConfig, ConfigError> {
    load_with(source, Figment::from(Toml::string(text)))
}

fn env() -> Env {
    Env::prefixed("FERRY_")
        .filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            let first = key.split("__").next().unwrap_or_default();
            TOP_LEVEL_KEYS.contains(&first)
        })
        .split("__")
}

fn load_with(source: &str, figment: Figment) -> Result<FerryConfig, ConfigError> {
    let config: FerryConfig = figment.extract().map_err(|e| from_figment(source, e))?;
    let problems = validate(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError {
            problems: problems
                .into_iter()
                .map(|(key, reason)| Problem {
                    source: source.to_owned(),
                    key,
                    reason,
                })
                .collect(),
        })
    }
}

fn from_figment(source: &str, error: figment::Error) -> ConfigError {
    let problems = error
        .into_iter()
        .map(|e| {
            let from_env = e
                .metadata
                .as_ref()
                .is_some_and(|m| m.name.contains("environment"));
            Problem {
                source: if from_env {
                    "environment (FERRY_*)".to_owned()
                } else {
                    source.to_owned()
                },
                key: e.path.join("."),
                reason: e.kind.to_string(),
            }
        })
        .collect();
    ConfigError { problems }
}
