//! `ferry publish`: validates one message exactly as the gateway API does and publishes it
//! straight to the backend (no running ferry needed). It warns when no subscription of the
//! config consumes the queue (a typo would otherwise pass unnoticed), and says so when it
//! reads the payload from a terminal.

use std::io::{IsTerminal, Read};

use ferry_proto::v1::{OutgoingMessage, outgoing_message::Schedule};

use super::{CliError, args::PublishArgs};
use crate::{backend, config::FerryConfig, message::to_new_message};

fn payload(args: &PublishArgs) -> Result<Vec<u8>, CliError> {
    if let Some(d) = &args.data {
        return Ok(d.clone().into_bytes());
    }
    let mut buf = Vec::new();
    match &args.file {
        Some(p) if p.as_os_str() != "-" => {
            buf = std::fs::read(p)
                .map_err(|e| CliError::usage(format!("--file {}: {e}", p.display())))?;
        }
        _ => {
            if std::io::stdin().is_terminal() {
                eprintln!(
                    "ferry: reading the payload from the terminal; end it with Ctrl-D (or pass --data or --file)"
                );
            }
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| CliError::failure(format!("reading stdin: {e}")))?;
        }
    }
    Ok(buf)
}

/// Runs `ferry publish`.
pub(super) async fn run(cfg: &FerryConfig, args: PublishArgs) -> Result<(), CliError> {
    let consumed = cfg.subscriptions.iter().any(|(name, s)| {
        s.queue_name(name) == args.queue
            || s.queue_prefix
                .as_deref()
                .is_some_and(|p| args.queue.starts_with(p))
    });
    if !consumed {
        eprintln!(
            "ferry: warning: no subscription in this config consumes queue `{}` (publishing anyway)",
            args.queue
        );
    }
    let mut attributes = std::collections::HashMap::new();
    for a in &args.attributes {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--attr `{a}`: expected KEY=VALUE")))?;
        attributes.insert(k.to_owned(), v.to_owned());
    }
    let realm_attribute = cfg
        .subscriptions
        .values()
        .find(|s| s.queue.as_deref() == Some(args.queue.as_str()))
        .or_else(|| cfg.subscriptions.values().next())
        .map_or("realm", |s| s.realm_attribute.as_str());
    let message = OutgoingMessage {
        destination: args.queue.clone(),
        payload: payload(&args)?.into(),
        attributes,
        realm: args.realm.clone().unwrap_or_default(),
        schedule: args
            .delay
            .and_then(|d| prost_types::Duration::try_from(d).ok())
            .map(Schedule::Delay),
        deduplication_id: args.dedup_id.clone().unwrap_or_default(),
        ordering_key: args.ordering_key.clone().unwrap_or_default(),
    };
    let backend = backend::open(&cfg.backend)
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    let message = to_new_message(
        message,
        realm_attribute,
        None,
        &cfg.limits,
        backend.horizon(),
    )
    .map_err(|e| CliError::usage(format!("invalid message: {e}")))?;
    let ids = backend
        .publish(vec![message])
        .await
        .map_err(|e| CliError::failure(format!("publish failed: {e}")))?;
    for id in ids {
        println!("{id}");
    }
    Ok(())
}
