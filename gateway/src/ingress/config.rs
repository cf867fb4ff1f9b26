//! `[ingress]` and `[ingress.routes.<name>]`: the webhook ingress's settings. Every number
//! and duration has its range in its type ([`crate::bounded`]); what one field's type
//! cannot say (a path's syntax, keys that only one scheme takes, a body limit above the
//! payload limit) is checked by [`IngressConfig::problems`], each problem naming its key.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

use serde::{Deserialize, Serialize};

use super::verify::VerifyConfig;
use crate::bounded::{Count, Rate, Span};

/// Concurrent requests: 1 to 100 000.
pub type RequestConcurrency = Count<1, 100_000>;
/// A body limit in bytes: 1 B to 64 MiB.
pub type BodyLimit = Count<1, 67_108_864>;
/// How long de-duplication ids are remembered: 1 s to 30 days.
pub type DedupWindow = Span<1_000, 2_592_000_000>;

/// `[ingress]`: HTTP endpoints that verify, validate and enqueue a request, answering 2xx
/// only once the backend has confirmed the publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressConfig {
    /// Listen address (127.0.0.1:8080 by default; port 0 picks a free port, reported in the
    /// `ferry.started` event as `ferry.ingress.address`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The most requests handled at once; a request beyond it is answered 503 with
    /// Retry-After, so memory stays bounded under any load (1 to 100 000).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: RequestConcurrency,
    /// The Retry-After of a 503 while the backend refuses publishes (1 s to 1 h).
    #[serde(default = "default_retry_after")]
    pub retry_after: Span<1_000, 3_600_000>,
    /// How long a publish may take before the request is answered 503 (100 ms to 5 min).
    #[serde(default = "default_publish_timeout")]
    pub publish_timeout: Span<100, 300_000>,
    /// How long a client may take to send the body before it is answered 408 (100 ms to 10 min).
    #[serde(default = "default_body_timeout")]
    pub body_timeout: Span<100, 600_000>,
    /// While the backend refuses publishes: how often ferry checks whether it takes them
    /// again (10 ms to 1 min).
    #[serde(default = "default_probe_interval")]
    pub probe_interval: Span<10, 60_000>,
    /// Ferry's own de-duplication record, for backends that do not de-duplicate by id
    /// with a window of their own (SQS, Pub/Sub; see docs/INGRESS.md).
    #[serde(default)]
    pub dedup: DedupConfig,
    /// The routes, by name (`[ingress.routes.<name>]`). At least one is required.
    #[serde(default)]
    pub routes: BTreeMap<String, RouteConfig>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_max_in_flight() -> RequestConcurrency {
    Count::of(1024)
}
fn default_retry_after() -> Span<1_000, 3_600_000> {
    Span::secs(5)
}
fn default_publish_timeout() -> Span<100, 300_000> {
    Span::secs(10)
}
fn default_body_timeout() -> Span<100, 600_000> {
    Span::secs(30)
}
fn default_probe_interval() -> Span<10, 60_000> {
    Span::secs(1)
}

/// `[ingress.dedup]`: the record of de-duplication ids ferry keeps itself (a SQLite file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupConfig {
    /// The record's file (relative paths are relative to ferry's working directory).
    #[serde(default = "default_dedup_path")]
    pub path: PathBuf,
    /// How long an id is remembered after its first request (1 s to 30 days).
    #[serde(default = "default_dedup_window")]
    pub window: DedupWindow,
    /// The most ids remembered; past it the oldest are forgotten first (1000 to 100 000 000).
    #[serde(default = "default_dedup_max_entries")]
    pub max_entries: Count<1000, 100_000_000>,
}

fn default_dedup_path() -> PathBuf {
    PathBuf::from("ferry-ingress.db")
}
fn default_dedup_window() -> DedupWindow {
    Span::secs(24 * 3600)
}
fn default_dedup_max_entries() -> Count<1000, 100_000_000> {
    Count::of(1_000_000)
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            path: default_dedup_path(),
            window: default_dedup_window(),
            max_entries: default_dedup_max_entries(),
        }
    }
}

/// `[ingress.routes.<name>]`: one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The path, like `/hooks/stripe` or `/hooks/{tenant}/events` (a `{name}` segment can
    /// give the realm). Required.
    pub path: String,
    /// The methods accepted (`POST`, `PUT`, `PATCH`); another one is answered 405.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// The queue (topic on Pub/Sub) the request is published to; defaults to the route's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The largest body in bytes (at most `limits.max_payload_bytes`); more is answered 413
    /// without reading past the limit.
    #[serde(default = "default_max_body")]
    pub max_body: BodyLimit,
    /// The media types accepted (parameters such as `charset` are ignored); another one,
    /// or none, is answered 415.
    #[serde(default = "default_content_types")]
    pub content_types: Vec<String>,
    /// A JSON Schema file the body must match; a violation is answered 400 naming it by
    /// JSON pointer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<PathBuf>,
    /// The signature check; unset accepts unsigned requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyConfig>,
    /// Where the realm (tenant key) comes from: a header, a path segment or a JSON pointer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<ValueSource>,
    /// Where the de-duplication id comes from (`Idempotency-Key`, the provider's event id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<ValueSource>,
    /// The message attribute the realm is written to.
    #[serde(default = "default_realm_attribute")]
    pub realm_attribute: String,
    /// Request headers copied into the message's attributes (as `header.<name>`,
    /// lower-case); no other header is.
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Requests accepted per second; more are answered 429 with Retry-After.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitConfig>,
    /// The answer to an accepted request.
    #[serde(default)]
    pub answer: AnswerConfig,
}

fn default_methods() -> Vec<String> {
    vec!["POST".to_owned()]
}
fn default_max_body() -> BodyLimit {
    Count::of(256 * 1024)
}
fn default_content_types() -> Vec<String> {
    vec!["application/json".to_owned()]
}
fn default_realm_attribute() -> String {
    "realm".to_owned()
}

impl RouteConfig {
    /// The queue requests go to: `queue`, else the route's name.
    pub fn queue_name(&self, name: &str) -> String {
        self.queue.clone().unwrap_or_else(|| name.to_owned())
    }
}

/// Where a value is read from; exactly one of the three is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSource {
    /// A request header (`Idempotency-Key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// A `{name}` segment of the route's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A JSON pointer into the body (`/id`, `/data/object/customer`); the body must be JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// `rate_limit`: a token bucket per route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per second, sustained (0.001 to 1 000 000).
    pub per_second: Rate,
    /// Requests accepted at once after a quiet spell (1 to 1 000 000); defaults to one
    /// second's worth (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<Count<1, 1_000_000>>,
}

/// `answer`: what an accepted request is answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerConfig {
    /// The status code (200 to 299; 202 by default), with the body `{"message_id": "..."}`.
    #[serde(default = "default_status")]
    pub status: Count<200, 299>,
}

fn default_status() -> Count<200, 299> {
    Count::of(202)
}

impl Default for AnswerConfig {
    fn default() -> Self {
        Self {
            status: default_status(),
        }
    }
}

/// Whether `path` is a route path ferry accepts: `/`-separated segments of URL path
/// characters, or `{name}` segments (a letter or `_`, then letters, digits, `_`), at most
/// 512 bytes, no empty segment except a trailing `/`.
pub fn path_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(format!("`{path}` must start with `/`"));
    }
    if path.len() > 512 {
        return Some("must be at most 512 bytes".into());
    }
    let mut names = Vec::new();
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() {
            if i + 1 == segments.len() {
                continue;
            }
            return Some(format!("`{path}` has an empty segment (`//`)"));
        }
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let ok = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Some(format!(
                    "`{{{name}}}` in `{path}`: a parameter is `{{name}}`, letters, digits and `_`"
                ));
            }
            if names.contains(&name) {
                return Some(format!("`{{{name}}}` appears twice in `{path}`"));
            }
            names.push(name);
            continue;
        }
        if let Some(bad) = seg
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-._~!$&'()+,;=:@%".contains(*c)))
        {
            return Some(format!(
                "`{path}` has the character `{bad}`, which a route path cannot hold"
            ));
        }
    }
    None
}

/// The `{name}` parameters of a valid route path.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// 1-64 of `[A-Za-z0-9_-]`, like a subscription's name.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl IngressConfig {
    /// Problems as `(dotted key, reason)`. `max_payload` is `limits.max_payload_bytes`;
    /// `queue_problem` says why a queue name cannot be used on the configured backend.
    pub fn problems(
        &self,
        max_payload: u32,
        queue_problem: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut bad = |key: String, reason: String| problems.push((key, reason));
        if self.routes.is_empty() {
            bad(
                "ingress.routes".into(),
                "at least one [ingress.routes.<name>] table is required".into(),
            );
        }
        let mut paths: BTreeMap<String, &str> = BTreeMap::new();
        for (name, route) in &self.routes {
            let key = |field: &str| format!("ingress.routes.{name}.{field}");
            if !is_valid_name(name) {
                bad(
                    format!("ingress.routes.{name}"),
                    "the name must be 1-64 letters, digits, '_' or '-'".into(),
                );
            }
            match path_problem(&route.path) {
                Some(reason) => bad(key("path"), reason),
                None => {
                    // Two paths that differ only in parameter names match the same requests.
                    let shape: String = route
                        .path
                        .split('/')
                        .map(|s| if s.starts_with('{') { "{}" } else { s })
                        .collect::<Vec<_>>()
                        .join("/");
                    if let Some(other) = paths.insert(shape, name) {
                        bad(
                            key("path"),
                            format!(
                                "`{}` matches the same requests as ingress.routes.{other}.path",
                                route.path
                            ),
                        );
                    }
                }
            }
            if route.methods.is_empty() || route.methods.len() > 3 {
                bad(key("methods"), "must list 1-3 of POST, PUT, PATCH".into());
            }
            for m in &route.methods {
                if !["POST", "PUT", "PATCH"].contains(&m.as_str()) {
                    bad(
                        key("methods"),
                        format!("`{m}` is not one of POST, PUT, PATCH (upper case)"),
                    );
                }
            }
            if let Some(reason) = queue_problem(&route.queue_name(name)) {
                bad(key("queue"), reason);
            }
            if route.max_body.get() > max_payload {
                bad(
                    key("max_body"),
                    format!(
                        "{} is more than limits.max_payload_bytes ({max_payload}): such a body could not be published",
                        route.max_body
                    ),
                );
            }
            if route.content_types.is_empty() || route.content_types.len() > 32 {
                bad(key("content_types"), "must list 1-32 media types".into());
            }
            for t in &route.content_types {
                let ok = t
                    .split_once('/')
                    .is_some_and(|(a, b)| is_token(a) && is_token(b));
                if !ok {
                    bad(
                        key("content_types"),
                        format!("`{t}` is not a media type like `application/json`"),
                    );
                }
            }
            let params = path_params(&route.path);
            for (field, source) in [("realm", &route.realm), ("dedup_id", &route.dedup_id)] {
                if let Some(s) = source {
                    source_problems(s, &params, &key(field), &mut bad);
                }
            }
            if route.realm_attribute.is_empty()
                || route.realm_attribute.len() > 128
                || route.realm_attribute.starts_with("ferry.")
            {
                bad(
                    key("realm_attribute"),
                    "must be 1-128 bytes and not start with `ferry.`".into(),
                );
            }
            if route.attributes.len() > 32 {
                bad(key("attributes"), "at most 32 headers".into());
            }
            let signature_headers = route
                .verify
                .as_ref()
                .map(VerifyConfig::signature_headers)
                .unwrap_or_default();
            for h in &route.attributes {
                if !is_token(h) {
                    bad(key("attributes"), format!("`{h}` is not a header name"));
                } else if signature_headers.iter().any(|s| s.eq_ignore_ascii_case(h)) {
                    bad(
                        key("attributes"),
                        format!("`{h}` carries the signature, which is never copied or logged"),
                    );
                }
            }
            if let Some(v) = &route.verify {
                for (field, reason) in v.problems() {
                    bad(key(&format!("verify.{field}")), reason);
                }
            }
        }
        problems
    }
}

fn source_problems(
    s: &ValueSource,
    params: &[&str],
    key: &str,
    bad: &mut impl FnMut(String, String),
) {
    let set = [s.header.is_some(), s.path.is_some(), s.pointer.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if set != 1 {
        bad(
            key.to_owned(),
            "set exactly one of header, path or pointer".into(),
        );
    }
    if let Some(h) = &s.header
        && !is_token(h)
    {
        bad(
            format!("{key}.header"),
            format!("`{h}` is not a header name"),
        );
    }
    if let Some(p) = &s.path
        && !params.contains(&p.as_str())
    {
        bad(
            format!("{key}.path"),
            format!("the route's path has no `{{{p}}}` segment"),
        );
    }
    if let Some(p) = &s.pointer
        && !(p.starts_with('/') && p.len() <= 256)
    {
        bad(
            format!("{key}.pointer"),
            format!("`{p}` is not a JSON pointer like `/id` (at most 256 bytes)"),
        );
    }
}
