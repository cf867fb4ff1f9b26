//! [`LocalConsole`]: the console a `ferry run` on the embedded queue serves for itself on
//! its admin port (page at `/`, API at `/api/v1/`), so one process shows it with no second
//! one. Its heartbeats go in-process; its state file sits beside the queue file
//! (`<queue>.console.db`); its token is `[console] token` when set (else it answers on a
//! loopback address only, as `ferry console` does without a token).

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::{
    Console, Settings, api, fleet::Fleet, queues::Backends, store::Store, story::StorySource,
};
use crate::{
    backend::{Backend, BackendConfig},
    bounded::Count,
    config::FerryConfig,
    control::{
        ConsoleClient, backend_ref,
        wire::{Heartbeat, HeartbeatReply},
    },
};

/// A console of one ferry, in its process.
#[derive(Clone)]
pub struct LocalConsole {
    console: Arc<Console>,
}

/// Whether `config` asks for a console of its own: `[console] local`, else yes on the
/// embedded backend with no `[console] url` and the admin endpoint on a loopback address.
pub fn wanted(config: &FerryConfig) -> bool {
    config.console.local.unwrap_or_else(|| {
        matches!(config.backend, BackendConfig::Embedded(_))
            && config.console.url.is_none()
            && config.admin.enabled
            && config.admin.listen.ip().is_loopback()
    })
}

impl LocalConsole {
    /// The console of the ferry of `config`, reading `backend`.
    pub async fn open(config: &FerryConfig, backend: Arc<dyn Backend>) -> Result<Self, String> {
        let state = match &config.backend {
            BackendConfig::Embedded(e) => e.path.with_extension("console.db"),
            #[allow(unreachable_patterns)]
            _ => std::path::PathBuf::from("ferry.console.db"),
        };
        let store = Store::open(&state)?;
        let backends = Backends::single(backend.kind(), backend_ref(&config.backend), backend);
        let story = match (&config.logs.elasticsearch, config.local_logs()) {
            #[cfg(feature = "embedded")]
            (None, Some(local)) => StorySource::Local(local.path),
            _ => StorySource::new(config.logs.elasticsearch.as_ref())?,
        };
        let settings = Settings {
            token: config.console.token.clone(),
            sidecar_token: None,
            read_only: false,
            max_realms: config.metrics.max_realms.usize(),
            max_heartbeat_bytes: 4 * 1024 * 1024,
            retention: std::time::Duration::from_secs(7 * 24 * 3600),
            queue_refresh: std::time::Duration::from_secs(2),
        };
        let fleet = Fleet::new(
            Count::of(16),
            Count::of(3),
            std::time::Duration::from_secs(600),
        );
        let console = Console::new(settings, fleet, store, backends, story).await?;
        Ok(Self {
            console: Arc::new(console),
        })
    }

    /// The page and the API, to merge into the admin endpoint.
    pub fn router(&self) -> axum::Router {
        api::router(self.console.clone())
    }

    /// Where this ferry's heartbeats go.
    pub fn client(&self) -> Arc<dyn ConsoleClient> {
        Arc::new(InProcess(self.console.clone()))
    }

    /// Runs the console's background tasks until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        self.console.run_tasks(stop).await;
    }
}

struct InProcess(Arc<Console>);

#[async_trait]
impl ConsoleClient for InProcess {
    async fn beat(&self, beat: &Heartbeat) -> Result<HeartbeatReply, String> {
        self.0
            .heartbeat(beat.clone())
            .map_err(|e| format!("the console refused the heartbeat: {e:?}"))
    }
}
