//! `[logs.elasticsearch]`: where the log sink ships, how it batches, where it spools and
//! where rejected documents go. Compiled with or without the `elasticsearch` feature, so a
//! config that names Elasticsearch in a build without it fails with a clear reason.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use crate::retry::Backoff;

/// `[logs]`: where log events go. Without `[logs.elasticsearch]` they are JSON lines on
/// stdout; `[logs.local]` adds the local store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// Also write every event to stdout as a JSON line. Default: on without
    /// `[logs.elasticsearch]`, off with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<bool>,
    /// Ship events to Elasticsearch (needs the `elasticsearch` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elasticsearch: Option<ElasticsearchConfig>,
    /// The local log store that `ferry logs` reads without Elasticsearch (on by default
    /// with the embedded backend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<crate::telemetry::local::LocalConfig>,
}

impl LogsConfig {
    /// Whether events are written to stdout.
    pub fn to_stdout(&self) -> bool {
        self.stdout.unwrap_or(self.elasticsearch.is_none())
    }

    /// Problems with the section as `(dotted key, reason)` pairs.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .local
            .iter()
            .flat_map(crate::telemetry::local::LocalConfig::problems)
            .map(|(key, reason)| (format!("logs.local.{key}"), reason))
            .collect();
        out.extend(self.output_problems());
        out
    }

    fn output_problems(&self) -> Vec<(String, String)> {
        let Some(es) = &self.elasticsearch else {
            if self.stdout == Some(false) {
                return vec![(
                    "logs.stdout".to_owned(),
                    "false without [logs.elasticsearch] would discard every event".to_owned(),
                )];
            }
            return Vec::new();
        };
        es.problems()
            .into_iter()
            .map(|(key, reason)| {
                let key = if key.is_empty() {
                    "logs.elasticsearch".to_owned()
                } else {
                    format!("logs.elasticsearch.{key}")
                };
                (key, reason)
            })
            .collect()
    }
}

/// Settings of the Elasticsearch log sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElasticsearchConfig {
    /// The Elasticsearch URL (`http://host:9200` or `https://...`). Required.
    pub url: String,
    /// The data stream events are written to. Names matching `logs-ferry-*` use the
    /// `ferry-logs` index template from `deploy/elasticsearch/`; any other name gets a
    /// template of its own, `ferry-logs-<name>`.
    #[serde(default = "default_data_stream")]
    pub data_stream: String,
    /// Install the component and index templates at start-up (idempotent: skipped when the
    /// installed template has the same version). Turn off when the templates are managed
    /// elsewhere; `ferry logs setup` installs them by hand.
    #[serde(default = "default_true")]
    pub setup: bool,
    /// The directory of the disk spool: every event is appended here first and removed once
    /// Elasticsearch has it. Created if missing; one ferry process per directory.
    #[serde(default = "default_spool_dir")]
    pub spool_dir: PathBuf,
    /// The most bytes the spool may hold. Beyond it the oldest events are dropped, counted
    /// (`ferry_log_events_dropped_total`) and reported in a `logs.spool_dropped` event.
    #[serde(default = "default_spool_max_bytes")]
    pub spool_max_bytes: u64,
    /// The most events in one bulk request.
    #[serde(default = "default_batch_max_events")]
    pub batch_max_events: usize,
    /// The most bytes (request body) in one bulk request.
    #[serde(default = "default_batch_max_bytes")]
    pub batch_max_bytes: usize,
    /// The longest an event waits in the spool before a bulk request is sent for it (a
    /// request goes out earlier when a batch is full).
    #[serde(default = "default_flush_interval", with = "humantime_serde")]
    pub flush_interval: Duration,
    /// Documents Elasticsearch refuses (a mapping conflict, a malformed field) are appended
    /// here as JSON lines with the reason, and counted; they never block the others.
    #[serde(default = "default_reject_file")]
    pub reject_file: PathBuf,
    /// Backoff between failed bulk requests (connection errors, 429, 5xx).
    #[serde(default = "default_retry")]
    pub retry: Backoff,
    /// Timeout of one request to Elasticsearch.
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// On shutdown, how long ferry keeps shipping before it exits and leaves what is left
    /// in the spool for the next start.
    #[serde(default = "default_shutdown_timeout", with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// An API key (the base64 `id:key` form Kibana shows as "encoded"), if the cluster
    /// needs one. Prefer the `FERRY_LOGS__ELASTICSEARCH__API_KEY` environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// A user for basic authentication, if the cluster needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password of `username`. Prefer `FERRY_LOGS__ELASTICSEARCH__PASSWORD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

fn default_data_stream() -> String {
    "logs-ferry-default".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_spool_dir() -> PathBuf {
    PathBuf::from("ferry-log-spool")
}

fn default_spool_max_bytes() -> u64 {
    256 * 1024 * 1024
}

fn default_batch_max_events() -> usize {
    1000
}

fn default_batch_max_bytes() -> usize {
    5 * 1024 * 1024
}

fn default_flush_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_reject_file() -> PathBuf {
    PathBuf::from("ferry-log-rejects.ndjson")
}

fn default_retry() -> Backoff {
    Backoff::new(Duration::from_millis(200), Duration::from_secs(10)).unwrap_or_default()
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(10)
}

/// The smallest spool budget accepted.
pub const MIN_SPOOL_BYTES: u64 = 16 * 1024;

/// Whether `name` is a valid data stream name (lowercase, no spaces or `\/*?"<>|,#:`, not
/// starting with `-`, `_`, `+` or `.`, at most 255 bytes).
pub fn is_valid_data_stream(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['-', '_', '+', '.'])
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| !c.is_uppercase() && !c.is_whitespace() && !"\\/*?\"<>|,#:".contains(c))
}

impl ElasticsearchConfig {
    /// A config for `url` with every other field at its default.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            data_stream: default_data_stream(),
            setup: true,
            spool_dir: default_spool_dir(),
            spool_max_bytes: default_spool_max_bytes(),
            batch_max_events: default_batch_max_events(),
            batch_max_bytes: default_batch_max_bytes(),
            flush_interval: default_flush_interval(),
            reject_file: default_reject_file(),
            retry: default_retry(),
            request_timeout: default_request_timeout(),
            shutdown_timeout: default_shutdown_timeout(),
            api_key: None,
            username: None,
            password: None,
        }
    }

    /// Problems with these settings as `(key under logs.elasticsearch, reason)` pairs.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |key: &str, reason: String| out.push((key.to_owned(), reason));
        if !cfg!(feature = "elasticsearch") {
            bad(
                "",
                "this ferry was built without the `elasticsearch` feature (cargo build --features elasticsearch)".into(),
            );
        }
        let url = self.url.as_str();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bad(
                "url",
                format!("`{url}` must start with http:// or https:// (e.g. http://127.0.0.1:9200)"),
            );
        } else if url.parse::<tonic::transport::Uri>().is_err() {
            bad("url", format!("`{url}` is not a valid URL"));
        }
        if !is_valid_data_stream(&self.data_stream) {
            bad(
                "data_stream",
                format!(
                    "`{}` is not a valid data stream name (lowercase; no spaces or \\/*?\"<>|,#:; not starting with -_+.)",
                    self.data_stream
                ),
            );
        }
        if self.spool_dir.as_os_str().is_empty() {
            bad("spool_dir", "must not be empty".into());
        }
        if self.spool_max_bytes < MIN_SPOOL_BYTES {
            bad(
                "spool_max_bytes",
                format!(
                    "{} is below the minimum of {MIN_SPOOL_BYTES}",
                    self.spool_max_bytes
                ),
            );
        }
        if self.batch_max_events == 0 {
            bad("batch_max_events", "must be at least 1".into());
        }
        if self.batch_max_bytes < 1024 || self.batch_max_bytes > 100 * 1024 * 1024 {
            bad(
                "batch_max_bytes",
                format!(
                    "{} must be between 1024 and 104857600 (Elasticsearch's default http.max_content_length)",
                    self.batch_max_bytes
                ),
            );
        }
        if self.flush_interval.is_zero() {
            bad("flush_interval", "must be greater than zero".into());
        }
        if self.request_timeout.is_zero() {
            bad("request_timeout", "must be greater than zero".into());
        }
        if self.reject_file.as_os_str().is_empty() {
            bad("reject_file", "must not be empty".into());
        }
        if self.password.is_some() && self.username.is_none() {
            bad("password", "is set but username is not".into());
        }
        if self.api_key.is_some() && self.username.is_some() {
            bad(
                "api_key",
                "set either api_key or username/password, not both".into(),
            );
        }
        out
    }
}
