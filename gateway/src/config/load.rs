//! Loading `ferry.toml`: the file, then `FERRY_*` environment overrides (`__` separates
//! nesting: `FERRY_WORKER__ADDRESS`, `FERRY_SUBSCRIPTIONS__ORDERS__MAX_IN_FLIGHT`), then
//! validation. Every problem is reported at once, each with its source (the file or the
//! environment), its key and the reason in TOML's terms ([`super::problem`]).
//!
//! Reading stops at the first error of a serde type, so the merged values are read again
//! without each bad key until they read cleanly (a bad key then takes its default, which
//! is never used: the config is refused); validation then adds what types cannot say.

use std::{collections::BTreeSet, fmt, path::Path};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
    value::{Dict, Value},
};

use super::{model::FerryConfig, problem::describe, validate::validate};
use crate::backend::BACKENDS;

/// The exit code for a bad config (`EX_USAGE` from sysexits.h).
pub const EXIT_CONFIG: u8 = 64;

/// The top-level keys of `ferry.toml`. Only `FERRY_*` variables whose first segment is one
/// of these are overrides; others (`FERRY_CONFIG`, `FERRY_WORKER_ADDR` given to a child
/// worker, `FERRY_TEST_*`, a tool's `FERRY_BIN`) are not config and are left alone. A
/// misspelt key *inside* a section is still refused (`FERRY_WORKER__ADRESS`).
pub(super) const TOP_LEVEL_KEYS: [&str; 15] = [
    "service",
    "service_version",
    "worker",
    "gateway",
    "admin",
    "backend",
    "limits",
    "metrics",
    "shutdown",
    "logs",
    "ingress",
    "console",
    "tracing",
    "runtime",
    "subscriptions",
];

/// The most bad keys taken out before reading gives up (each read finds one).
const MAX_READS: usize = 100;

/// One or more problems with a config, each naming where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems found, in the order found.
    pub problems: Vec<Problem>,
}

/// One config problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file (or "environment (FERRY_*)" for overrides) the value came from.
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

/// Where the values come from: the file, and which keys the environment overrides.
struct Sources<'a> {
    file: &'a str,
    env_keys: BTreeSet<String>,
}

impl Sources<'_> {
    fn problem(&self, key: String, reason: String) -> Problem {
        let from_env = self
            .env_keys
            .iter()
            .any(|k| key == *k || key.starts_with(&format!("{k}.")));
        Problem {
            source: if from_env {
                "environment (FERRY_*)".to_owned()
            } else {
                self.file.to_owned()
            },
            key,
            reason,
        }
    }
}

/// Loads and validates the config file at `path`, applying `FERRY_*` overrides.
pub fn load(path: &Path) -> Result<FerryConfig, ConfigError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        problems: vec![Problem {
            source: source.clone(),
            key: String::new(),
            reason: format!("cannot read the file: {e}"),
        }],
    })?;
    let env = env();
    let env_keys = env
        .iter()
        .map(|(key, _)| key.as_str().to_ascii_lowercase())
        .collect();
    let sources = Sources {
        file: &source,
        env_keys,
    };
    load_with(&sources, Figment::from(Toml::string(&text)).merge(env))
}

/// Loads and validates config text (no environment overrides); `source` names it in errors.
pub fn load_str(source: &str, text: &str) -> Result<FerryConfig, ConfigError> {
    let sources = Sources {
        file: source,
        env_keys: BTreeSet::new(),
    };
    load_with(&sources, Figment::from(Toml::string(text)))
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

fn load_with(sources: &Sources<'_>, figment: Figment) -> Result<FerryConfig, ConfigError> {
    // The merged values, or the reason there are none (a TOML syntax error).
    let mut values: Dict = figment.extract().map_err(|e| ConfigError {
        problems: e
            .into_iter()
            .map(|e| sources.problem(e.path.join("."), describe(&e.kind)))
            .collect(),
    })?;
    let mut problems = one_backend(&mut values, sources);
    let mut config = None;
    for _ in 0..MAX_READS {
        match Figment::from(Serialized::defaults(&values)).extract::<FerryConfig>() {
            Ok(c) => {
                config = Some(c);
                break;
            }
            Err(errors) => {
                let mut removed = false;
                for e in errors {
                    let mut path = e.path.clone();
                    if let figment::error::Kind::UnknownField(field, _) = &e.kind
                        && path.last() != Some(field)
                    {
                        path.push(field.clone());
                    }
                    problems.push(sources.problem(path.join("."), describe(&e.kind)));
                    removed |= remove(&mut values, &path);
                }
                if !removed {
                    // A key that cannot be taken out (a required one is missing).
                    break;
                }
            }
        }
    }
    match config {
        Some(config) if problems.is_empty() => {
            let invalid = validate(&config);
            if invalid.is_empty() {
                return Ok(config);
            }
            problems.extend(
                invalid
                    .into_iter()
                    .map(|(key, reason)| sources.problem(key, reason)),
            );
        }
        Some(config) => {
            // What the types could not say, except about the keys that did not read (they
            // hold their defaults, not what was written).
            let more: Vec<Problem> = validate(&config)
                .into_iter()
                .filter(|(key, _)| !problems.iter().any(|p| p.key == *key))
                .map(|(key, reason)| sources.problem(key, reason))
                .collect();
            problems.extend(more);
        }
        None => {}
    }
    Err(ConfigError { problems })
}

/// Takes the value at `path` out of `values`; whether there was one.
fn remove(values: &mut Dict, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut dict = values;
    for key in parents {
        match dict.get_mut(key) {
            Some(Value::Dict(_, inner)) => dict = inner,
            _ => return false,
        }
    }
    dict.remove(last).is_some()
}

/// `[backend]` holds exactly one table, named after a backend this build has. Every other
/// table is reported and taken out.
fn one_backend(values: &mut Dict, sources: &Sources<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(backend) = values.get_mut("backend") else {
        return problems;
    };
    let Value::Dict(_, tables) = backend else {
        problems.push(sources.problem(
            "backend".into(),
            "must be a table named after the backend, like [backend.embedded]".into(),
        ));
        values.remove("backend");
        return problems;
    };
    let names: Vec<String> = tables.keys().cloned().collect();
    let mut chosen: Option<String> = None;
    for name in names {
        let key = format!("backend.{name}");
        let reason = match BACKENDS.iter().find(|(n, _)| *n == name) {
            None => Some(format!(
                "unknown backend: expected one table of {}",
                BACKENDS
                    .iter()
                    .map(|(n, _)| format!("[backend.{n}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some((_, false)) => Some(format!(
                "this ferry was built without the `{name}` feature (cargo build --features {name})"
            )),
            Some(_) => match &chosen {
                Some(first) => Some(format!(
                    "only one backend can be configured, and [backend.{first}] is already"
                )),
                None => {
                    chosen = Some(name.clone());
                    None
                }
            },
        };
        if let Some(reason) = reason {
            problems.push(sources.problem(key, reason));
            tables.remove(&name);
        }
    }
    if tables.is_empty() {
        values.remove("backend");
    }
    problems
}
