//! The Jaeger v2 collector of `scripts/servers/jaeger.sh`: where ferry sends its spans
//! (`FERRY_TEST_JAEGER_OTLP_GRPC`, `FERRY_TEST_JAEGER_OTLP_HTTP`) and how a test reads a
//! trace back through Jaeger's query API (`FERRY_TEST_JAEGER_QUERY`, `/api/traces/<id>`).

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The value of `name`; panics with how to start Jaeger when unset.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the tracing tests need Jaeger. Run them with scripts/test.sh, \
             or `eval \"$(scripts/servers/jaeger.sh start)\"` first"
        )
    })
}

/// One span of a trace as Jaeger returns it.
#[derive(Debug, Clone)]
pub struct JaegerSpan {
    pub span_id: String,
    pub name: String,
    /// The `CHILD_OF` parent, if any.
    pub parent: Option<String>,
    /// The service (the `service.name` resource).
    pub service: String,
    pub kind: String,
    pub tags: serde_json::Map<String, Value>,
}

impl JaegerSpan {
    /// A tag's value as text.
    pub fn tag(&self, key: &str) -> Option<String> {
        self.tags.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

/// GET `url` (plain HTTP/1.0, so the body is not chunked): status and body.
async fn get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (code, body)
}

/// The spans Jaeger holds for `trace_id` (empty when it has none).
pub async fn trace(trace_id: &str) -> Vec<JaegerSpan> {
    let (code, body) = get(&format!(
        "{}/api/traces/{trace_id}",
        env("FERRY_TEST_JAEGER_QUERY")
    ))
    .await;
    if code != 200 {
        return Vec::new();
    }
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let Some(t) = v["data"].get(0) else {
        return Vec::new();
    };
    let processes = &t["processes"];
    t["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let tags: serde_json::Map<String, Value> = s["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    (
                        t["key"].as_str().unwrap_or_default().to_owned(),
                        t["value"].clone(),
                    )
                })
                .collect();
            JaegerSpan {
                span_id: s["spanID"].as_str().unwrap_or_default().to_owned(),
                name: s["operationName"].as_str().unwrap_or_default().to_owned(),
                parent: s["references"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|r| r["refType"] == "CHILD_OF")
                    .and_then(|r| r["spanID"].as_str())
                    .map(str::to_owned),
                service: processes[s["processID"].as_str().unwrap_or_default()]["serviceName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                kind: tags
                    .get("span.kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                tags,
            }
        })
        .collect()
}
