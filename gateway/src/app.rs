//! `ferry run`: wires the backend, the worker client and health watch, the optional child
//! worker, the gateway API, the admin endpoint and one poller per subscription, then waits
//! for SIGTERM / SIGINT and drains.
//!
//! Drain order: stop receiving → let in-flight calls finish for `shutdown.grace` → hand
//! back what is still running → stop the child worker → stop the servers → flush logs.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use ferry_proto::v1::gateway_service_server::GatewayServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    admin::{self, AdminState},
    backend,
    config::FerryConfig,
    dispatch::{SubscriptionContext, run_subscription},
    gateway_api::GatewayApi,
    retry::Backoff,
    shutdown::{self, Shutdown},
    telemetry::{LogSink, Metrics, Origin, Telemetry, events, sink::StdoutSink},
    worker::{HealthWatch, Supervisor, WorkerClient},
};

/// Runs ferry until a shutdown signal, then drains. `worker_command` (may be empty) is
/// started and supervised as the worker.
pub async fn run(config: FerryConfig, worker_command: Vec<String>) -> anyhow::Result<()> {
    let origin = Origin::new(&config.service, config.service_version.as_deref());
    let metrics = Arc::new(Metrics::with_max_realms(config.metrics.max_realms.usize()));
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
    let telemetry = Telemetry::with(origin, metrics, sink);
    run_with(config, worker_command, telemetry, shutdown::signal()).await
}

/// [`run`] with a given telemetry and stop signal (for embedding and tests).
pub async fn run_with(
    config: FerryConfig,
    worker_command: Vec<String>,
    telemetry: Telemetry,
    stop_signal: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let backend = backend::open(&config.backend)
        .await
        .context("opening the queue backend")?;
    if let Some(preflight) = backend.preflight() {
        let warnings = preflight
            .preflight(&config)
            .await
            .context("checking the queues")?;
        for warning in warnings {
            eprintln!("ferry: warning: {warning}");
        }
    }
    let worker = WorkerClient::connect_lazy(&config.worker.address).map_err(anyhow::Error::msg)?;
    let health = HealthWatch::new(worker.channel(), telemetry.clone());
    let shutdown = Shutdown::default();
    let servers_stop = CancellationToken::new();
    let child_stop = CancellationToken::new();
    let mut background = tokio::task::JoinSet::new();

    let gateway_addr = if config.gateway.enabled {
        let listener = TcpListener::bind(config.gateway.listen)
            .await
            .with_context(|| format!("gateway.listen: cannot bind {}", config.gateway.listen))?;
        let addr = listener.local_addr()?;
        let realm_attribute = config
            .subscriptions
            .values()
            .next()
            .map(|s| s.realm_attribute.clone())
            .unwrap_or_else(|| "realm".into());
        let api = GatewayApi {
            backend: backend.clone(),
            telemetry: telemetry.clone(),
            limits: config.limits.clone(),
            realm_attribute,
        };
        let stop = servers_stop.clone();
        background.spawn(async move {
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            let _ = tonic::transport::Server::builder()
                .add_service(
                    GatewayServiceServer::new(api).max_decoding_message_size(64 * 1024 * 1024),
                )
                .serve_with_incoming_shutdown(incoming, stop.cancelled())
                .await;
        });
        Some(addr)
    } else {
        None
    };

    let admin_addr = if config.admin.enabled {
        let listener = TcpListener::bind(config.admin.listen)
            .await
            .with_context(|| format!("admin.listen: cannot bind {}", config.admin.listen))?;
        let addr = listener.local_addr()?;
        let state = AdminState {
            metrics: telemetry.metrics().clone(),
            health: health.clone(),
            stopping: shutdown.stopping.clone(),
        };
        let stop = servers_stop.clone();
        background.spawn(async move {
            let _ = admin::serve(listener, state, stop).await;
        });
        Some(addr)
    } else {
        None
    };

    let child = if worker_command.is_empty() {
        None
    } else {
        let worker_hostport = config
            .worker
            .address
            .split("://")
            .nth(1)
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        let mut env = vec![("FERRY_WORKER_ADDR".to_owned(), worker_hostport)];
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
        Some(tokio::spawn(supervisor.run(child_stop.clone())))
    };

    let health_task = tokio::spawn(
        health
            .clone()
            .run(config.worker.health_interval.get(), servers_stop.clone()),
    );

    telemetry.emit(events::Started {
        backend: backend.kind(),
        gateway: gateway_addr.map(|a| a.to_string()),
        admin: admin_addr.map(|a| a.to_string()),
        subscriptions: config.subscriptions.keys().cloned().collect(),
    });

    let mut pollers = tokio::task::JoinSet::new();
    for (name, sub) in &config.subscriptions {
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
        pollers.spawn(run_subscription(ctx));
    }

    stop_signal.await;
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
    while background.join_next().await.is_some() {}
    telemetry.emit(events::Stopped {
        handed_back: shutdown.handed_back(),
    });
    telemetry.flush().await;
    Ok(())
}
