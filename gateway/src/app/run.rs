//! [`App::run`]: starts what [`App::build`](super::App::build) prepared (each part by a
//! function of [`super::start`]), waits for the stop signal — or for a server or the child
//! worker to fail, which stops ferry with that error after the same drain — and drains
//! ([`Running::drain`]).

use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::{
    App,
    stall::StallWatch,
    start::{self, Child, Served},
};
use crate::{
    admin::AdminState, config::FerryConfig, shutdown::Shutdown, telemetry::Telemetry,
    telemetry::events, worker::StartError,
};

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
            let stop = servers_stop.clone();
            start::gateway(listener, &config, &backend, &telemetry, stop, &mut servers)
        });
        // A publish-only ferry (an ingress, no subscriptions, no child) has no worker.
        let needs_worker = !config.subscriptions.is_empty() || !worker_command.is_empty();
        let publish_health = ingress.as_ref().map(crate::ingress::Prepared::health);
        let ingress_addr = ingress
            .and_then(|prepared| start::ingress(prepared, servers_stop.clone(), &mut servers));
        let admin_addr = admin.map(|listener| {
            let state = AdminState {
                metrics: telemetry.metrics().clone(),
                health: health.clone(),
                stopping: shutdown.stopping.clone(),
                needs_worker,
                publish: publish_health,
                console: console
                    .as_ref()
                    .map(crate::console::local::LocalConsole::router),
            };
            start::admin(listener, state, servers_stop.clone(), &mut servers)
        });
        let child = start::child(
            &config,
            worker_command,
            gateway_addr,
            &telemetry,
            child_stop.clone(),
        );
        let health_task = start::health_watch(&config, &health, needs_worker, servers_stop.clone());
        telemetry.emit(events::Started {
            backend: backend.kind(),
            gateway: gateway_addr.map(|a| a.to_string()),
            admin: admin_addr.map(|a| a.to_string()),
            ingress: ingress_addr.map(|a| a.to_string()),
            subscriptions: config.subscriptions.keys().cloned().collect(),
        });

        let controls = super::console::controls(&config, console.is_some());
        let (pollers, contexts) = start::subscriptions(
            &config,
            controls.as_ref(),
            &backend,
            &worker,
            &health,
            &telemetry,
            &shutdown,
        );
        let console_task = console
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

        let mut running = Running {
            shutdown,
            pollers,
            child,
            child_stop,
            servers,
            servers_stop,
            tasks: [Some(health_task), reporter, console_task]
                .into_iter()
                .flatten()
                .collect(),
            stall_watch: StallWatch::start(telemetry.clone()),
        };
        let failure = running.until_stopped(stop_signal).await;
        running.drain(&config, &telemetry, failure).await
    }
}

/// What [`App::run`] started and must stop, in the drain order of [`super`].
struct Running {
    shutdown: Shutdown,
    pollers: JoinSet<()>,
    child: Option<Child>,
    child_stop: CancellationToken,
    servers: JoinSet<Served>,
    servers_stop: CancellationToken,
    /// The health watch, the console reporter and the local console's own tasks.
    tasks: Vec<JoinHandle<()>>,
    /// Watches the runtime for stalls until the drain is done.
    stall_watch: StallWatch,
}

impl Running {
    /// Waits for the signal, or until something ferry cannot run without fails: returns
    /// that failure.
    async fn until_stopped(
        &mut self,
        stop_signal: impl std::future::Future<Output = ()>,
    ) -> Option<anyhow::Error> {
        let child = &mut self.child;
        tokio::select! {
            () = stop_signal => None,
            Some(ended) = self.servers.join_next() => Some(match ended {
                Ok((name, Err(e))) => anyhow::anyhow!("the {name} server failed: {e}"),
                Ok((name, Ok(()))) => anyhow::anyhow!("the {name} server stopped"),
                Err(e) => anyhow::anyhow!("a server task failed: {e}"),
            }),
            Some(ended) = async { match child { Some(c) => Some(c.await), None => None } } => {
                self.child = None;
                match ended {
                    Ok(Err(e @ StartError { .. })) => Some(anyhow::Error::new(e)),
                    Ok(Ok(())) => None,
                    Err(e) => Some(anyhow::anyhow!("the worker supervisor failed: {e}")),
                }
            }
        }
    }

    /// Stops receiving, lets in-flight calls finish for `shutdown.grace`, hands back what
    /// still runs, stops the child, then the servers, and flushes the logs. Returns
    /// `failure` (what stopped ferry, if not the signal) as the run's result.
    async fn drain(
        mut self,
        config: &FerryConfig,
        telemetry: &Telemetry,
        failure: Option<anyhow::Error>,
    ) -> anyhow::Result<()> {
        let shutdown = &self.shutdown;
        shutdown.stopping.cancel();
        while self.pollers.join_next().await.is_some() {}
        shutdown.tracker.close();
        if tokio::time::timeout(config.shutdown.grace.get(), shutdown.tracker.wait())
            .await
            .is_err()
        {
            shutdown.force.cancel();
            shutdown.tracker.wait().await;
        }
        self.child_stop.cancel();
        if let Some(child) = self.child {
            // The supervisor stops the child itself (SIGTERM, then SIGKILL); a start error
            // after the signal has nothing left to stop.
            let _ = child.await;
        }
        self.servers_stop.cancel();
        for task in self.tasks {
            // These tasks return nothing; a panic in one was printed by the panic hook.
            let _ = task.await;
        }
        while let Some(ended) = self.servers.join_next().await {
            if let Ok((name, Err(e))) = ended {
                eprintln!("ferry: the {name} server failed while stopping: {e}");
            }
        }
        drop(self.stall_watch);
        telemetry.emit(events::Stopped {
            handed_back: shutdown.handed_back(),
            error: failure.as_ref().map(|e| format!("{e:#}")),
        });
        telemetry.flush().await;
        failure.map_or(Ok(()), Err)
    }
}
