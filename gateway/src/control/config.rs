//! `[console]` in `ferry.toml`: where the console is, the token the sidecar sends, how often
//! it beats, and whether this ferry serves a console for itself on its admin port.

use serde::{Deserialize, Serialize};

use crate::bounded::Span;

/// How often a sidecar beats: 100 ms to 5 min.
pub type BeatInterval = Span<100, 300_000>;
/// How long a paused realm's message is handed back for: 0 to 12 h.
pub type PausedRealmDelay = Span<0, 43_200_000>;

/// `[console]`: the console this sidecar reports to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleLink {
    /// The console's address (`http://host:port`); unset, the sidecar reports to no
    /// console. The sidecar only makes outbound requests: it needs no inbound port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The token the console expects on heartbeats (`sidecar_token` in `console.toml`);
    /// best set from the environment: `FERRY_CONSOLE__TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// How often the sidecar sends a heartbeat (and so how fast a control takes effect).
    #[serde(default = "default_heartbeat_interval")]
    pub heartbeat_interval: BeatInterval,
    /// How long a message of a realm the console paused is handed back for (uncounted).
    #[serde(default = "default_paused_realm_delay")]
    pub paused_realm_delay: PausedRealmDelay,
    /// Serve the console for this ferry alone on the admin port (page at `/`, API at
    /// `/api/v1/`). Unset: yes on the embedded backend with no `url`, when the admin
    /// endpoint listens on a loopback address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<bool>,
}

fn default_heartbeat_interval() -> BeatInterval {
    Span::secs(5)
}

fn default_paused_realm_delay() -> PausedRealmDelay {
    Span::secs(5)
}

impl Default for ConsoleLink {
    fn default() -> Self {
        Self {
            url: None,
            token: None,
            heartbeat_interval: default_heartbeat_interval(),
            paused_realm_delay: default_paused_realm_delay(),
            local: None,
        }
    }
}

impl ConsoleLink {
    /// Problems with the settings, as `(key under console, reason)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(url) = &self.url {
            let ok = url
                .strip_prefix("http://")
                .is_some_and(|rest| !rest.is_empty() && url.parse::<http::Uri>().is_ok());
            if !ok {
                out.push((
                    "url",
                    format!("`{url}` must be an http:// address, like http://ferry-console:9470"),
                ));
            }
        }
        if self.token.as_deref().is_some_and(str::is_empty) {
            out.push(("token", "must not be empty (leave it out instead)".into()));
        }
        out
    }
}
