//! The API's changes, each audited with who made it (`X-Ferry-Actor`, else `operator`)
//! and from where: pause and resume, per realm too, fleet-wide limits, dead letters, and
//! publishing. Bodies are JSON, at most 1 MiB.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Console, answer, error, key};
use crate::console::actions::{Actor, PublishRequest};

/// The largest request body.
const MAX_BODY: usize = 1024 * 1024;

fn actor(headers: &HeaderMap, peer: Option<SocketAddr>) -> Actor {
    let name = headers
        .get("x-ferry-actor")
        .and_then(|v| v.to_str().ok())
        .map(|s| {
            s.chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        })
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "operator".to_owned());
    Actor {
        name,
        peer: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
    }
}

/// The peer address, where the server recorded it (`ConnectInfo`).
pub struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

async fn body<T: DeserializeOwned + Default>(body: Body) -> Result<T, Response> {
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| error(StatusCode::PAYLOAD_TOO_LARGE, "the body is at most 1 MiB"))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

/// `POST .../pause`.
pub async fn pause(
    State(c): State<Arc<Console>>,
    Path((b, n)): Path<(String, String)>,
    peer: Peer,
    h: HeaderMap,
) -> Response {
    answer(c.pause(&actor(&h, peer.0), &key(b, n), true).await)
}

/// `POST .../resume`.
pub async fn resume(
    State(c): State<Arc<Console>>,
    Path((b, n)): Path<(String, String)>,
    peer: Peer,
    h: HeaderMap,
) -> Response {
    answer(c.pause(&actor(&h, peer.0), &key(b, n), false).await)
}

/// `POST .../realms/{realm}/pause`.
pub async fn pause_realm(
    State(c): State<Arc<Console>>,
    Path((b, n, realm)): Path<(String, String, String)>,
    peer: Peer,
    h: HeaderMap,
) -> Response {
    answer(
        c.pause_realm(&actor(&h, peer.0), &key(b, n), &realm, true)
            .await,
    )
}

/// `POST .../realms/{realm}/resume`.
pub async fn resume_realm(
    State(c): State<Arc<Console>>,
    Path((b, n, realm)): Path<(String, String, String)>,
    peer: Peer,
    h: HeaderMap,
) -> Response {
    answer(
        c.pause_realm(&actor(&h, peer.0), &key(b, n), &realm, false)
            .await,
    )
}

/// `PUT .../limits` with `{"max_in_flight": n|null, "max_in_flight_per_realm": ..., "rate_limit": ...}`.
pub async fn limits(
    State(c): State<Arc<Console>>,
    Path((b, n)): Path<(String, String)>,
    peer: Peer,
    h: HeaderMap,
    raw: Body,
) -> Response {
    let change: BTreeMap<String, Value> = match body(raw).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    answer(c.set_limits(&actor(&h, peer.0), &key(b, n), &change).await)
}

/// The body of a redrive or delete: chosen ids, or all.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Chosen {
    #[serde(default)]
    ids: Option<Vec<String>>,
    #[serde(default)]
    all: bool,
}

/// `POST .../dead-letters/redrive` with `{"ids": [...]}` or `{"all": true}`.
pub async fn redrive(
    State(c): State<Arc<Console>>,
    Path((b, n)): Path<(String, String)>,
    peer: Peer,
    h: HeaderMap,
    raw: Body,
) -> Response {
    let chosen: Chosen = match body(raw).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let ids = match (chosen.ids, chosen.all) {
        (Some(ids), false) => Some(ids),
        (None, true) => None,
        _ => return error(StatusCode::BAD_REQUEST, "give either ids or all: true"),
    };
    answer(c.redrive(&actor(&h, peer.0), &key(b, n), ids).await)
}

/// `POST .../dead-letters/delete` with `{"ids": [...]}`.
pub async fn delete(
    State(c): State<Arc<Console>>,
    Path((b, n)): Path<(String, String)>,
    peer: Peer,
    h: HeaderMap,
    raw: Body,
) -> Response {
    let chosen: Chosen = match body(raw).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(ids) = chosen.ids.filter(|_| !chosen.all) else {
        return error(StatusCode::BAD_REQUEST, "give ids (purge deletes all)");
    };
    answer(
        c.delete_dead_letters(&actor(&h, peer.0), &key(b, n), ids)
            .await,
    )
}

/// The body of a purge.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Purge {
    #[serde(default)]
    confirm: String,
}

/// `POST .../dead-letters/purge` with `{"confirm": "<error queue>"}`.
pub async fn purge(
    State(c): State<Arc<Console>>,
    Path((b, n)): Path<(String, String)>,
    peer: Peer,
    h: HeaderMap,
    raw: Body,
) -> Response {
    let p: Purge = match body(raw).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    answer(c.purge(&actor(&h, peer.0), &key(b, n), &p.confirm).await)
}

/// `POST /api/v1/publish`.
pub async fn publish(
    State(c): State<Arc<Console>>,
    peer: Peer,
    h: HeaderMap,
    raw: Body,
) -> Response {
    let bytes = match axum::body::to_bytes(raw, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "the body is at most 1 MiB"),
    };
    let request: PublishRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")),
    };
    answer(c.publish(&actor(&h, peer.0), request).await)
}
