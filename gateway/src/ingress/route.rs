//! [`Route`]: one `[ingress.routes.<name>]` made ready to serve — methods parsed, the
//! schema compiled, the secrets read, the rate limiter built — and [`Source`], where a
//! realm or a de-duplication id is read from. A route that cannot be made ready (a secret
//! not set, a schema that does not compile) stops ferry at start-up, naming the key.

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::{HeaderMap, HeaderName, Method, StatusCode};
use serde_json::Value;

use super::{
    config::{RouteConfig, ValueSource},
    schema::Schema,
    verify::Verifier,
};

/// The longest realm accepted (the same as for a received message).
pub const MAX_REALM_LEN: usize = 128;

/// The longest de-duplication id accepted.
pub const MAX_DEDUP_ID: usize = 256;

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A header.
    Header(HeaderName),
    /// A `{name}` segment of the path.
    Path(String),
    /// A JSON pointer into the body.
    Pointer(String),
}

impl Source {
    fn from_config(s: &ValueSource) -> Result<Self, String> {
        if let Some(h) = &s.header {
            return h
                .parse()
                .map(Self::Header)
                .map_err(|_| format!("`{h}` is not a header name"));
        }
        if let Some(p) = &s.path {
            return Ok(Self::Path(p.clone()));
        }
        Ok(Self::Pointer(s.pointer.clone().unwrap_or_default()))
    }

    /// The value for a request; `Ok(None)` when it is absent, `Err` when it is there but not
    /// text (a header that is not visible ASCII, a JSON value that is not a string or number).
    pub fn read(
        &self,
        headers: &HeaderMap,
        params: &[(String, String)],
        json: Option<&Value>,
    ) -> Result<Option<String>, String> {
        match self {
            Self::Header(h) => match headers.get(h) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(s.trim().to_owned()))
                    .map_err(|_| format!("header {h} is not visible ASCII")),
            },
            Self::Path(name) => Ok(params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())),
            Self::Pointer(p) => match json.and_then(|j| j.pointer(p)) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(format!("{p} is not a string or a number")),
            },
        }
    }

    /// Whether the body must be parsed as JSON to read it.
    fn needs_json(&self) -> bool {
        matches!(self, Self::Pointer(_))
    }
}

/// A route ready to serve.
#[derive(Debug)]
pub struct Route {
    /// The route's name (`route` label, `ferry.route` field, `ingress.route` attribute).
    pub name: String,
    /// The queue.
    pub queue: String,
    /// The methods accepted.
    pub methods: Vec<Method>,
    /// The `Allow` header of a 405.
    pub allow: String,
    /// The body limit in bytes.
    pub max_body: usize,
    /// Accepted media types, lower case.
    pub content_types: Vec<String>,
    /// The schema.
    pub schema: Option<Schema>,
    /// The signature check.
    pub verifier: Option<Verifier>,
    /// Where the realm comes from.
    pub realm: Option<Source>,
    /// Where the de-duplication id comes from.
    pub dedup: Option<Source>,
    /// The attribute the realm is written to.
    pub realm_attribute: String,
    /// Headers copied, with their attribute names.
    pub attributes: Vec<(HeaderName, String)>,
    /// The rate limit.
    pub limiter: Option<DefaultDirectRateLimiter>,
    /// The status of an accepted request.
    pub status: StatusCode,
    /// Whether the body is parsed as JSON (a schema or a JSON pointer needs it).
    pub needs_json: bool,
}

impl Route {
    /// Makes route `name` ready. `Err` is `(field, reason)` (`ingress.routes.<name>.` is
    /// added by the caller).
    pub fn build(name: &str, c: &RouteConfig) -> Result<Self, (String, String)> {
        let methods: Vec<Method> = c.methods.iter().filter_map(|m| m.parse().ok()).collect();
        let schema = match &c.schema {
            Some(path) => Some(Schema::load(path).map_err(|e| ("schema".to_owned(), e))?),
            None => None,
        };
        let verifier = match &c.verify {
            Some(v) => Some(Verifier::build(v).map_err(|(f, e)| (format!("verify.{f}"), e))?),
            None => None,
        };
        let source = |field: &str, s: &Option<ValueSource>| {
            s.as_ref()
                .map(Source::from_config)
                .transpose()
                .map_err(|e| (field.to_owned(), e))
        };
        let realm = source("realm", &c.realm)?;
        let dedup = source("dedup_id", &c.dedup_id)?;
        let mut attributes = Vec::with_capacity(c.attributes.len());
        for h in &c.attributes {
            let name: HeaderName = h.parse().map_err(|_| {
                (
                    "attributes".to_owned(),
                    format!("`{h}` is not a header name"),
                )
            })?;
            let key = format!("header.{}", name.as_str());
            attributes.push((name, key));
        }
        let limiter = c.rate_limit.as_ref().map(|r| {
            let burst = r.burst.map_or_else(
                // One second's worth, at least one.
                || NonZeroU32::new(r.per_second.per_second().ceil().clamp(1.0, 1e6) as u32),
                |b| NonZeroU32::new(b.get()),
            );
            let quota = Quota::with_period(r.per_second.period())
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                .allow_burst(burst.unwrap_or(NonZeroU32::MIN));
            RateLimiter::direct(quota)
        });
        let needs_json = schema.is_some()
            || realm.as_ref().is_some_and(Source::needs_json)
            || dedup.as_ref().is_some_and(Source::needs_json);
        Ok(Self {
            name: name.to_owned(),
            queue: c.queue_name(name),
            allow: c.methods.join(", "),
            methods,
            max_body: c.max_body.usize(),
            content_types: c
                .content_types
                .iter()
                .map(|t| t.to_ascii_lowercase())
                .collect(),
            schema,
            verifier,
            realm,
            dedup,
            realm_attribute: c.realm_attribute.clone(),
            attributes,
            limiter,
            status: StatusCode::from_u16(u16::try_from(c.answer.status.get()).unwrap_or(202))
                .unwrap_or(StatusCode::ACCEPTED),
            needs_json,
        })
    }

    /// Whether `content_type` (a request's header) is one the route accepts.
    pub fn accepts(&self, content_type: Option<&str>) -> bool {
        let Some(ct) = content_type else {
            return false;
        };
        let media = ct.split(';').next().unwrap_or_default().trim();
        self.content_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(media))
    }
}
