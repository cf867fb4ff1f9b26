//! The local-store side of `ferry logs`: one query (a story oldest first, a listing of the
//! latest events), then, with `-f`, polling the store for records stored after the last
//! one seen until SIGINT or SIGTERM. Prints what the Elasticsearch side prints.

use std::{path::Path, time::Duration};

use serde_json::Value;
use tokio::signal::unix::{SignalKind, signal};

use super::{
    CliError, LogsArgs, LogsCommand, format_line, story_summary, time_bound_ms, trace_summary,
};
use crate::telemetry::local::{LogQuery, LogReader, Order, StoredRecord};

/// The most events a story shows.
const STORY_MAX: usize = 10_000;
/// How often `-f` looks for new records.
const POLL: Duration = Duration::from_millis(200);

/// The store query for the filters in `args`.
pub fn local_query(args: &LogsArgs, now_ms: i64) -> Result<LogQuery, CliError> {
    let story = args.message.is_some() || args.trace.is_some();
    Ok(LogQuery {
        message: args.message.clone(),
        trace: args.trace.clone(),
        subscription: args.subscription.clone(),
        realm: args.realm.clone(),
        outcome: args.outcome.clone(),
        action: args.action.clone(),
        since_ms: args
            .since
            .as_deref()
            .map(|v| time_bound_ms("--since", v, now_ms))
            .transpose()?,
        until_ms: args
            .until
            .as_deref()
            .map(|v| time_bound_ms("--until", v, now_ms))
            .transpose()?,
        text: args.query.clone(),
        after_id: None,
        order: if story { Order::Oldest } else { Order::Latest },
        limit: if story { STORY_MAX } else { args.limit },
    })
}

fn print(rec: &StoredRecord, as_json: bool) {
    if as_json {
        println!("{}", rec.doc);
    } else {
        println!("{}", format_line(&rec.doc));
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs `ferry logs` against the store at `path`.
pub(super) async fn run(path: &Path, args: LogsArgs) -> Result<(), CliError> {
    if let Some(LogsCommand::Setup) = args.command {
        return Err(CliError::usage(
            "`ferry logs setup` installs Elasticsearch templates: add a [logs.elasticsearch] table",
        ));
    }
    let mut q = local_query(&args, now_ms())?;
    let reader = LogReader::open(path).map_err(CliError::failure)?;
    let start = reader.last_id().map_err(CliError::failure)?;
    let records = reader.read(&q).map_err(CliError::usage)?;
    let what = match (&args.message, &args.trace) {
        (Some(id), _) => Some(format!("message {id}")),
        (None, Some(id)) => Some(format!("trace {id}")),
        (None, None) => None,
    };
    if let Some(what) = &what
        && records.is_empty()
        && !args.follow
    {
        return Err(CliError::failure(format!(
            "no events about {what} in {}",
            path.display()
        )));
    }
    for rec in &records {
        print(rec, args.json);
    }
    if !args.json {
        let docs: Vec<Value> = records.iter().map(|r| r.doc.clone()).collect();
        if let Some(id) = &args.message {
            println!("{}", story_summary(id, &docs));
        } else if let Some(id) = &args.trace {
            println!("{}", trace_summary(id, &docs));
        }
    }
    if !args.follow {
        return Ok(());
    }
    let mut last = records.iter().map(|r| r.id).max().unwrap_or(0).max(start);
    q.order = Order::Stored;
    q.limit = 1000;
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| CliError::failure(format!("cannot watch for SIGTERM: {e}")))?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
            () = tokio::time::sleep(POLL) => {}
        }
        loop {
            q.after_id = Some(last);
            match reader.read(&q) {
                Ok(new) => {
                    for rec in &new {
                        print(rec, args.json);
                        last = last.max(rec.id);
                    }
                    if new.len() < q.limit {
                        break;
                    }
                }
                Err(e) => {
                    eprintln!("ferry: {e}");
                    break;
                }
            }
        }
    }
}
