//! How `ferry run` joins a console: the controls its dispatch follows (when `[console]
//! url` is set or it serves its own console), and the heartbeat reporter, sent over HTTP
//! or in-process to its own console.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    config::FerryConfig,
    console::local::LocalConsole,
    control::{
        ConsoleClient, Controls, HttpConsole, Reported, Reporter, backend_ref, identity,
        wire::{Limits, SubscriptionReport},
    },
    dispatch::SubscriptionContext,
    telemetry::Telemetry,
    worker::HealthWatch,
};

/// The controls of this ferry, when it reports to a console.
pub(super) fn controls(config: &FerryConfig, local: bool) -> Option<Controls> {
    (config.console.url.is_some() || local).then(|| {
        Controls::new(
            config.subscriptions.keys(),
            config.console.paused_realm_delay.get(),
        )
    })
}

/// Starts the heartbeat reporter of the subscriptions `subs` (until `stop`), when there
/// are controls to follow.
#[allow(clippy::too_many_arguments)]
pub(super) fn spawn_reporter(
    config: &FerryConfig,
    controls: Option<&Controls>,
    local: Option<&LocalConsole>,
    subs: &[SubscriptionContext],
    telemetry: &Telemetry,
    health: &HealthWatch,
    stopping: CancellationToken,
    stop: CancellationToken,
) -> Option<JoinHandle<()>> {
    let controls = controls?.clone();
    let interval = config.console.heartbeat_interval.get();
    let client: Arc<dyn ConsoleClient> = match (local, &config.console.url) {
        (Some(local), _) => local.client(),
        (None, Some(url)) => Arc::new(HttpConsole::new(
            url,
            config.console.token.clone(),
            interval.max(std::time::Duration::from_secs(2)),
        )),
        (None, None) => return None,
    };
    let subscriptions = subs
        .iter()
        .map(|ctx| {
            let c = &ctx.config;
            let limits = Limits {
                max_in_flight: c.max_in_flight.get(),
                max_in_flight_per_realm: c.max_in_flight_per_realm.map(|n| n.get()),
                rate_limit: c.rate_limit.map(|r| r.per_second()),
            };
            Reported {
                report: SubscriptionReport {
                    name: ctx.name.clone(),
                    queue: c.queue_prefix.is_none().then(|| ctx.queue.clone()),
                    queue_prefix: c.queue_prefix.clone(),
                    error_queue: ctx.error_queue.clone(),
                    realm_attribute: c.realm_attribute.clone(),
                    configured: limits,
                    effective: limits,
                    ..SubscriptionReport::default()
                },
                running: ctx.admission.clone(),
            }
        })
        .collect();
    let reporter = Reporter {
        identity: identity(
            &config.service,
            config.service_version.as_deref(),
            backend_ref(&config.backend),
            interval,
        ),
        subscriptions,
        tally: telemetry.metrics().tally.clone(),
        health: health.clone(),
        stopping,
        controls,
        console: client,
        telemetry: telemetry.clone(),
    };
    Some(tokio::spawn(reporter.run(interval, stop)))
}
