//! The Elasticsearch side of `ferry logs`: one search (latest first, printed oldest first),
//! a message's story (all of it, in order, with a summary), following new events, and
//! `ferry logs setup`.

use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use elasticsearch::{Elasticsearch, SearchParts};
use serde_json::{Value, json};

use super::{CliError, LogsArgs, LogsCommand, format_line, query, story_summary};
use crate::telemetry::elasticsearch::{ElasticsearchConfig, bulk, template};

/// How far back a follow looks again for events that became searchable late.
const LOOKBACK_MS: i64 = 10_000;

/// The most events a story shows.
pub(crate) const STORY_MAX: usize = 10_000;

/// One event found.
pub(crate) struct Hit {
    id: String,
    /// The stored document.
    pub(crate) doc: Value,
    ms: i64,
}

/// One search of `data_stream`: up to `size` events matching `query`, sorted by time
/// (`order`: `asc` or `desc`).
pub(crate) async fn search(
    client: &Elasticsearch,
    data_stream: &str,
    query: &Value,
    size: usize,
    order: &str,
) -> Result<Vec<Hit>, CliError> {
    let body = json!({
        "query": query,
        "size": size,
        "sort": [
            {"@timestamp": {"order": order}},
            {"event.sequence": {"order": order, "unmapped_type": "long"}}
        ],
        "track_total_hits": false
    });
    let response = client
        .search(SearchParts::Index(&[data_stream]))
        .ignore_unavailable(true)
        .allow_no_indices(true)
        .body(body)
        .send()
        .await
        .map_err(|e| CliError::failure(format!("searching {data_stream}: {e}")))?;
    let status = response.status_code().as_u16();
    if status != 200 {
        let text = response.text().await.unwrap_or_default();
        return Err(CliError::failure(format!(
            "searching {data_stream}: HTTP {status}: {text}"
        )));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| CliError::failure(format!("searching {data_stream}: {e}")))?;
    let hits = body["hits"]["hits"].as_array().cloned().unwrap_or_default();
    Ok(hits
        .into_iter()
        .map(|h| Hit {
            id: h["_id"].as_str().unwrap_or_default().to_owned(),
            ms: h["sort"][0].as_i64().unwrap_or(0),
            doc: h["_source"].clone(),
        })
        .collect())
}

fn print(hit: &Hit, as_json: bool) {
    if as_json {
        println!("{}", hit.doc);
    } else {
        println!("{}", format_line(&hit.doc));
    }
}

/// Runs `ferry logs` against `es`.
pub(super) async fn run(es: &ElasticsearchConfig, args: LogsArgs) -> Result<(), CliError> {
    let client =
        bulk::connect(es).map_err(|e| CliError::usage(format!("logs.elasticsearch.{e}")))?;
    let ds = es.data_stream.as_str();
    if let Some(LogsCommand::Setup) = args.command {
        let done = template::install(&client, ds, true)
            .await
            .map_err(CliError::failure)?;
        println!("{done}");
        return Ok(());
    }
    let q = query(&args)?;
    let hits = match &args.message {
        Some(id) => {
            let hits = search(&client, ds, &q, STORY_MAX, "asc").await?;
            if hits.is_empty() && !args.follow {
                return Err(CliError::failure(format!(
                    "no events about message {id} in {ds}"
                )));
            }
            hits
        }
        None => {
            let mut hits = search(&client, ds, &q, args.limit, "desc").await?;
            hits.reverse();
            hits
        }
    };
    for hit in &hits {
        print(hit, args.json);
    }
    if let (Some(id), false) = (&args.message, args.json) {
        let docs: Vec<Value> = hits.iter().map(|h| h.doc.clone()).collect();
        println!("{}", story_summary(id, &docs));
    }
    if args.follow {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let last = hits.iter().map(|h| h.ms).max().unwrap_or(now_ms);
        let seen = hits.into_iter().map(|h| (h.id, h.ms)).collect();
        follow(&client, ds, &q, args.json, last, seen).await;
    }
    Ok(())
}

/// Prints events from `last_ms` on (those not in `seen`) as they become searchable,
/// forever. Each poll looks `LOOKBACK_MS` back, for events that became searchable late.
async fn follow(
    client: &Elasticsearch,
    ds: &str,
    q: &Value,
    as_json: bool,
    mut last_ms: i64,
    mut seen: HashMap<String, i64>,
) {
    let start_ms = last_ms;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let window = json!({"bool": {
            "filter": [q, {"range": {"@timestamp": {
                "gte": last_ms - LOOKBACK_MS, "format": "epoch_millis"
            }}}]
        }});
        match search(client, ds, &window, 1000, "asc").await {
            Ok(hits) => {
                for hit in hits {
                    if hit.ms < start_ms || seen.contains_key(&hit.id) {
                        continue;
                    }
                    print(&hit, as_json);
                    last_ms = last_ms.max(hit.ms);
                    seen.insert(hit.id, hit.ms);
                }
                seen.retain(|_, ms| *ms >= last_ms - LOOKBACK_MS);
            }
            Err(e) => eprintln!("ferry: {}", e.message),
        }
    }
}
