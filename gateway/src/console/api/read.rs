//! The API's reads: the overview, a subscription, dead letters, sidecars, realms, the
//! controls in force, the audit log, the backends, a message's story, and the session
//! (what the page may do).

use std::{sync::Arc, time::SystemTime};

use axum::{
    extract::{Path, State},
    http::{StatusCode, Uri},
    response::Response,
};
use serde_json::json;

use super::{Console, answer, error, key, ok, query_param};
use crate::console::{state::minute_of, store, story::StoryError, views};

/// The window of a page, `?minutes=` (default 60, at most a week).
fn minutes(uri: &Uri) -> i64 {
    query_param(uri.query(), "minutes")
        .and_then(|m| m.parse().ok())
        .unwrap_or(60i64)
        .clamp(1, 7 * 24 * 60)
}

/// `GET /api/v1/session`.
pub async fn session(State(c): State<Arc<Console>>) -> Response {
    ok(json!({
        "read_only": c.settings.read_only,
        "token_required": c.settings.token.is_some(),
        "story_source": c.story.describe(),
        "ferry_version": env!("CARGO_PKG_VERSION"),
        "refused_heartbeats": c.refused_beats(),
    }))
}

/// `GET /api/v1/subscriptions?name=&backend=&state=`: the overview, filtered.
pub async fn subscriptions(State(c): State<Arc<Console>>, uri: Uri) -> Response {
    let q = uri.query();
    let name = query_param(q, "name").unwrap_or_default().to_lowercase();
    let backend = query_param(q, "backend").unwrap_or_default();
    let state = query_param(q, "state").unwrap_or_default();
    let rows: Vec<_> = views::subscriptions(&c)
        .into_iter()
        .filter(|r| {
            (name.is_empty()
                || r.name.to_lowercase().contains(&name)
                || r.queue.to_lowercase().contains(&name)
                || r.services.iter().any(|s| s.to_lowercase().contains(&name)))
                && (backend.is_empty() || r.backend == backend || r.backend_kind == backend)
                && (state.is_empty() || r.state == state)
        })
        .collect();
    let (live, stale) = c.with_fleet(|f| {
        let now = std::time::Instant::now();
        let live = f.sidecars().filter(|s| f.is_live(s, now)).count();
        (live, f.len() - live)
    });
    ok(json!({ "subscriptions": rows, "sidecars": { "live": live, "stale": stale } }))
}

/// `GET /api/v1/subscriptions/{backend}/{name}?minutes=`.
pub async fn subscription(
    State(c): State<Arc<Console>>,
    Path((backend, name)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    match views::subscription(&c, &key(backend, name), minutes(&uri)).await {
        Ok(Some(d)) => ok(serde_json::to_value(d).unwrap_or_default()),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "no sidecar reports this subscription",
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// `GET /api/v1/subscriptions/{backend}/{name}/dead-letters?limit=`.
pub async fn dead_letters(
    State(c): State<Arc<Console>>,
    Path((backend, name)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let limit = query_param(uri.query(), "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(50);
    answer(c.dead_letters(&key(backend, name), limit).await)
}

/// `GET /api/v1/sidecars`.
pub async fn sidecars(State(c): State<Arc<Console>>) -> Response {
    ok(json!({ "sidecars": views::sidecars(&c, None) }))
}

/// `GET /api/v1/realms?minutes=`: the realms with the most handling time.
pub async fn realms(State(c): State<Arc<Console>>, uri: Uri) -> Response {
    let since = minute_of(SystemTime::now()) - minutes(&uri) + 1;
    match c
        .store
        .call(move |s| store::top_realms(s, since, 100))
        .await
    {
        Ok(rows) => {
            let total: u64 = rows.iter().map(|(_, a)| a.handling_ms).sum();
            let rows: Vec<_> = rows
                .into_iter()
                .map(|(realm, a)| {
                    #[allow(clippy::cast_precision_loss)]
                    let share = if total == 0 {
                        0.0
                    } else {
                        a.handling_ms as f64 / total as f64
                    };
                    json!({ "realm": realm, "done": a.done, "retried": a.retried,
                        "dead_lettered": a.dead_lettered, "handling_ms": a.handling_ms,
                        "share": share, "p95_ms": a.percentile(0.95) })
                })
                .collect();
            ok(json!({ "realms": rows, "minutes": minutes(&uri) }))
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// `GET /api/v1/realms/{realm}?minutes=`.
pub async fn realm(State(c): State<Arc<Console>>, Path(realm): Path<String>, uri: Uri) -> Response {
    match views::realm(&c, &realm, minutes(&uri)).await {
        Ok(d) => ok(serde_json::to_value(d).unwrap_or_default()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// `GET /api/v1/controls`: every control in force, with who set it.
pub async fn controls(State(c): State<Arc<Console>>) -> Response {
    let rows: Vec<_> = c
        .controls()
        .into_iter()
        .map(|(k, controls)| json!({ "backend": k.backend, "name": k.name, "controls": controls }))
        .collect();
    ok(json!({ "controls": rows }))
}

/// `GET /api/v1/audit?limit=`.
pub async fn audit(State(c): State<Arc<Console>>, uri: Uri) -> Response {
    let limit = query_param(uri.query(), "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize)
        .clamp(1, 1000);
    match c.store.call(move |s| store::audit_list(s, limit)).await {
        Ok(entries) => ok(json!({ "audit": entries })),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// `GET /api/v1/backends`: the configured backends (kinds and places, no secrets).
pub async fn backends(State(c): State<Arc<Console>>) -> Response {
    let rows: Vec<_> = c
        .backends
        .iter()
        .map(|(name, e)| json!({ "name": name, "kind": e.reference.kind, "locator": e.reference.locator }))
        .collect();
    ok(json!({ "backends": rows }))
}

/// `GET /api/v1/messages/{id}`: the message's story.
pub async fn message(State(c): State<Arc<Console>>, Path(id): Path<String>) -> Response {
    match c.story.story(&id).await {
        Ok(events) => ok(json!({ "id": id, "source": c.story.describe(), "events": events })),
        Err(StoryError::Unavailable(why)) => error(StatusCode::NOT_IMPLEMENTED, why),
        Err(StoryError::Failed(why)) => error(StatusCode::BAD_GATEWAY, why),
    }
}
