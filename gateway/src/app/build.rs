//! [`App::build`]: everything `ferry run` opens or checks before it starts — the log sink,
//! the backend and its preflight, the worker client and health watch, the webhook
//! ingress's routes, the bound listeners. Nothing runs yet; an error here names what failed and stops ferry.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::{
    backend::{self, Backend},
    config::{BackendConfig, FerryConfig},
    telemetry::{LogSink, Metrics, Origin, Telemetry, sink::StdoutSink},
    worker::{HealthWatch, WorkerClient},
};

/// A ferry ready to run: see [`App::run`](super::App::run).
pub struct App {
    pub(super) config: FerryConfig,
    pub(super) worker_command: Vec<String>,
    pub(super) telemetry: Telemetry,
    pub(super) backend: Arc<dyn Backend>,
    pub(super) worker: WorkerClient,
    pub(super) health: HealthWatch,
    pub(super) gateway: Option<TcpListener>,
    pub(super) admin: Option<TcpListener>,
    pub(super) ingress: Option<crate::ingress::Prepared>,
    /// The console this ferry serves for itself on its admin port, if it does.
    pub(super) console: Option<crate::console::local::LocalConsole>,
}

/// The telemetry `config` asks for: its metrics, the stdout or Elasticsearch sink (behind
/// the local log store when that is on), and the OTLP span exporter when `[tracing]` names
/// an endpoint (inside the tokio runtime).
pub fn telemetry_for(config: &FerryConfig) -> anyhow::Result<Telemetry> {
    let origin = Origin::new(&config.service, config.service_version.as_deref());
    let metrics = Arc::new(Metrics::with_max_realms(
        config.metrics.max_realms.non_zero(),
    ));
    let sink: Arc<dyn LogSink> = match &config.logs.elasticsearch {
        #[cfg(feature = "elasticsearch")]
        Some(es) => Arc::new(
            crate::telemetry::elasticsearch::ElasticsearchSink::start(
                es,
                origin.clone(),
                metrics.clone(),
                config.logs.to_stdout(),
            )
            .map_err(anyhow::Error::msg)?,
        ),
        _ => Arc::new(StdoutSink::new(origin.clone(), metrics.clone())),
    };
    #[cfg(feature = "embedded")]
    let sink: Arc<dyn LogSink> = match config.local_logs() {
        Some(store) => Arc::new(
            crate::telemetry::local::LocalSink::start(
                &store,
                sink,
                origin.clone(),
                metrics.clone(),
            )
            .map_err(|e| anyhow::anyhow!("logs.local.path: {e}"))?,
        ),
        None => sink,
    };
    let spans = crate::telemetry::otel::start(&config.tracing, &config.service, &origin.version)
        .map_err(anyhow::Error::msg)?;
    Ok(Telemetry::with(origin, metrics, sink).with_spans(spans))
}

async fn bind(
    enabled: bool,
    key: &str,
    addr: std::net::SocketAddr,
) -> anyhow::Result<Option<TcpListener>> {
    if !enabled {
        return Ok(None);
    }
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("{key}: cannot bind {addr}"))?;
    Ok(Some(listener))
}

impl App {
    /// Opens the backend (and runs its preflight: warnings on stderr, a finding that makes
    /// the config unusable is an error), provisions what it needs before the first receive
    /// (Pub/Sub's error subscriptions), prepares the worker client and binds the listeners.
    pub async fn build(
        config: FerryConfig,
        worker_command: Vec<String>,
        telemetry: Telemetry,
    ) -> anyhow::Result<Self> {
        let backend = backend::open(&config.backend)
            .await
            .context("opening the queue backend")?;
        if let Some(preflight) = backend.preflight() {
            let warnings = preflight
                .preflight(&config.queue_plans())
                .await
                .context("checking the queues")?;
            for warning in warnings {
                eprintln!("ferry: warning: {warning}");
            }
        }
        backend
            .provision(&config.queue_plans())
            .await
            .context("preparing the queues")?;
        let worker =
            WorkerClient::connect_lazy(&config.worker.address).map_err(anyhow::Error::msg)?;
        let health = HealthWatch::new(worker.channel(), telemetry.clone());
        let gateway = bind(
            config.gateway.enabled,
            "gateway.listen",
            config.gateway.listen,
        )
        .await?;
        let admin = bind(config.admin.enabled, "admin.listen", config.admin.listen).await?;
        let ingress = match &config.ingress {
            // The embedded queue de-duplicates by id in the publish's own commit and answers
            // a repeat with the original id; other backends need ferry's own record.
            Some(ic) => Some(
                crate::ingress::prepare(
                    ic,
                    &config.limits,
                    backend.clone(),
                    matches!(config.backend, BackendConfig::Embedded(_)),
                    telemetry.clone(),
                )
                .await?,
            ),
            None => None,
        };
        let console = if crate::console::local::wanted(&config) && admin.is_some() {
            let local = crate::console::local::LocalConsole::open(&config, backend.clone())
                .await
                .map_err(anyhow::Error::msg)
                .context("opening this ferry's console")?;
            Some(local)
        } else {
            None
        };
        Ok(Self {
            config,
            worker_command,
            telemetry,
            backend,
            worker,
            health,
            gateway,
            admin,
            ingress,
            console,
        })
    }
}
