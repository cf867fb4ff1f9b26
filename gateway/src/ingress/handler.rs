//! One request through the ingress, cheapest refusals first: route and method (404, 405),
//! the backend's publish health (503), the route's rate limit (429), the in-flight bound
//! (503), the content type (415), the body read under its limit and timeout (413, 408),
//! the signature (401), JSON and the schema (400), the realm and de-duplication id (400);
//! then a repeated delivery is answered with its original id, or the request is published
//! and answered 2xx once the backend has confirmed it. One event per request.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use axum::{
    body::Body,
    extract::{Request, State},
    response::Response,
};
use ferry_proto::v1::OutgoingMessage;
use http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::Semaphore;

use super::{
    answer::{Problem, accepted},
    dedup::{DedupRecord, KeyLocks},
    readiness::{Admit, PublishHealth},
    route::{MAX_DEDUP_ID, MAX_REALM_LEN, Route},
};
use crate::{
    backend::Backend,
    config::LimitsConfig,
    message::{to_new_message, trace_id_of},
    telemetry::{
        Telemetry,
        events::{IngressAccepted, IngressRejected},
    },
};

/// Everything a request needs.
pub struct Ingress {
    /// The routes, by index in `router`.
    pub routes: Vec<Route>,
    /// Path → route index.
    pub router: matchit::Router<usize>,
    /// Where requests are published.
    pub backend: Arc<dyn Backend>,
    /// Events.
    pub telemetry: Telemetry,
    /// The payload and attribute limits.
    pub limits: LimitsConfig,
    /// The backend's publish health.
    pub health: PublishHealth,
    /// Whether requests probe a refusing backend (it has no statistics to probe with).
    pub requests_probe: bool,
    /// Ferry's own de-duplication record (`None` where the backend de-duplicates).
    pub dedup: Option<DedupRecord>,
    /// Requests with the same de-duplication id, one at a time.
    pub locks: KeyLocks,
    /// The in-flight bound.
    pub permits: Arc<Semaphore>,
    /// Retry-After of a 503, in seconds.
    pub retry_after: u64,
    /// How long a publish may take.
    pub publish_timeout: Duration,
    /// How long the body may take.
    pub body_timeout: Duration,
}

/// What the event of a refused request needs besides the problem.
struct Refused {
    problem: Problem,
    reason: &'static str,
    detail: String,
}

fn refuse(status: StatusCode, reason: &'static str, detail: impl Into<String>) -> Refused {
    Refused {
        problem: Problem::new(status),
        reason,
        detail: detail.into(),
    }
}

impl Refused {
    /// The client sees `detail` too (it holds nothing secret).
    fn shown(mut self) -> Self {
        self.problem = self.problem.detail(self.detail.clone());
        self
    }
}

/// What an accepted request produced.
struct Done {
    message_id: String,
    realm: String,
    dedup_id: Option<String>,
    duplicate: bool,
    trace_id: String,
    warning: Option<String>,
}

/// Frees the probe slot when a probe request ends without a publish outcome.
struct ProbeGuard<'a>(Option<&'a PublishHealth>);

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if let Some(h) = self.0 {
            h.abandon_probe();
        }
    }
}

/// The axum handler.
pub async fn handle(State(ingress): State<Arc<Ingress>>, request: Request) -> Response {
    let start = Instant::now();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let matched = ingress.router.at(&path).ok().map(|m| {
        let params: Vec<(String, String)> = m
            .params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (*m.value, params)
    });
    let Some((index, params)) = matched else {
        return rejected(
            &ingress,
            "",
            &parts.method,
            &path,
            start,
            refuse(
                StatusCode::NOT_FOUND,
                "not_found",
                "no route serves this path",
            ),
        );
    };
    let route = &ingress.routes[index];
    match accept(&ingress, route, &parts.method, &parts.headers, params, body).await {
        Ok(done) => {
            ingress.telemetry.emit(IngressAccepted {
                route: &route.name,
                queue: &route.queue,
                message_id: &done.message_id,
                status: route.status.as_u16(),
                realm: &done.realm,
                dedup_id: done.dedup_id.as_deref(),
                duplicate: done.duplicate,
                trace_id: &done.trace_id,
                duration: start.elapsed(),
                warning: done.warning,
            });
            accepted(route.status, &done.message_id)
        }
        Err(refused) => rejected(&ingress, &route.name, &parts.method, &path, start, refused),
    }
}

fn rejected(
    ingress: &Ingress,
    route: &str,
    method: &http::Method,
    path: &str,
    start: Instant,
    refused: Refused,
) -> Response {
    let shown_path: String = path.chars().take(256).collect();
    ingress.telemetry.emit(IngressRejected {
        route,
        method: method.as_str(),
        path: &shown_path,
        status: refused.problem.status.as_u16(),
        reason: refused.reason,
        detail: &refused.detail,
        duration: start.elapsed(),
    });
    refused.problem.response()
}

fn unavailable(ingress: &Ingress, reason: &'static str, detail: impl Into<String>) -> Refused {
    let mut r = refuse(StatusCode::SERVICE_UNAVAILABLE, reason, detail);
    r.problem = r
        .problem
        .detail("the queue cannot take the request now; retry later")
        .retry_after(ingress.retry_after);
    r
}

async fn accept(
    ingress: &Ingress,
    route: &Route,
    method: &http::Method,
    headers: &HeaderMap,
    params: Vec<(String, String)>,
    body: Body,
) -> Result<Done, Refused> {
    if !route.methods.contains(method) {
        let mut r = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not one of {}", route.allow),
        )
        .shown();
        r.problem.allow = Some(route.allow.clone());
        return Err(r);
    }
    let admit = ingress.health.admit(Instant::now(), ingress.requests_probe);
    let _probe = ProbeGuard((admit == Admit::Probe).then_some(&ingress.health));
    if admit == Admit::Refuse {
        let why = ingress.health.ready().err().unwrap_or_default();
        return Err(unavailable(
            ingress,
            "backend_unavailable",
            format!("the backend refuses publishes: {why}"),
        ));
    }
    if let Some(limiter) = &route.limiter
        && let Err(not_until) = limiter.check()
    {
        use governor::clock::{Clock as _, DefaultClock};
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut r = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "over the route's rate limit",
        )
        .shown();
        r.problem = r.problem.retry_after(secs);
        return Err(r);
    }
    let Ok(_permit) = ingress.permits.clone().try_acquire_owned() else {
        let mut r = refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "ingress.max_in_flight requests are being handled",
        )
        .shown();
        r.problem = r.problem.retry_after(1);
        return Err(r);
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !route.accepts(content_type) {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type must be one of {}",
                route.content_types.join(", ")
            ),
        )
        .shown());
    }
    let body = read_body(ingress, route, headers, body).await?;
    let received_at = SystemTime::now();
    if let Some(v) = &route.verifier
        && let Err(refusal) = v.verify(headers, &body, received_at)
    {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "signature",
            refusal.to_string(),
        ));
    }
    let json = if route.needs_json {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "not_json",
                    format!("the body is not JSON: {e}"),
                )
                .shown());
            }
        }
    } else {
        None
    };
    if let (Some(schema), Some(value)) = (&route.schema, &json) {
        let violations = schema.violations(value);
        if !violations.is_empty() {
            let detail = violations
                .iter()
                .map(|v| format!("{}: {}", v.pointer, v.detail))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Refused {
                problem: Problem::schema(violations),
                reason: "schema",
                detail,
            });
        }
    }
    let invalid = |detail: String| refuse(StatusCode::BAD_REQUEST, "invalid", detail).shown();
    let read = |source: &Option<super::route::Source>, what: &str, max: usize| {
        let Some(s) = source else {
            return Ok(None);
        };
        match s.read(headers, &params, json.as_ref()) {
            Ok(Some(v)) if v.is_empty() || v.len() > max || v.chars().any(char::is_control) => Err(
                format!("the {what} must be 1-{max} bytes without control characters"),
            ),
            Ok(v) => Ok(v),
            Err(e) => Err(format!("the {what}: {e}")),
        }
    };
    let realm = read(&route.realm, "realm", MAX_REALM_LEN)
        .map_err(invalid)?
        .unwrap_or_default();
    let dedup_id = read(&route.dedup, "de-duplication id", MAX_DEDUP_ID).map_err(invalid)?;
    let (attributes, trace_id) = attributes(route, headers, content_type, received_at);
    let outgoing = OutgoingMessage {
        destination: route.queue.clone(),
        payload: body,
        attributes,
        realm: realm.clone(),
        deduplication_id: dedup_id.clone().unwrap_or_default(),
        ..OutgoingMessage::default()
    };
    let message = to_new_message(
        outgoing,
        &route.realm_attribute,
        None,
        &ingress.limits,
        ingress.backend.horizon(),
    )
    .map_err(|e| invalid(e.to_string()))?;
    let mut done = Done {
        message_id: String::new(),
        realm,
        dedup_id,
        duplicate: false,
        trace_id,
        warning: None,
    };
    // With ferry's own record, one request per id at a time; a repeated one is answered
    // from the record.
    let _key = match (&ingress.dedup, &done.dedup_id) {
        (Some(record), Some(id)) => {
            let guard = ingress.locks.lock(&route.queue, id).await;
            match record.get(&route.queue, id).await {
                Ok(Some(original)) => {
                    done.message_id = original;
                    done.duplicate = true;
                    return Ok(done);
                }
                Ok(None) => {}
                Err(e) => return Err(unavailable(ingress, "backend_unavailable", e)),
            }
            Some(guard)
        }
        _ => None,
    };
    let published = tokio::time::timeout(
        ingress.publish_timeout,
        ingress.backend.publish(vec![message]),
    )
    .await;
    let id = match published {
        Ok(Ok(ids)) if ids.len() == 1 => {
            ingress.health.succeeded();
            ids.into_iter().next().unwrap_or_default()
        }
        Ok(Ok(ids)) => {
            let e = format!("the backend answered {} ids for one message", ids.len());
            return Err(unavailable(ingress, "backend_unavailable", e));
        }
        Ok(Err(e)) => {
            ingress.health.failed(Instant::now(), e.to_string());
            return Err(unavailable(ingress, "backend_unavailable", e.to_string()));
        }
        Err(_) => {
            let e = format!(
                "the publish took longer than ingress.publish_timeout ({})",
                humantime::format_duration(ingress.publish_timeout)
            );
            ingress.health.failed(Instant::now(), e.clone());
            return Err(unavailable(ingress, "backend_unavailable", e));
        }
    };
    if let (Some(record), Some(dedup)) = (&ingress.dedup, &done.dedup_id)
        && let Err(e) = record.put(&route.queue, dedup, &id).await
    {
        // The queue holds the request: it is accepted; only a repeat may be published again.
        done.warning = Some(format!("not recorded for de-duplication: {e}"));
    }
    done.message_id = id;
    Ok(done)
}

async fn read_body(
    ingress: &Ingress,
    route: &Route,
    headers: &HeaderMap,
    body: Body,
) -> Result<bytes::Bytes, Refused> {
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body limit is {} bytes", route.max_body),
        )
        .shown()
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > route.max_body as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(
        ingress.body_timeout,
        Limited::new(body, route.max_body).collect(),
    )
    .await
    {
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "the body did not arrive within {}",
                humantime::format_duration(ingress.body_timeout)
            ),
        )
        .shown()),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => Err(refuse(
            StatusCode::BAD_REQUEST,
            "unreadable_body",
            format!("the body could not be read: {e}"),
        )),
    }
}

/// The message's attributes, and its trace id: the route, the receive time, the content
/// type, the allow-listed headers, and `traceparent` continued from the request (with its
/// `tracestate`) or a new one.
fn attributes(
    route: &Route,
    headers: &HeaderMap,
    content_type: Option<&str>,
    received_at: SystemTime,
) -> (HashMap<String, String>, String) {
    let mut a = HashMap::with_capacity(6 + route.attributes.len());
    a.insert("ingress.route".to_owned(), route.name.clone());
    a.insert(
        "ingress.received_at".to_owned(),
        time::OffsetDateTime::from(received_at)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    );
    if let Some(ct) = content_type {
        a.insert("ingress.content_type".to_owned(), ct.to_owned());
    }
    for (name, key) in &route.attributes {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            a.insert(key.clone(), v.to_owned());
        }
    }
    let incoming = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .filter(|tp| trace_id_of(tp).is_some());
    let traceparent = match incoming {
        Some(tp) => {
            if let Some(ts) = headers.get("tracestate").and_then(|v| v.to_str().ok()) {
                a.insert("tracestate".to_owned(), ts.to_owned());
            }
            tp.to_owned()
        }
        None => new_traceparent(),
    };
    let trace_id = trace_id_of(&traceparent).unwrap_or_default().to_owned();
    a.insert("traceparent".to_owned(), traceparent);
    (a, trace_id)
}

/// A new sampled root `traceparent`.
fn new_traceparent() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    let trace: u128 = rng.random_range(1..=u128::MAX);
    let span: u64 = rng.random_range(1..=u64::MAX);
    format!("00-{trace:032x}-{span:016x}-01")
}
