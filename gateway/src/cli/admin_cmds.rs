//! `ferry dlq list|redrive`: operate on the dead letters of the configured subscriptions
//! through the backend's capabilities; [`targets`], the subscriptions a command covers, is
//! shared with `ferry queue stats` (`queue_stats.rs`). A partitioned subscription
//! (`queue_prefix`) covers every realm queue found now. These commands never create a
//! queue (the embedded queue's file must exist).

use serde_json::json;

use super::{CliError, args::DlqCommand};
use crate::{
    backend::{self, Backend, STORY_PREFIX},
    config::FerryConfig,
    dispatch::realm_queues,
};

/// One selected subscription: its name, the queues it consumes (one, or a partitioned
/// subscription's realm queues) and its error queue.
pub(super) struct Target {
    pub name: String,
    pub queues: Vec<String>,
    pub error_queue: String,
    pub partitioned: bool,
}

/// The selected subscriptions (`only`, or all), with their queues as they are now.
pub(super) async fn targets(
    cfg: &FerryConfig,
    backend: &dyn Backend,
    only: Option<&str>,
) -> Result<Vec<Target>, CliError> {
    if let Some(name) = only
        && !cfg.subscriptions.contains_key(name)
    {
        let known: Vec<_> = cfg.subscriptions.keys().cloned().collect();
        return Err(CliError::usage(format!(
            "--subscription `{name}` is not in the config (known: {})",
            known.join(", ")
        )));
    }
    let mut out = Vec::new();
    for (name, sub) in cfg
        .subscriptions
        .iter()
        .filter(|(n, _)| only.is_none_or(|o| o == n.as_str()))
    {
        let error_queue = sub.error_queue_name(name);
        let (queues, partitioned) = match &sub.queue_prefix {
            Some(prefix) => (
                realm_queues(backend, prefix, &error_queue)
                    .await
                    .map_err(|e| CliError::failure(e.to_string()))?,
                true,
            ),
            None => (vec![sub.queue_name(name)], false),
        };
        out.push(Target {
            name: name.clone(),
            queues,
            error_queue,
            partitioned,
        });
    }
    Ok(out)
}

pub(super) async fn open(cfg: &FerryConfig) -> Result<std::sync::Arc<dyn Backend>, CliError> {
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
            for Target {
                name, error_queue, ..
            } in targets(cfg, backend.as_ref(), subscription.as_deref()).await?
            {
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
            for t in targets(cfg, backend.as_ref(), subscription.as_deref()).await? {
                let (name, error_queue) = (&t.name, &t.error_queue);
                // A letter without a story goes to the (first) queue consumed.
                let Some(queue) = t.queues.first().cloned() else {
                    println!("{name}: no realm queue found; nothing redriven");
                    continue;
                };
                // Only the letters there now: a running ferry may dead-letter a redriven
                // message again while this runs, and must not keep the loop going.
                let present = present_dead_letters(backend.as_ref(), admin, error_queue)
                    .await
                    .map_err(|e| CliError::failure(e.to_string()))?;
                let mut left = limit.map_or(present, |l| l.min(present));
                let mut moved = 0usize;
                while left > 0 {
                    let n = admin
                        .redrive(error_queue, &queue, left.min(100))
                        .await
                        .map_err(|e| CliError::failure(e.to_string()))?;
                    if n == 0 {
                        break;
                    }
                    moved += n;
                    left -= n;
                    eprintln!("{name}: redrove {moved} from {error_queue} ...");
                }
                let to = if t.partitioned {
                    "their realm queues"
                } else {
                    queue.as_str()
                };
                println!("{name}: redrove {moved} message(s) from {error_queue} to {to}");
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
    error_queue: &str,
) -> Result<usize, backend::BackendError> {
    if let Some(stats) = backend.stats() {
        // The error queue's own counts: everything in it is a dead letter.
        let s = stats.stats(error_queue, error_queue).await?;
        return Ok(usize::try_from(s.ready + s.in_flight + s.delayed).unwrap_or(usize::MAX));
    }
    Ok(admin.list(error_queue, REDRIVE_LIST_MAX).await?.len())
}

/// The most dead letters counted by listing, for a backend without queue stats.
const REDRIVE_LIST_MAX: usize = 100_000;
