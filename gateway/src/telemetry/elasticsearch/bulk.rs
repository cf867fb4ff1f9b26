//! One bulk request and what Elasticsearch said about each document, plus the reject file.
//!
//! Every event is sent as `{"create":{"_id":"<event.id>"}}` (data streams only take
//! `create`), so a document sent twice — a batch re-sent after a timeout, or replayed from
//! the spool after a crash — is refused with 409 and counted as delivered, never stored
//! twice. Per document: 2xx and 409 are delivered; 429 and 5xx are retried; any other 4xx
//! (a mapping conflict, a malformed value) is a rejection that goes to the reject file.
//! A failure of the whole request (connection, timeout, non-200) retries the whole batch.

use std::{
    fs::{File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use elasticsearch::{
    BulkParts, Elasticsearch,
    auth::Credentials,
    http::{
        Url,
        headers::{CONTENT_TYPE, HeaderValue},
        transport::{SingleNodeConnectionPool, TransportBuilder},
    },
};
use serde_json::{Value, json};

use super::{config::ElasticsearchConfig, spool::Entry};

/// Builds the client for `cfg` (URL, timeout, credentials).
pub fn connect(cfg: &ElasticsearchConfig) -> Result<Elasticsearch, String> {
    let url = Url::parse(&cfg.url).map_err(|e| format!("url: `{}`: {e}", cfg.url))?;
    let mut builder =
        TransportBuilder::new(SingleNodeConnectionPool::new(url)).timeout(cfg.request_timeout);
    if let Some(key) = &cfg.api_key {
        builder = builder.auth(Credentials::EncodedApiKey(key.clone()));
    } else if let Some(user) = &cfg.username {
        builder = builder.auth(Credentials::Basic(
            user.clone(),
            cfg.password.clone().unwrap_or_default(),
        ));
    }
    let transport = builder
        .build()
        .map_err(|e| format!("url: cannot build the client: {e}"))?;
    Ok(Elasticsearch::new(transport))
}

/// What happened to one document of a bulk request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Stored now.
    Stored,
    /// Already stored (the same id arrived before).
    Duplicate,
    /// Refused for now (429, 5xx): send it again later.
    Retry(String),
    /// Refused for good: goes to the reject file.
    Rejected {
        /// The item's HTTP status.
        status: u16,
        /// Elasticsearch's error type and reason.
        reason: String,
    },
}

/// The answer to a bulk request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The request as a whole failed: send the whole batch again later.
    Failed(String),
    /// One result per document, in request order.
    Items(Vec<Item>),
}

/// The bulk body for `entries` (each must have an id).
pub fn body(entries: &[Entry]) -> Bytes {
    let size: usize = entries.iter().map(|e| e.id.len() + e.doc.len() + 24).sum();
    let mut out = Vec::with_capacity(size);
    for e in entries {
        out.extend_from_slice(b"{\"create\":{\"_id\":\"");
        out.extend_from_slice(e.id.as_bytes());
        out.extend_from_slice(b"\"}}\n");
        out.extend_from_slice(&e.doc);
        out.push(b'\n');
    }
    Bytes::from(out)
}

fn classify(item: &Value) -> Item {
    // Each item is {"create": {...}} (one key, the operation).
    let result = item
        .as_object()
        .and_then(|o| o.values().next())
        .unwrap_or(&Value::Null);
    let status = result["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(0);
    let reason = || {
        let e = &result["error"];
        format!(
            "{}: {}",
            e["type"].as_str().unwrap_or("error"),
            e["reason"].as_str().unwrap_or("no reason given")
        )
    };
    match status {
        200..=299 => Item::Stored,
        409 => Item::Duplicate,
        429 | 500..=599 | 0 => Item::Retry(format!("HTTP {status}: {}", reason())),
        _ => Item::Rejected {
            status,
            reason: reason(),
        },
    }
}

/// Reads a bulk response body for `count` documents.
pub fn parse_response(body: &Value, count: usize) -> Outcome {
    if body["errors"] == Value::Bool(false) {
        return Outcome::Items(vec![Item::Stored; count]);
    }
    let Some(items) = body["items"].as_array() else {
        return Outcome::Failed(format!("bulk response without items: {body}"));
    };
    if items.len() != count {
        return Outcome::Failed(format!(
            "bulk response has {} items for {count} documents",
            items.len()
        ));
    }
    Outcome::Items(items.iter().map(classify).collect())
}

/// Sends `body` (holding `count` documents) to the data stream's bulk endpoint.
pub async fn send(
    client: &Elasticsearch,
    data_stream: &str,
    body: Bytes,
    count: usize,
    timeout: Duration,
) -> Outcome {
    let response = client
        .bulk(BulkParts::Index(data_stream))
        .filter_path(&[
            "errors",
            "items.*.status",
            "items.*.error.type",
            "items.*.error.reason",
        ])
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        )
        .request_timeout(timeout)
        .body(vec![body])
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let status = response.status_code().as_u16();
    if status != 200 {
        let text = response.text().await.unwrap_or_default();
        let text: String = text.chars().take(500).collect();
        return Outcome::Failed(format!("HTTP {status}: {text}"));
    }
    match response.json::<Value>().await {
        Ok(body) => parse_response(&body, count),
        Err(e) => Outcome::Failed(format!("unreadable bulk response: {e}")),
    }
}

/// The reject file: one JSON line per refused document, with the reason.
#[derive(Debug)]
pub struct RejectFile {
    path: PathBuf,
    file: Option<File>,
}

impl RejectFile {
    /// The reject file at `path` (created on the first rejection, with its directory).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            file: None,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entry` with its `status` and `reason`.
    pub fn write(&mut self, entry: &Entry, status: u16, reason: &str) -> io::Result<()> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            self.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let document = serde_json::from_slice::<Value>(&entry.doc)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&entry.doc).into_owned()));
        let at = time::OffsetDateTime::from(SystemTime::now())
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut line = serde_json::to_vec(&json!({
            "rejected_at": at,
            "status": status,
            "reason": reason,
            "event.id": entry.id,
            "document": document,
        }))
        .map_err(io::Error::other)?;
        line.push(b'\n');
        match &mut self.file {
            Some(f) => f.write_all(&line),
            None => Ok(()),
        }
    }
}
