//! [`App::run`]: starts what [`App::build`](super::App::build) prepared, waits for the stop
//! signal — or for a server or the child worker to fail, which stops ferry with that error
//! after the same drain — and drains.

use std::{net::SocketAddr, time::Duration};

use ferry_proto::v1::gateway_service_server::GatewayServiceServer;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

use super::App;
use crate::{
    admin::{self, AdminState},
    dispatch::{SubscriptionContext, run_subscription},
    gateway_api::GatewayApi,
    retry::Backoff,
    shutdown::Shutdown,
    telemetry::events,
    worker::{StartError, Supervisor},
};

/// The most bytes of one gateway request (a publish of many messages).
const MAX_GATEWAY_REQUEST: usize = 64 * 1024 * 1024;

/// A server that ended, with why.
type Served = (&'static str, Result<(), String>);

impl App {
    /// Runs until `stop_signal` (or a failure), then drains. An error is what stopped
    /// ferry other than the signal.
    pub async fn run(
        self,
        stop_signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let Self {
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
        } = self;
        let shutdown = Shutdown::default();
        let servers_stop = CancellationToken::new();
        let child_stop = CancellationToken::new();
        let mut servers: JoinSet<Served> = JoinSet::new();

        let gateway_addr = gateway.map(|listener| {
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
            servers.spawn(serve_gateway(listener, api, servers_stop.clone()));
            addr
        });
        // A publish-only ferry (an ingress, no subscriptions, no child) has no worker.
        let needs_worker = !config.subscriptions.is_empty() || !worker_command.is_empty();
        let publish_health = ingress.as_ref().map(crate::ingress::Prepared::health);
        let ingress_addr = ingress.and_then(|prepared| {
            let addr = prepared.local_addr();
            let stop = servers_stop.clone();
            servers.spawn(async move {
                let served = crate::ingress::serve(prepared, stop).await;
                ("ingress", served.map_err(|e| e.to_string()))
            });
            addr
        });
        let admin_addr = admin.map(|listener| {
            let addr = local(&listener);
            let state = AdminState {
                metrics: telemetry.metrics().clone(),
                health: health.clone(),
                stopping: shutdown.stopping.clone(),
                needs_worker,
                publish: publish_health.clone(),
                console: console
                    .as_ref()
                    .map(crate::console::local::LocalConsole::router),
            };
            let stop = servers_stop.clone();
            servers.spawn(async move {
                let served = admin::serve(listener, state, stop).await;
                ("admin", served.map_err(|e| e.to_string()))
            });
            addr
        });

        let mut child = (!worker_command.is_empty()).then(|| {
            let mut env = vec![(
                "FERRY_WORKER_ADDR".to_owned(),
                host_port(&config.worker.address),
            )];
            if let Some(addr) = gateway_addr {
                env.push(("FERRY_GATEWAY_ADDR".to_owned(), format!("http://{addr}")));
            }
            let supervisor = Supervisor {
                command: worker_command,
                env,
                backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(30))
                    .unwrap_or_default(),
                stop_timeout: config.worker.stop_timeout.get(),
                telemetry: telemetry.clone(),
            };
            tokio::spawn(supervisor.run(child_stop.clone()))
        });

        let health_task = tokio::spawn({
            let (health, stop) = (health.clone(), servers_stop.clone());
            let interval = config.worker.health_interval.get();
            async move {
                if needs_worker {
                    health.run(interval, stop).await;
                }
            }
        });
        telemetry.emit(events::Started {
            backend: backend.kind(),
            gateway: gateway_addr.map(|a| a.to_string()),
            admin: admin_addr.map(|a| a.to_string()),
            ingress: ingress_addr.map(|a| a.to_string()),
            subscriptions: config.subscriptions.keys().cloned().collect(),
        });

        let controls = super::console::controls(&config, console.is_some());
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
            let ctx = match &controls {
                Some(c) => ctx.with_controls(c.applied(name)),
                None => ctx,
            };
            contexts.push(ctx.clone());
            pollers.spawn(run_subscription(ctx));
        }
        let console_tasks = console
            .clone()
            .map(|c| tokio::spawn(c.run(servers_stop.clone())));
        let reporter = super::console::spawn_reporter(
            &config,
            controls.as_ref(),
            console.as_ref(),
            &contexts,
            &telemetry,
            &health,
            shutdown.stopping.clone(),
            servers_stop.clone(),
        );
        drop(contexts);

        // Until the signal, or until something ferry cannot run without fails.
        let failure = tokio::select! {
            () = stop_signal => None,
            Some(ended) = servers.join_next() => Some(match ended {
                Ok((name, Err(e))) => anyhow::anyhow!("the {name} server failed: {e}"),
                Ok((name, Ok(()))) => anyhow::anyhow!("the {name} server stopped"),
                Err(e) => anyhow::anyhow!("a server task failed: {e}"),
            }),
            Some(ended) = async { match &mut child { Some(c) => Some(c.await), None => None } } => {
                child = None;
                match ended {
                    Ok(Err(StartError { command, reason })) => Some(anyhow::Error::new(StartError { command, reason })),
                    Ok(Ok(())) => None,
                    Err(e) => Some(anyhow::anyhow!("the worker supervisor failed: {e}")),
                }
            }
        };

        shutdown.stopping.cancel();
        while pollers.join_next().await.is_some() {}
        shutdown.tracker.close();
        if tokio::time::timeout(config.shutdown.grace.get(), shutdown.tracker.wait())
            .await
            .is_err()
        {
            shutdown.force.cancel();
            shutdown.tracker.wait().await;
        }
        child_stop.cancel();
        if let Some(child) = child {
            let _ = child.await;
        }
        servers_stop.cancel();
        let _ = health_task.await;
        for task in [reporter, console_tasks].into_iter().flatten() {
            let _ = task.await;
        }
        while let Some(ended) = servers.join_next().await {
            if let Ok((name, Err(e))) = ended {
                eprintln!("ferry: the {name} server failed while stopping: {e}");
            }
        }
        telemetry.emit(events::Stopped {
            handed_back: shutdown.handed_back(),
            error: failure.as_ref().map(|e| format!("{e:#}")),
        });
        telemetry.flush().await;
        failure.map_or(Ok(()), Err)
    }
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

async fn serve_gateway(listener: TcpListener, api: GatewayApi, stop: CancellationToken) -> Served {
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let served = tonic::transport::Server::builder()
        .add_service(GatewayServiceServer::new(api).max_decoding_message_size(MAX_GATEWAY_REQUEST))
        .serve_with_incoming_shutdown(incoming, stop.cancelled())
        .await;
    ("gateway", served.map_err(|e| e.to_string()))
}
