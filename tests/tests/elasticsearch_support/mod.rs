//! Shared by the `elasticsearch_*` tests: where the test Elasticsearch is, a config that
//! ships ferry's logs there (into a data stream of the test's own, with its own spool and
//! reject file), and reading documents back.
#![allow(dead_code)]

use std::{path::PathBuf, time::SystemTime};

use ferry::telemetry::elasticsearch::{
    ElasticsearchConfig, bulk,
    client::{
        Elasticsearch, SearchParts,
        indices::{IndicesGetFieldMappingParts, IndicesRefreshParts},
    },
};
use serde_json::{Value, json};

/// The Elasticsearch started by `scripts/servers/elasticsearch.sh start`.
pub fn es_url() -> String {
    std::env::var("FERRY_TEST_ELASTICSEARCH_URL").unwrap_or_else(|_| {
        panic!(
            "FERRY_TEST_ELASTICSEARCH_URL is not set: start Elasticsearch with \
             `eval \"$(scripts/servers/elasticsearch.sh start)\"` (scripts/test.sh does it for every server)"
        )
    })
}

/// A client for `url`.
pub fn client(url: &str) -> Elasticsearch {
    bulk::connect(&ElasticsearchConfig::new(url)).unwrap()
}

/// Where one test's ferry ships its logs.
pub struct Logs {
    pub url: String,
    pub data_stream: String,
    dir: tempfile::TempDir,
}

impl Logs {
    /// A data stream of its own (`logs-ferry-test-<tag>-<unique>`) on `url`.
    pub fn new(url: &str, tag: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Self {
            url: url.to_owned(),
            data_stream: format!("logs-ferry-test-{tag}-{}-{nanos}", std::process::id()),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn spool_dir(&self) -> PathBuf {
        self.dir.path().join("spool")
    }

    pub fn reject_file(&self) -> PathBuf {
        self.dir.path().join("rejects.ndjson")
    }

    /// The `[logs]` tables: Elasticsearch, and a copy on stdout (the harness reads it), fast
    /// flushes and retries; `extra` lines go into `[logs.elasticsearch]`.
    pub fn toml(&self, extra: &str) -> String {
        format!(
            "[logs]\nstdout = true\n[logs.elasticsearch]\nurl = \"{}\"\ndata_stream = \"{}\"\n\
             spool_dir = {:?}\nreject_file = {:?}\nflush_interval = \"100ms\"\n\
             retry = {{ min = \"100ms\", max = \"1s\" }}\n{extra}\n",
            self.url,
            self.data_stream,
            self.spool_dir().display().to_string(),
            self.reject_file().display().to_string(),
        )
    }

    pub fn client(&self) -> Elasticsearch {
        client(&self.url)
    }

    /// Every document matching `query`, in indexing order (`_seq_no`; one shard), each with
    /// `_id` and `_seq_no` added. Refreshes first so everything stored is searchable.
    pub async fn docs(&self, query: Value) -> Vec<Value> {
        let c = self.client();
        let _ = c
            .indices()
            .refresh(IndicesRefreshParts::Index(&[&self.data_stream]))
            .send()
            .await;
        let response = c
            .search(SearchParts::Index(&[&self.data_stream]))
            .ignore_unavailable(true)
            .allow_no_indices(true)
            .body(json!({
                "query": query,
                "size": 10000,
                "seq_no_primary_term": true,
                "sort": [{"_seq_no": "asc"}]
            }))
            .send()
            .await;
        let Ok(response) = response else {
            return Vec::new();
        };
        let body: Value = response.json().await.unwrap_or_default();
        body["hits"]["hits"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|h| {
                let mut doc = h["_source"].clone();
                doc["_id"] = h["_id"].clone();
                doc["_seq_no"] = h["_seq_no"].clone();
                doc
            })
            .collect()
    }

    /// Every document.
    pub async fn all(&self) -> Vec<Value> {
        self.docs(json!({"match_all": {}})).await
    }

    /// Documents about message `id`.
    pub async fn about(&self, id: &str) -> Vec<Value> {
        self.docs(json!({"term": {"ferry.message_id": id}})).await
    }

    /// Documents with `event.action == action`.
    pub async fn of(&self, action: &str) -> Vec<Value> {
        self.docs(json!({"term": {"event.action": action}})).await
    }

    /// The mapped type of `field` in the data stream.
    pub async fn field_type(&self, field: &str) -> Option<String> {
        let response = self
            .client()
            .indices()
            .get_field_mapping(IndicesGetFieldMappingParts::IndexFields(
                &[&self.data_stream],
                &[field],
            ))
            .send()
            .await
            .ok()?;
        let body: Value = response.json().await.ok()?;
        let leaf = field.rsplit('.').next()?;
        body.as_object()?.values().find_map(|index| {
            index["mappings"][field]["mapping"][leaf]["type"]
                .as_str()
                .map(str::to_owned)
        })
    }
}

/// The value of metric `name` (without labels) in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}
