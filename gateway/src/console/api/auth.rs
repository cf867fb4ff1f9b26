//! The checks in front of every API route. The heartbeat needs the sidecars' token; every
//! other route the operators' token (when one is configured), as `Authorization: Bearer`,
//! compared in constant time. A change (any method but GET/HEAD) also needs
//! `X-Ferry-Csrf: 1` — a header a cross-site page cannot send without CORS, which the
//! console never allows — and, when the browser says where it comes from (`Origin`,
//! `Sec-Fetch-Site`), the same origin; in read-only mode it is refused with 403.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::State,
    http::{Method, Request, StatusCode, header},
    middleware::Next,
    response::Response,
};
use subtle::ConstantTimeEq as _;

use super::{Console, error};

/// Whether `given` is `expected`, in time independent of where they differ.
pub fn same_token(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

fn bearer(request: &Request<Body>) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Whether the browser says the request comes from this origin (or says nothing).
fn same_origin(request: &Request<Body>) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        == Some(host)
}

/// The middleware.
pub async fn check(
    State(console): State<Arc<Console>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let settings = &console.settings;
    if path == "/api/v1/heartbeat" {
        if let Some(expected) = settings.sidecar_token.as_deref()
            && !bearer(&request).is_some_and(|t| same_token(t, expected))
        {
            return error(
                StatusCode::UNAUTHORIZED,
                "the heartbeat needs the sidecar token ([console] token)",
            );
        }
        return next.run(request).await;
    }
    if let Some(expected) = settings.token.as_deref()
        && !bearer(&request).is_some_and(|t| same_token(t, expected))
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "this console needs its token (Authorization: Bearer ...)",
        );
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        if settings.read_only {
            return error(StatusCode::FORBIDDEN, "the console is read-only");
        }
        let csrf = request
            .headers()
            .get("x-ferry-csrf")
            .and_then(|v| v.to_str().ok())
            == Some("1");
        if !csrf || !same_origin(&request) {
            return error(
                StatusCode::FORBIDDEN,
                "a change needs the X-Ferry-Csrf: 1 header and the console's own origin",
            );
        }
    }
    next.run(request).await
}
