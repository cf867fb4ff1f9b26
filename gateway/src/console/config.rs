//! `console.toml`, the config of `ferry console`: where it listens, its tokens, its state
//! file, how it judges sidecars stale, its bounds, the backends it reads queue state from
//! (`[backends.<name>]`, each the same table as `[backend]` in `ferry.toml`) and where
//! message stories come from (`[elasticsearch]`).
//!
//! The tokens can come from the environment instead of the file: `FERRY_CONSOLE_TOKEN`
//! and `FERRY_CONSOLE_SIDECAR_TOKEN`.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

use serde::{Deserialize, Serialize};

use crate::{
    backend::BackendConfig,
    bounded::{Count, Span},
    config::is_valid_name,
    telemetry::elasticsearch::ElasticsearchConfig,
};

/// The most sidecars tracked (`max_sidecars`).
pub type MaxSidecars = Count<1, 100_000>;
/// Beats missed before a sidecar is stale (`stale_after`).
pub type StaleAfter = Count<1, 100>;

/// The whole `console.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Listen address of the page, the API and the heartbeats (127.0.0.1 by default; any
    /// other address needs a token).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The operators' token: every API call needs it (`Authorization: Bearer ...`); unset,
    /// the console listens on loopback only and asks for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The token sidecars send with heartbeats (`[console] token` in `ferry.toml`);
    /// defaults to `token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar_token: Option<String>,
    /// Refuse every change (403): pause, limits, dead letters, publish.
    #[serde(default)]
    pub read_only: bool,
    /// The console's SQLite file: rollups, controls, audit log (created if missing).
    #[serde(default = "default_state")]
    pub state: PathBuf,
    /// How long per-minute rollups are kept.
    #[serde(default = "default_retention")]
    pub retention: Span<60_000, 31_536_000_000>,
    /// A sidecar that missed this many heartbeats in a row is stale: it shows as such and
    /// no longer counts when limits are divided.
    #[serde(default = "default_stale_after")]
    pub stale_after: StaleAfter,
    /// A stale sidecar is forgotten after this long.
    #[serde(default = "default_forget_after")]
    pub forget_after: Span<1_000, 604_800_000>,
    /// The most sidecars tracked; heartbeats of more are refused (503) and counted.
    #[serde(default = "default_max_sidecars")]
    pub max_sidecars: MaxSidecars,
    /// The most realms per subscription with rows of their own; the rest count as `_other`.
    #[serde(default = "default_max_realms")]
    pub max_realms: Count<1, 10_000>,
    /// The largest heartbeat body accepted (413 beyond).
    #[serde(default = "default_max_heartbeat_bytes")]
    pub max_heartbeat_bytes: Count<1_024, 67_108_864>,
    /// How often queue counts are read from the backends.
    #[serde(default = "default_queue_refresh")]
    pub queue_refresh: Span<100, 3_600_000>,
    /// The backends queue state is read from, by name. A sidecar is matched with the
    /// backend of the same kind and place (the embedded file's path, the SQS endpoint or
    /// region, the Pub/Sub project).
    #[serde(default)]
    pub backends: BTreeMap<String, BackendConfig>,
    /// Where the Message page reads a message's story (the log events of `ferry logs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elasticsearch: Option<ElasticsearchConfig>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9470))
}

fn default_state() -> PathBuf {
    PathBuf::from("console.db")
}

fn default_retention() -> Span<60_000, 31_536_000_000> {
    Span::secs(7 * 24 * 3600)
}

fn default_stale_after() -> StaleAfter {
    Count::of(3)
}

fn default_forget_after() -> Span<1_000, 604_800_000> {
    Span::secs(600)
}

fn default_max_sidecars() -> MaxSidecars {
    Count::of(2_000)
}

fn default_max_realms() -> Count<1, 10_000> {
    Count::of(100)
}

fn default_max_heartbeat_bytes() -> Count<1_024, 67_108_864> {
    Count::of(4 * 1024 * 1024)
}

fn default_queue_refresh() -> Span<100, 3_600_000> {
    Span::secs(5)
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            token: None,
            sidecar_token: None,
            read_only: false,
            state: default_state(),
            retention: default_retention(),
            stale_after: default_stale_after(),
            forget_after: default_forget_after(),
            max_sidecars: default_max_sidecars(),
            max_realms: default_max_realms(),
            max_heartbeat_bytes: default_max_heartbeat_bytes(),
            queue_refresh: default_queue_refresh(),
            backends: BTreeMap::new(),
            elasticsearch: None,
        }
    }
}

impl ConsoleConfig {
    /// Every problem as `(key, reason)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.token.is_none() && !self.listen.ip().is_loopback() {
            out.push((
                "listen".to_owned(),
                format!(
                    "{} is not a loopback address: set a token (or FERRY_CONSOLE_TOKEN) first",
                    self.listen
                ),
            ));
        }
        for (key, value) in [
            ("token", &self.token),
            ("sidecar_token", &self.sidecar_token),
        ] {
            if value.as_deref().is_some_and(|t| t.len() < 16) {
                out.push((key.to_owned(), "must be at least 16 characters".to_owned()));
            }
        }
        for (name, backend) in &self.backends {
            if !is_valid_name(name) {
                out.push((
                    format!("backends.{name}"),
                    "the name must be 1-64 letters, digits, '_' or '-'".to_owned(),
                ));
            }
            for (key, reason) in backend.problems() {
                let key = key.strip_prefix("backend.").unwrap_or(&key).to_owned();
                out.push((format!("backends.{name}.{key}"), reason));
            }
        }
        if let Some(es) = &self.elasticsearch {
            for (key, reason) in es.problems() {
                out.push((format!("elasticsearch.{key}"), reason));
            }
        }
        out
    }

    /// The config with its secrets (the tokens, Elasticsearch credentials) replaced by
    /// `<redacted>`, for printing.
    pub fn redacted(&self) -> Self {
        let mut copy = self.clone();
        for secret in [&mut copy.token, &mut copy.sidecar_token] {
            if secret.is_some() {
                *secret = Some("<redacted>".to_owned());
            }
        }
        if let Some(es) = copy.elasticsearch.as_mut() {
            for secret in [&mut es.api_key, &mut es.password] {
                if secret.is_some() {
                    *secret = Some("<redacted>".to_owned());
                }
            }
        }
        copy
    }

    /// The token sidecars must send, if any.
    pub fn sidecar_token(&self) -> Option<&str> {
        self.sidecar_token.as_deref().or(self.token.as_deref())
    }
}

/// Reads `console.toml` at `path` (tokens from the environment win), or says what is wrong:
/// the file, each bad key and why.
pub fn load(path: &std::path::Path) -> Result<ConsoleConfig, String> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{source}: cannot read the file: {e}"))?;
    let mut config: ConsoleConfig =
        toml::from_str(&text).map_err(|e| format!("{source}: {}", e.to_string().trim()))?;
    for (var, slot) in [
        ("FERRY_CONSOLE_TOKEN", &mut config.token),
        ("FERRY_CONSOLE_SIDECAR_TOKEN", &mut config.sidecar_token),
    ] {
        if let Ok(value) = std::env::var(var)
            && !value.is_empty()
        {
            *slot = Some(value);
        }
    }
    let problems = config.problems();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems
            .into_iter()
            .map(|(key, reason)| format!("{source}: {key}: {reason}"))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}
