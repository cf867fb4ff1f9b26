//! The admin HTTP endpoint (127.0.0.1 by default): `/healthz` (the process is up),
//! `/readyz` (ferry is not draining, the worker is serving where there is one, and the
//! backend takes the ingress's publishes where there is an ingress: 200, else 503 with the
//! reason) and `/metrics` (Prometheus: OpenMetrics or the classic text format, as the
//! scraper's `Accept` asks, see [`exposition`]); on a ferry that serves its own console
//! (`crate::console::local`), also the console's page and API.

pub mod exposition;

use std::sync::Arc;

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{ingress::PublishHealth, telemetry::Metrics, worker::HealthWatch};

/// What the endpoint reads.
#[derive(Clone)]
pub struct AdminState {
    /// Metrics to serve.
    pub metrics: Arc<Metrics>,
    /// The worker's health.
    pub health: HealthWatch,
    /// Cancelled once draining starts.
    pub stopping: CancellationToken,
    /// Whether there is a worker to be ready for (false for a publish-only ferry).
    pub needs_worker: bool,
    /// The webhook ingress's view of the backend, if there is an ingress.
    pub publish: Option<PublishHealth>,
    /// The console this ferry serves for itself (page at `/`, API at `/api/v1/`), if any.
    pub console: Option<Router>,
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<AdminState>) -> impl IntoResponse {
    if s.stopping.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n".to_owned());
    }
    if s.needs_worker && !s.health.is_serving() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "worker not serving\n".to_owned(),
        );
    }
    if let Some(Err(e)) = s.publish.as_ref().map(PublishHealth::ready) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("backend refuses publishes: {e}\n"),
        );
    }
    (StatusCode::OK, "ready\n".to_owned())
}

async fn metrics(State(s): State<AdminState>, headers: axum::http::HeaderMap) -> impl IntoResponse {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = exposition::Format::negotiate(accept);
    (
        [(header::CONTENT_TYPE, format.content_type())],
        format.render(s.metrics.encode()),
    )
}

/// Serves the endpoint on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let console = state.console.clone();
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    if let Some(console) = console {
        app = app.merge(console);
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { stop.cancelled().await })
    .await
}
