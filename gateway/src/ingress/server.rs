//! Start-up and serving: [`prepare`] makes every route ready (secrets read, schemas
//! compiled), opens ferry's own de-duplication record where the backend needs it and
//! binds the listener, so that a bad route stops ferry before anything runs; [`serve`]
//! answers requests until the stop signal, then lets the requests in flight finish, and
//! probes a refusing backend meanwhile.

use std::{path::Path, sync::Arc, time::Instant};

use anyhow::Context as _;
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;

use super::{
    config::IngressConfig,
    dedup::{DedupRecord, KeyLocks},
    handler::{Ingress, handle},
    readiness::PublishHealth,
    route::Route,
};
use crate::{backend::Backend, config::LimitsConfig, telemetry::Telemetry};

/// An ingress ready to serve.
pub struct Prepared {
    listener: TcpListener,
    ingress: Arc<Ingress>,
    probe_queue: Option<String>,
}

/// Makes the ingress of `config` ready on `backend`. `backend_dedups`: the backend
/// de-duplicates by id itself and answers a repeat with the original id (the embedded
/// queue), so ferry keeps no record of its own.
pub async fn prepare(
    config: &IngressConfig,
    limits: &LimitsConfig,
    backend: Arc<dyn Backend>,
    backend_dedups: bool,
    telemetry: Telemetry,
) -> anyhow::Result<Prepared> {
    let mut routes = Vec::with_capacity(config.routes.len());
    let mut router = matchit::Router::new();
    for (name, rc) in &config.routes {
        let route = Route::build(name, rc)
            .map_err(|(field, e)| anyhow::anyhow!("ingress.routes.{name}.{field}: {e}"))?;
        router
            .insert(rc.path.clone(), routes.len())
            .map_err(|e| anyhow::anyhow!("ingress.routes.{name}.path: {e}"))?;
        routes.push(route);
    }
    let wants_record = !backend_dedups && config.routes.values().any(|r| r.dedup_id.is_some());
    let dedup = if wants_record {
        let d = &config.dedup;
        Some(
            DedupRecord::open(Path::new(&d.path), d.window.get(), d.max_entries.get())
                .map_err(anyhow::Error::msg)
                .context("ingress.dedup.path")?,
        )
    } else {
        None
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("ingress.listen: cannot bind {}", config.listen))?;
    let has_stats = backend.stats().is_some();
    let probe_queue = has_stats
        .then(|| routes.first().map(|r| r.queue.clone()))
        .flatten();
    let retry_after = config.retry_after.get();
    let ingress = Ingress {
        routes,
        router,
        backend,
        telemetry,
        limits: limits.clone(),
        health: PublishHealth::new(config.probe_interval.get()),
        requests_probe: !has_stats,
        dedup,
        locks: KeyLocks::default(),
        permits: Arc::new(Semaphore::new(config.max_in_flight.usize())),
        retry_after: retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0),
        publish_timeout: config.publish_timeout.get(),
        body_timeout: config.body_timeout.get(),
    };
    Ok(Prepared {
        listener,
        ingress: Arc::new(ingress),
        probe_queue,
    })
}

impl Prepared {
    /// The bound address.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// The backend's publish health (for `/readyz`).
    pub fn health(&self) -> PublishHealth {
        self.ingress.health.clone()
    }
}

/// Serves until `stop`; requests in flight then finish.
pub async fn serve(prepared: Prepared, stop: CancellationToken) -> std::io::Result<()> {
    let Prepared {
        listener,
        ingress,
        probe_queue,
    } = prepared;
    if let Some(queue) = probe_queue {
        tokio::spawn(probe(ingress.clone(), queue, stop.clone()));
    }
    let app = axum::Router::new().fallback(handle).with_state(ingress);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}

/// While the backend refuses publishes, asks it for the statistics of `queue` every probe
/// interval; an answer makes the ingress ready again.
async fn probe(ingress: Arc<Ingress>, queue: String, stop: CancellationToken) {
    let health = &ingress.health;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(health.probe_interval()) => {}
        }
        if health.ready().is_ok() {
            continue;
        }
        let Some(stats) = ingress.backend.stats() else {
            return;
        };
        let asked = tokio::time::timeout(
            ingress.publish_timeout,
            // The route's queue stands for its error queue too: it may have none.
            stats.stats(&queue, &queue),
        )
        .await;
        match asked {
            Ok(Ok(_)) => health.succeeded(),
            Ok(Err(e)) => health.failed(Instant::now(), e.to_string()),
            Err(_) => health.failed(Instant::now(), "the probe got no answer".into()),
        }
    }
}
