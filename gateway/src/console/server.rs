//! `ferry console --config console.toml`: opens the state file and the backends, binds the
//! listener, serves the page and the API, runs the background tasks (rollups, queue
//! counts), and stops on SIGTERM / SIGINT after writing the counts it holds.

use std::{net::SocketAddr, path::Path, sync::Arc};

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use super::{
    Console, ConsoleConfig, Settings, api, fleet::Fleet, queues::Backends, store::Store,
    story::StorySource,
};

/// The console of `config`, ready to serve.
pub async fn build(config: &ConsoleConfig) -> anyhow::Result<Arc<Console>> {
    let store = Store::open(&config.state).map_err(anyhow::Error::msg)?;
    let backends = Backends::open(&config.backends)
        .await
        .map_err(anyhow::Error::msg)?;
    let story = StorySource::new(config.elasticsearch.as_ref()).map_err(anyhow::Error::msg)?;
    let settings = Settings {
        token: config.token.clone(),
        sidecar_token: config.sidecar_token().map(str::to_owned),
        read_only: config.read_only,
        max_realms: config.max_realms.usize(),
        max_heartbeat_bytes: config.max_heartbeat_bytes.usize(),
        retention: config.retention.get(),
        queue_refresh: config.queue_refresh.get(),
    };
    let fleet = Fleet::new(
        config.max_sidecars,
        config.stale_after,
        config.forget_after.get(),
    );
    let console = Console::new(settings, fleet, store, backends, story)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(Arc::new(console))
}

/// Serves `console` on `listener` until `stop`.
pub async fn serve(
    console: Arc<Console>,
    listener: tokio::net::TcpListener,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    // The probes' endpoint (no token); not in the router a ferry merges into its own admin
    // endpoint, which has a /healthz of its own.
    let app =
        api::router(console.clone()).route("/healthz", axum::routing::get(|| async { "ok\n" }));
    let tasks = {
        let (c, s) = (console.clone(), stop.clone());
        tokio::spawn(async move { c.run_tasks(s).await })
    };
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let stop = stop.clone();
        async move { stop.cancelled().await }
    })
    .await;
    stop.cancel();
    let _ = tasks.await;
    served.context("the console server failed")
}

/// Runs `ferry console` with the config at `path`.
pub async fn run(path: &Path) -> anyhow::Result<()> {
    let config = super::config::load(path).map_err(anyhow::Error::msg)?;
    let console = build(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen: cannot bind {}", config.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "ferry console: http://{addr}/ ({} backend(s), state {}{})",
        config.backends.len(),
        config.state.display(),
        if config.read_only { ", read-only" } else { "" }
    );
    let stop = CancellationToken::new();
    let signal = {
        let stop = stop.clone();
        tokio::spawn(async move {
            crate::shutdown::signal().await;
            stop.cancel();
        })
    };
    let served = serve(console, listener, stop).await;
    signal.abort();
    served
}
