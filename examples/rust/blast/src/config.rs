//! Where the workers find their data: the directory file, the outbox and the activity log,
//! from the environment with defaults relative to the working directory (the repo root).

use std::path::PathBuf;

/// The environment variable naming the directory JSON file (accounts and customers).
pub const DATA_ENV: &str = "BLAST_DATA";
/// The environment variable naming the outbox file (one JSON line per mail sent).
pub const OUTBOX_ENV: &str = "BLAST_OUTBOX";
/// The environment variable naming the activity file (one JSON line per activity).
pub const ACTIVITIES_ENV: &str = "BLAST_ACTIVITIES";

/// The directory file used when [`DATA_ENV`] is not set.
pub const DEFAULT_DATA: &str = "examples/rust/blast/data/directory.json";
/// The outbox used when [`OUTBOX_ENV`] is not set.
pub const DEFAULT_OUTBOX: &str = "blast-outbox.jsonl";
/// The activity file used when [`ACTIVITIES_ENV`] is not set.
pub const DEFAULT_ACTIVITIES: &str = "blast-activities.jsonl";

/// The files the workers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The directory JSON file.
    pub directory: PathBuf,
    /// The outbox JSON-lines file.
    pub outbox: PathBuf,
    /// The activity JSON-lines file.
    pub activities: PathBuf,
}

impl Paths {
    /// The paths from `BLAST_DATA`, `BLAST_OUTBOX` and `BLAST_ACTIVITIES`, or the defaults.
    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| {
            PathBuf::from(
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| default.into()),
            )
        };
        Paths {
            directory: var(DATA_ENV, DEFAULT_DATA),
            outbox: var(OUTBOX_ENV, DEFAULT_OUTBOX),
            activities: var(ACTIVITIES_ENV, DEFAULT_ACTIVITIES),
        }
    }
}
