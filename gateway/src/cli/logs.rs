//! `ferry logs`: reads the log events back — from Elasticsearch when `[logs.elasticsearch]`
//! is configured, else from the local store ([`local`]) — filtered by message, trace,
//! subscription, realm, outcome, action, time range and text, optionally following new
//! ones; `ferry logs --message ID` is one message's story in order. `ferry logs setup`
//! installs the Elasticsearch index templates.
// Without the feature only the refusal is reachable; the query and formatting stay compiled.
#![cfg_attr(not(feature = "elasticsearch"), allow(dead_code))]

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::CliError;
use crate::config::FerryConfig;

/// `ferry logs`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LogsArgs {
    /// `setup`: install the index templates.
    #[command(subcommand)]
    pub command: Option<LogsCommand>,
    /// One message's story: every event about message ID (and where it was published), in
    /// order, then a summary.
    #[arg(long, short, value_name = "ID")]
    pub message: Option<String>,
    /// Only events of this W3C trace id (`trace.id`): a blast's whole story across workers,
    /// in order.
    #[arg(long, short = 't', value_name = "ID")]
    pub trace: Option<String>,
    /// Only this subscription.
    #[arg(long, short)]
    pub subscription: Option<String>,
    /// Only this realm (tenant).
    #[arg(long, short)]
    pub realm: Option<String>,
    /// Only this outcome.
    #[arg(long, value_parser = ["success", "failure", "unknown"])]
    pub outcome: Option<String>,
    /// Only this `event.action` (e.g. `message.dead_lettered`, `worker.log`).
    #[arg(long, short)]
    pub action: Option<String>,
    /// From: a duration back from now (`15m`, `2h`) or an RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Until: a duration back from now or an RFC 3339 time.
    #[arg(long)]
    pub until: Option<String>,
    /// Text to find in `message` and `error.message` (all words must match; `"a phrase"`,
    /// `-word` and `pre*` work as in Elasticsearch's simple query string).
    #[arg(long, short)]
    pub query: Option<String>,
    /// At most this many events: the latest ones (a story shows up to 10000).
    #[arg(long, short = 'n', default_value_t = 100)]
    pub limit: usize,
    /// Keep printing new events as they arrive (until SIGINT / SIGTERM).
    #[arg(long, short)]
    pub follow: bool,
    /// Print the stored documents, one JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// `ferry logs <command>`.
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Install (or update) the component and index templates for the data stream.
    Setup,
}

/// Parses `--since` / `--until` to Unix milliseconds: a duration back from now, or an
/// RFC 3339 time.
pub fn time_bound_ms(flag: &str, value: &str, now_ms: i64) -> Result<i64, CliError> {
    if let Ok(d) = humantime::parse_duration(value) {
        return Ok(now_ms.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
    }
    if let Ok(t) =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
    {
        return Ok(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX));
    }
    Err(time_error(flag, value))
}

fn time_error(flag: &str, value: &str) -> CliError {
    CliError::usage(format!(
        "{flag}: `{value}` is neither a duration (15m, 2h) nor an RFC 3339 time (2026-01-31T12:00:00Z)"
    ))
}

/// Parses `--since` / `--until`: a duration back from now, or an RFC 3339 time.
fn time_bound(flag: &str, value: &str) -> Result<String, CliError> {
    if let Ok(d) = humantime::parse_duration(value) {
        return Ok(format!("now-{}s", d.as_secs()));
    }
    if time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).is_ok() {
        return Ok(value.to_owned());
    }
    Err(time_error(flag, value))
}

/// The Elasticsearch query for the filters in `args`.
pub fn query(args: &LogsArgs) -> Result<Value, CliError> {
    let mut filter = Vec::new();
    let mut must = Vec::new();
    if let Some(id) = &args.message {
        filter.push(json!({"bool": {"should": [
            {"term": {"ferry.message_id": id}},
            {"term": {"ferry.published_id": id}}
        ], "minimum_should_match": 1}}));
    }
    for (field, value) in [
        ("trace.id", &args.trace),
        ("ferry.subscription", &args.subscription),
        ("ferry.realm", &args.realm),
        ("event.outcome", &args.outcome),
        ("event.action", &args.action),
    ] {
        if let Some(v) = value {
            filter.push(json!({"term": {field: v}}));
        }
    }
    let mut range = serde_json::Map::new();
    if let Some(since) = &args.since {
        range.insert("gte".into(), time_bound("--since", since)?.into());
    }
    if let Some(until) = &args.until {
        range.insert("lte".into(), time_bound("--until", until)?.into());
    }
    if !range.is_empty() {
        filter.push(json!({"range": {"@timestamp": range}}));
    }
    if let Some(text) = &args.query {
        must.push(json!({"simple_query_string": {
            "query": text,
            "fields": ["message", "error.message"],
            "default_operator": "and"
        }}));
    }
    Ok(json!({"bool": {"filter": filter, "must": must}}))
}

fn text(doc: &Value, key: &str) -> String {
    match &doc[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One event as a line of text: time, level, action, context, message, labels.
pub fn format_line(doc: &Value) -> String {
    let mut line = format!(
        "{} {:<5} {:<22}",
        text(doc, "@timestamp"),
        text(doc, "log.level").to_uppercase(),
        text(doc, "event.action")
    );
    for (key, name) in [
        ("ferry.subscription", "sub"),
        ("ferry.realm", "realm"),
        ("ferry.message_id", "msg"),
        ("ferry.attempt", "attempt"),
        ("ferry.published_id", "published"),
    ] {
        let v = text(doc, key);
        if !v.is_empty() {
            line.push_str(&format!(" {name}={v}"));
        }
    }
    line.push_str("  ");
    line.push_str(&text(doc, "message"));
    if let Some(map) = doc.as_object() {
        let labels: Vec<String> = map
            .iter()
            .filter_map(|(k, v)| Some(format!("{}={}", k.strip_prefix("labels.")?, v.as_str()?)))
            .collect();
        if !labels.is_empty() {
            line.push_str(&format!("  [{}]", labels.join(" ")));
        }
    }
    line
}

/// The closing summary of a message's story.
pub fn story_summary(id: &str, docs: &[Value]) -> String {
    let of = |action: &str| docs.iter().filter(|d| d["event.action"] == action).count();
    let attempts = docs
        .iter()
        .filter_map(|d| d["ferry.attempt"].as_u64())
        .max()
        .unwrap_or(0);
    let outcome = docs
        .iter()
        .rev()
        .find_map(|d| match d["event.action"].as_str()? {
            "message.done" => Some("done"),
            "message.dead_lettered" => Some("dead-lettered"),
            "message.retried" => Some("waiting for a retry"),
            "message.handed_back" => Some("handed back"),
            "message.received" => Some("in progress"),
            _ => None,
        })
        .unwrap_or("not received yet");
    format!(
        "message {id}: {} events; received {} times, {attempts} attempts counted, {} retries; outcome: {outcome}; published {}; {} worker log lines",
        docs.len(),
        of("message.received"),
        of("message.retried"),
        of("message.published"),
        of("worker.log"),
    )
}

/// The closing line of a trace's story.
pub fn trace_summary(id: &str, docs: &[Value]) -> String {
    let mut messages: Vec<&str> = docs
        .iter()
        .filter_map(|d| d["ferry.message_id"].as_str())
        .collect();
    messages.sort_unstable();
    messages.dedup();
    let mut services: Vec<&str> = docs
        .iter()
        .filter_map(|d| d["service.name"].as_str())
        .collect();
    services.sort_unstable();
    services.dedup();
    format!(
        "trace {id}: {} events about {} messages, from {}",
        docs.len(),
        messages.len(),
        services.join(", ")
    )
}

/// Runs `ferry logs`: Elasticsearch when configured, else the local store.
pub(super) async fn run(cfg: &FerryConfig, args: LogsArgs) -> Result<(), CliError> {
    if let Some(es) = &cfg.logs.elasticsearch {
        return search::run(es, args).await;
    }
    let Some(store) = cfg.local_logs() else {
        return Err(CliError::usage(
            "`ferry logs` reads from Elasticsearch ([logs.elasticsearch]) or from the local store ([logs.local], on by default only with the embedded backend): configure one of them",
        ));
    };
    local::run(&store.path, args).await
}

#[cfg(not(feature = "embedded"))]
mod local {
    use super::{CliError, LogsArgs};

    pub(super) async fn run(_: &std::path::Path, _: LogsArgs) -> Result<(), CliError> {
        Err(CliError::usage(
            "this ferry was built without the `embedded` feature, which the local log store needs",
        ))
    }
}

#[cfg(feature = "embedded")]
mod local;

#[cfg(not(feature = "elasticsearch"))]
mod search {
    use super::{CliError, LogsArgs};
    use crate::telemetry::elasticsearch::ElasticsearchConfig;

    pub(super) async fn run(_: &ElasticsearchConfig, _: LogsArgs) -> Result<(), CliError> {
        Err(CliError::usage(
            "this ferry was built without the `elasticsearch` feature",
        ))
    }
}

#[cfg(feature = "elasticsearch")]
pub(crate) mod search;
