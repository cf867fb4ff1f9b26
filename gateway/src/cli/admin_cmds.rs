//! `ferry dlq list|redrive` and `ferry queue stats`: operate on the queues of the
//! configured subscriptions through the backend's capabilities.

use serde_json::json;

use super::{
    CliError,
    args::{DlqCommand, QueueCommand},
};
use crate::{
    backend::{self, Backend, STORY_PREFIX},
    config::FerryConfig,
};

/// (subscription, queue, error queue) for the selected subscriptions.
fn targets(
    cfg: &FerryConfig,
    only: Option<&str>,
) -> Result<Vec<(String, String, String)>, CliError> {
    if let Some(name) = only
        && !cfg.subscriptions.contains_key(name)
    {
        let known: Vec<_> = cfg.subscriptions.keys().cloned().collect();
        return Err(CliError::usage(format!(
            "--subscription `{name}` is not in the config (known: {})",
            known.join(", ")
        )));
    }
    Ok(cfg
        .subscriptions
        .iter()
        .filter(|(n, _)| only.is_none_or(|o| o == n.as_str()))
        .map(|(n, s)| (n.clone(), s.queue_name(n), s.error_queue_name(n)))
        .collect())
}

async fn open(cfg: &FerryConfig) -> Result<std::sync::Arc<dyn Backend>, CliError> {
    backend::open_existing(&cfg.backend)
        .await
        .map_err(|e| CliError::failure(e.to_string()))
}

/// Runs a `ferry dlq` command.
pub(super) async fn dlq(cfg: &FerryConfig, cmd: DlqCommand) -> Result<(), CliError> {
    let backend = open(cfg).await?;
    let admin = backend.dead_letters().ok_or_else(|| {
        CliError::failure(format!(
            "the {} backend cannot list or redrive dead letters",
            backend.kind()
        ))
    })?;
    match cmd {
        DlqCommand::List {
            subscription,
            limit,
            json,
        } => {
            for (name, _, error_queue) in targets(cfg, subscription.as_deref())? {
                let letters = admin
                    .list(&error_queue, limit)
                    .await
                    .map_err(|e| CliError::failure(e.to_string()))?;
                if !json {
                    println!("== {name}: {error_queue} ({} shown)", letters.len());
                }
                for l in letters {
                    let story = |k: &str| {
                        l.attributes
                            .get(&format!("{STORY_PREFIX}{k}"))
                            .cloned()
                            .unwrap_or_default()
                    };
                    if json {
                        println!(
                            "{}",
                            json!({"subscription": name, "error_queue": error_queue, "id": l.id,
                            "payload": String::from_utf8_lossy(&l.payload), "attributes": l.attributes})
                        );
                    } else {
                        println!(
                            "{} from {} after {} attempt(s) [{}]: {}\n    first failure {}, last failure {}, payload {} bytes",
                            l.id,
                            story("source_queue"),
                            story("attempts"),
                            story("reason"),
                            story("last_error"),
                            story("first_failure_at"),
                            story("last_failure_at"),
                            l.payload.len()
                        );
                    }
                }
            }
        }
        DlqCommand::Redrive {
            subscription,
            limit,
        } => {
            for (name, queue, error_queue) in targets(cfg, subscription.as_deref())? {
                // Only the letters there now: a running ferry may dead-letter a redriven
                // message again while this runs, and must not keep the loop going.
                let present = present_dead_letters(backend.as_ref(), admin, &queue, &error_queue)
                    .await
                    .map_err(|e| CliError::failure(e.to_string()))?;
                let mut left = limit.map_or(present, |l| l.min(present));
                let mut moved = 0usize;
                while left > 0 {
                    let n = admin
                        .redrive(&error_queue, &queue, left.min(100))
                        .await
                        .map_err(|e| CliError::failure(e.to_string()))?;
                    if n == 0 {
                        break;
                    }
                    moved += n;
                    left -= n;
                    eprintln!("{name}: redrove {moved} from {error_queue} ...");
                }
                println!("{name}: redrove {moved} message(s) from {error_queue} to {queue}");
            }
        }
    }
    Ok(())
}

/// How many dead letters `error_queue` holds now: the stats count where the backend has
/// one, otherwise the letters a listing sees.
async fn present_dead_letters(
    backend: &dyn Backend,
    admin: &dyn backend::DeadLetterAdmin,
    queue: &str,
    error_queue: &str,
) -> Result<usize, backend::BackendError> {
    if let Some(stats) = backend.stats() {
        let dead = stats.stats(queue, error_queue).await?.dead;
        return Ok(usize::try_from(dead).unwrap_or(usize::MAX));
    }
    Ok(admin.list(error_queue, REDRIVE_LIST_MAX).await?.len())
}

/// The most dead letters counted by listing, for a backend without queue stats.
const REDRIVE_LIST_MAX: usize = 100_000;

/// Runs a `ferry queue` command.
pub(super) async fn queue(cfg: &FerryConfig, cmd: QueueCommand) -> Result<(), CliError> {
    let QueueCommand::Stats { json } = cmd;
    let backend = open(cfg).await?;
    let stats = backend.stats().ok_or_else(|| {
        CliError::failure(format!(
            "the {} backend cannot report queue statistics",
            backend.kind()
        ))
    })?;
    if !json {
        println!(
            "{:<24} {:<32} {:>8} {:>9} {:>8} {:>8}",
            "SUBSCRIPTION", "QUEUE", "READY", "IN-FLIGHT", "DELAYED", "DEAD"
        );
    }
    for (name, queue, error_queue) in targets(cfg, None)? {
        let s = stats
            .stats(&queue, &error_queue)
            .await
            .map_err(|e| CliError::failure(e.to_string()))?;
        if json {
            println!(
                "{}",
                json!({"subscription": name, "queue": queue, "error_queue": error_queue,
                "ready": s.ready, "in_flight": s.in_flight, "delayed": s.delayed, "dead": s.dead})
            );
        } else {
            println!(
                "{name:<24} {queue:<32} {:>8} {:>9} {:>8} {:>8}",
                s.ready, s.in_flight, s.delayed, s.dead
            );
        }
    }
    Ok(())
}
