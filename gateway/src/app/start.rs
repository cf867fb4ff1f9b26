//! The parts [`App::run`](super::App::run) starts, one function each: the gateway, ingress
//! and admin servers (into one [`JoinSet`] whose first ending stops ferry), the supervised
//! child worker, the worker's health watch and one poller per subscription.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use ferry_proto::v1::gateway_service_server::GatewayServiceServer;
use tokio::{net::TcpListener, task::JoinHandle, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{
    admin::{self, AdminState},
    backend::Backend,
    config::FerryConfig,
    control::Controls,
    dispatch::{SubscriptionContext, run_subscription},
    gateway_api::GatewayApi,
    retry::Backoff,
    shutdown::Shutdown,
    telemetry::Telemetry,
    worker::{HealthWatch, StartError, Supervisor, WorkerClient},
};

/// The most bytes of one gateway request (a publish of many messages).
const MAX_GATEWAY_REQUEST: usize = 64 * 1024 * 1024;

/// A server that ended: its name, and why.
pub(super) type Served = (&'static str, Result<(), String>);

/// The supervised child worker; ends early only when its command cannot start at all.
pub(super) type Child = JoinHandle<Result<(), StartError>>;

/// Starts the gateway (`GatewayService`) on `listener`; returns where it listens.
pub(super) fn gateway(
    listener: TcpListener,
    config: &FerryConfig,
    backend: &Arc<dyn Backend>,
    telemetry: &Telemetry,
    stop: CancellationToken,
    servers: &mut JoinSet<Served>,
) -> SocketAddr {
    let addr = local(&listener);
    let realm_attribute = config
        .subscriptions
        .values()
        .next()
        .map_or_else(|| "realm".to_owned(), |s| s.realm_attribute.clone());
    let api = GatewayApi {
        backend: backend.clone(),
        telemetry: telemetry.clone(),
        limits: config.limits.clone(),
        realm_attribute,
    };
    servers.spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let served = tonic::transport::Server::builder()
            .add_service(
                GatewayServiceServer::new(api).max_decoding_message_size(MAX_GATEWAY_REQUEST),
            )
            .serve_with_incoming_shutdown(incoming, stop.cancelled())
            .await;
        ("gateway", served.map_err(|e| e.to_string()))
    });
    addr
}

/// Starts the webhook ingress; returns where it listens.
pub(super) fn ingress(
    prepared: crate::ingress::Prepared,
    stop: CancellationToken,
    servers: &mut JoinSet<Served>,
) -> Option<SocketAddr> {
    let addr = prepared.local_addr();
    servers.spawn(async move {
        let served = crate::ingress::serve(prepared, stop).await;
        ("ingress", served.map_err(|e| e.to_string()))
    });
    addr
}

/// Starts the admin server (health, metrics, the local console); returns where it listens.
pub(super) fn admin(
    listener: TcpListener,
    state: AdminState,
    stop: CancellationToken,
    servers: &mut JoinSet<Served>,
) -> SocketAddr {
    let addr = local(&listener);
    servers.spawn(async move {
        let served = admin::serve(listener, state, stop).await;
        ("admin", served.map_err(|e| e.to_string()))
    });
    addr
}

/// Starts and supervises the worker command given after `ferry run --`, if any, telling
/// it where to listen and where the gateway is.
pub(super) fn child(
    config: &FerryConfig,
    command: Vec<String>,
    gateway: Option<SocketAddr>,
    telemetry: &Telemetry,
    stop: CancellationToken,
) -> Option<Child> {
    if command.is_empty() {
        return None;
    }
    let mut env = vec![(
        "FERRY_WORKER_ADDR".to_owned(),
        host_port(&config.worker.address),
    )];
    if let Some(addr) = gateway {
        env.push(("FERRY_GATEWAY_ADDR".to_owned(), format!("http://{addr}")));
    }
    let supervisor = Supervisor {
        command,
        env,
        backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(30))
            .unwrap_or_default(),
        stop_timeout: config.worker.stop_timeout.get(),
        telemetry: telemetry.clone(),
    };
    Some(tokio::spawn(supervisor.run(stop)))
}

/// Watches the worker's health every `worker.health_interval`, when there is a worker.
pub(super) fn health_watch(
    config: &FerryConfig,
    health: &HealthWatch,
    needs_worker: bool,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let health = health.clone();
    let interval = config.worker.health_interval.get();
    tokio::spawn(async move {
        if needs_worker {
            health.run(interval, stop).await;
        }
    })
}

/// Starts one poller per subscription; returns them and their contexts (for the console
/// reporter).
pub(super) fn subscriptions(
    config: &FerryConfig,
    controls: Option<&Controls>,
    backend: &Arc<dyn Backend>,
    worker: &WorkerClient,
    health: &HealthWatch,
    telemetry: &Telemetry,
    shutdown: &Shutdown,
) -> (JoinSet<()>, Vec<SubscriptionContext>) {
    let mut pollers = JoinSet::new();
    let mut contexts = Vec::new();
    for (name, sub) in &config.subscriptions {
        telemetry.metrics().register_subscription(name);
        let ctx = SubscriptionContext::new(
            name,
            sub.clone(),
            config.limits.clone(),
            backend.clone(),
            worker.clone(),
            health.clone(),
            telemetry.clone(),
            shutdown.clone(),
        );
        let ctx = match controls {
            Some(c) => ctx.with_controls(c.applied(name)),
            None => ctx,
        };
        contexts.push(ctx.clone());
        pollers.spawn(run_subscription(ctx));
    }
    (pollers, contexts)
}

fn local(listener: &TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
}

/// The `host:port` of an `http://host:port` address (what the child listens on).
fn host_port(address: &str) -> String {
    address
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned()
}
