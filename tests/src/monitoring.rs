//! A stand-in for Google's Cloud Monitoring API — a **mock**, named as such: the service
//! cannot run here and Google's Pub/Sub emulator has no Monitoring. It answers
//! `GET /v3/projects/{project}/timeSeries` the way Google documents it for the metric
//! ferry reads (`pubsub.googleapis.com/subscription/num_undelivered_messages`): one series
//! per subscription named in the filter's `one_of(...)` that the test gave a sample, newest
//! point first, int64 values as JSON strings. It records every request, and can be told
//! to fail with a status and body. It listens on 127.0.0.1, on a free port, until dropped.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

/// A request the mock received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The project in the path.
    pub project: String,
    /// The query's pairs.
    pub query: HashMap<String, String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Inner {
    /// Subscription id → (value, end time in RFC 3339).
    samples: HashMap<String, (u64, String)>,
    /// The answer instead of the series.
    failure: Option<(u16, String)>,
    seen: Vec<Seen>,
}

/// The mock server.
pub struct MockMonitoring {
    url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockMonitoring {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The subscription ids of a filter's `one_of("a", "b")`.
fn ids_in(filter: &str) -> Vec<String> {
    let Some(start) = filter.find("one_of(") else {
        return Vec::new();
    };
    let rest = &filter[start + "one_of(".len()..];
    let list = &rest[..rest.find(')').unwrap_or(rest.len())];
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

async fn time_series(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(project): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    inner.seen.push(Seen {
        project: project.clone(),
        query: query.clone(),
        authorization,
    });
    if let Some((status, body)) = &inner.failure {
        return (StatusCode::from_u16(*status).unwrap(), body.clone()).into_response();
    }
    let filter = query.get("filter").cloned().unwrap_or_default();
    if !filter.contains("pubsub.googleapis.com/subscription/num_undelivered_messages") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "unexpected filter"}})),
        )
            .into_response();
    }
    let series: Vec<Value> = ids_in(&filter)
        .into_iter()
        .filter_map(|id| {
            let (value, end) = inner.samples.get(&id)?;
            Some(json!({
                "metric": {"type": "pubsub.googleapis.com/subscription/num_undelivered_messages"},
                "resource": {"type": "pubsub_subscription", "labels": {"project_id": project, "subscription_id": id}},
                "metricKind": "GAUGE",
                "valueType": "INT64",
                "points": [{"interval": {"startTime": end, "endTime": end}, "value": {"int64Value": value.to_string()}}],
            }))
        })
        .collect();
    Json(json!({"timeSeries": series})).into_response()
}

impl MockMonitoring {
    /// Starts the mock on 127.0.0.1, a free port.
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/v3/projects/{project}/timeSeries", get(time_series))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, inner, task }
    }

    /// Its base URL (`backend.pubsub.monitoring_endpoint`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Gives subscription `sub` a sample of `value` ending at `end` (RFC 3339).
    pub fn sample(&self, sub: &str, value: u64, end: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner
            .samples
            .insert(sub.to_owned(), (value, end.to_owned()));
    }

    /// Answers every request with `status` and `body` from now on (`None`: normally again).
    pub fn fail(&self, failure: Option<(u16, &str)>) {
        self.inner.lock().unwrap().failure = failure.map(|(s, b)| (s, b.to_owned()));
    }

    /// The requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().seen.clone()
    }
}
