//! `ferry queue stats`: ready, in flight, delayed and dead per subscription, from the
//! backend's own counts; a partitioned subscription has one row per realm queue and one
//! for the error queue they share. Pub/Sub has no counts of its own: there the rows are
//! Cloud Monitoring's last samples (`READY` is the backlog, leased messages included; no
//! in-flight figure), with the time of the sample.

use serde_json::json;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{
    CliError,
    admin_cmds::{Target, open, targets},
    args::QueueCommand,
};
use crate::{
    backend::{QueueStats, SampledStats},
    config::FerryConfig,
};

/// Runs a `ferry queue` command.
pub(super) async fn queue(cfg: &FerryConfig, cmd: QueueCommand) -> Result<(), CliError> {
    let QueueCommand::Stats { json } = cmd;
    let backend = open(cfg).await?;
    let counts = match (backend.stats(), backend.sampled_stats()) {
        (Some(stats), _) => Counts::Exact(stats),
        (None, Some(sampled)) => Counts::Sampled(sampled),
        (None, None) => return Err(CliError::failure(backend.no_counts_reason())),
    };
    let targets = targets(cfg, backend.as_ref(), None).await?;
    if !json {
        println!(
            "{:<24} {:<32} {:>8} {:>9} {:>8} {:>8}",
            "SUBSCRIPTION", "QUEUE", "READY", "IN-FLIGHT", "DELAYED", "DEAD"
        );
    }
    match counts {
        Counts::Exact(stats) => exact(stats, &targets, json).await,
        Counts::Sampled(sampled) => samples(sampled, &targets, json).await,
    }
}

/// Where the counts come from.
enum Counts<'a> {
    /// The backend's own.
    Exact(&'a dyn QueueStats),
    /// A monitoring system's samples.
    Sampled(&'a dyn SampledStats),
}

async fn exact(stats: &dyn QueueStats, targets: &[Target], json: bool) -> Result<(), CliError> {
    for t in targets {
        for queue in &t.queues {
            let s = stats
                .stats(queue, &t.error_queue)
                .await
                .map_err(|e| CliError::failure(e.to_string()))?;
            // A partitioned subscription's realm queues share its error queue, counted in a
            // row of its own.
            let dead = (!t.partitioned).then_some(s.dead);
            let counts = [Some(s.ready), Some(s.in_flight), Some(s.delayed), dead];
            row(json, t, queue, counts, None);
        }
        if t.partitioned {
            let s = stats
                .stats(&t.error_queue, &t.error_queue)
                .await
                .map_err(|e| CliError::failure(e.to_string()))?;
            let dead = Some(s.ready + s.in_flight + s.delayed);
            row(json, t, &t.error_queue, [None, None, None, dead], None);
        }
    }
    Ok(())
}

async fn samples(
    sampled: &dyn SampledStats,
    targets: &[Target],
    json: bool,
) -> Result<(), CliError> {
    let mut oldest: Option<OffsetDateTime> = None;
    for t in targets {
        for queue in &t.queues {
            let s = sampled
                .sampled(queue, &t.error_queue)
                .await
                .map_err(|e| CliError::failure(e.to_string()))?;
            let at = OffsetDateTime::from(s.sampled_at);
            oldest = Some(oldest.map_or(at, |o| o.min(at)));
            let counts = [Some(s.backlog), None, Some(s.delayed), Some(s.dead)];
            row(json, t, queue, counts, Some(at));
        }
    }
    if let (Some(at), false) = (oldest, json) {
        println!(
            "(Cloud Monitoring's samples, the oldest of {}: READY is the backlog, leased messages included)",
            at.format(&Rfc3339).unwrap_or_default()
        );
    }
    Ok(())
}

/// One row: `[ready, in_flight, delayed, dead]`, `-` (JSON `null`) where not counted.
fn row(
    json: bool,
    t: &Target,
    queue: &str,
    [ready, in_flight, delayed, dead]: [Option<u64>; 4],
    sampled_at: Option<OffsetDateTime>,
) {
    let name = &t.name;
    if json {
        let mut line = json!({"subscription": name, "queue": queue, "error_queue": t.error_queue,
            "ready": ready, "in_flight": in_flight, "delayed": delayed, "dead": dead});
        if let Some(at) = sampled_at {
            line["sampled_at"] = json!(at.format(&Rfc3339).unwrap_or_default());
        }
        println!("{line}");
    } else {
        let show = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
        println!(
            "{name:<24} {queue:<32} {:>8} {:>9} {:>8} {:>8}",
            show(ready),
            show(in_flight),
            show(delayed),
            show(dead)
        );
    }
}
