//! `POST /api/v1/heartbeat`: a sidecar's heartbeat (JSON, at most `max_heartbeat_bytes`),
//! answered with its controls; 413 past the size, 400 for a body that is not a heartbeat,
//! 503 when the console tracks as many live sidecars as it may.

use std::sync::Arc;

use axum::{body::Body, extract::State, http::StatusCode, response::Response};

use super::{Console, error, ok};
use crate::{
    console::state::BeatRefused,
    control::wire::{Heartbeat, SubscriptionReport},
};

/// The most subscriptions one heartbeat may report.
const MAX_SUBSCRIPTIONS: usize = 1000;

/// Takes a heartbeat.
pub async fn heartbeat(State(console): State<Arc<Console>>, body: Body) -> Response {
    let limit = console.settings.max_heartbeat_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a heartbeat is at most {limit} bytes"),
        );
    };
    let beat: Heartbeat = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("not a heartbeat: {e}")),
    };
    if let Some(problem) = problem(&beat) {
        return error(StatusCode::BAD_REQUEST, problem);
    }
    match console.heartbeat(beat) {
        Ok(reply) => ok(serde_json::to_value(reply).unwrap_or_default()),
        Err(BeatRefused::Full) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the console tracks as many live sidecars as it may (max_sidecars)",
        ),
    }
}

/// What makes a heartbeat unusable.
fn problem(beat: &Heartbeat) -> Option<String> {
    let name_ok = |s: &str| crate::config::is_valid_name(s);
    if beat.sidecar.is_empty() || beat.sidecar.len() > 64 {
        return Some("sidecar: 1-64 characters".into());
    }
    if !name_ok(&beat.service) {
        return Some("service: 1-64 letters, digits, '_' or '-'".into());
    }
    if beat.subscriptions.len() > MAX_SUBSCRIPTIONS {
        return Some(format!("at most {MAX_SUBSCRIPTIONS} subscriptions"));
    }
    beat.subscriptions
        .iter()
        .find_map(|s: &SubscriptionReport| {
            (!name_ok(&s.name)).then(|| format!("subscription `{}`: not a valid name", s.name))
        })
}
