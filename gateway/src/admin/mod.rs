//! The admin HTTP endpoint (127.0.0.1 by default): `/healthz` (the process is up),
//! `/readyz` (the worker is serving and ferry is not draining: 200, else 503 with the
//! reason) and `/metrics` (Prometheus text format); on a ferry that serves its own
//! console (`crate::console::local`), also the console's page and API.

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

use crate::{telemetry::Metrics, worker::HealthWatch};

/// What the endpoint reads.
#[derive(Clone)]
pub struct AdminState {
    /// Metrics to serve.
    pub metrics: Arc<Metrics>,
    /// The worker's health.
    pub health: HealthWatch,
    /// Cancelled once draining starts.
    pub stopping: CancellationToken,
    /// The console this ferry serves for itself (page at `/`, API at `/api/v1/`), if any.
    pub console: Option<Router>,
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<AdminState>) -> impl IntoResponse {
    if s.stopping.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n")
    } else if !s.health.is_serving() {
        (StatusCode::SERVICE_UNAVAILABLE, "worker not serving\n")
    } else {
        (StatusCode::OK, "ready\n")
    }
}

async fn metrics(State(s): State<AdminState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
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
