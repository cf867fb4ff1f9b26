//! The console's HTTP API, `/api/v1/...` (documented in `docs/CONSOLE.md`), the one the
//! page itself uses, plus the sidecars' `POST /api/v1/heartbeat`. [`auth`] checks tokens,
//! CSRF and read-only mode in front of every route; [`read`] answers the pages, [`act`]
//! changes things (each change audited), [`beat`] takes heartbeats.

mod act;
mod auth;
mod beat;
mod read;

use std::sync::Arc;

use axum::{
    Router,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde_json::{Value, json};

use super::{Console, actions::Failed, fleet::SubKey};

/// The router of the API and the page, over `console`.
pub fn router(console: Arc<Console>) -> Router {
    let sub = "/api/v1/subscriptions/{backend}/{name}";
    let api = Router::new()
        .route("/api/v1/session", get(read::session))
        .route("/api/v1/subscriptions", get(read::subscriptions))
        .route(sub, get(read::subscription))
        .route(&format!("{sub}/dead-letters"), get(read::dead_letters))
        .route(&format!("{sub}/pause"), post(act::pause))
        .route(&format!("{sub}/resume"), post(act::resume))
        .route(
            &format!("{sub}/realms/{{realm}}/pause"),
            post(act::pause_realm),
        )
        .route(
            &format!("{sub}/realms/{{realm}}/resume"),
            post(act::resume_realm),
        )
        .route(&format!("{sub}/limits"), put(act::limits))
        .route(&format!("{sub}/dead-letters/redrive"), post(act::redrive))
        .route(&format!("{sub}/dead-letters/delete"), post(act::delete))
        .route(&format!("{sub}/dead-letters/purge"), post(act::purge))
        .route("/api/v1/sidecars", get(read::sidecars))
        .route("/api/v1/realms", get(read::realms))
        .route("/api/v1/realms/{realm}", get(read::realm))
        .route("/api/v1/controls", get(read::controls))
        .route("/api/v1/audit", get(read::audit))
        .route("/api/v1/backends", get(read::backends))
        .route("/api/v1/messages/{id}", get(read::message))
        .route("/api/v1/publish", post(act::publish))
        .route("/api/v1/heartbeat", post(beat::heartbeat))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such API route") })
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            auth::check,
        ));
    Router::new()
        .merge(api)
        .merge(super::ui::router())
        .with_state(console)
}

/// `value` as a JSON answer with `status`.
fn json_answer(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        value.to_string(),
    )
        .into_response()
}

/// A JSON answer.
fn ok(value: Value) -> Response {
    json_answer(StatusCode::OK, &value)
}

/// A JSON error: `{"error": reason}`.
fn error(status: StatusCode, reason: impl Into<String>) -> Response {
    json_answer(status, &json!({ "error": reason.into() }))
}

/// An action's result as an answer.
fn answer(result: Result<Value, Failed>) -> Response {
    match result {
        Ok(v) => ok(v),
        Err(f) => error(
            StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_GATEWAY),
            f.reason,
        ),
    }
}

/// The subscription a path names.
fn key(backend: String, name: String) -> SubKey {
    SubKey { backend, name }
}

/// The value of `name` in a query string.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

/// Decodes `%XX` escapes and `+` of a query value.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
pub(super) mod tests_support {
    /// The query decoder, for the console's unit tests.
    pub fn query(q: &str, name: &str) -> Option<String> {
        super::query_param(Some(q), name)
    }
}
