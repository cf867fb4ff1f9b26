//! What the ingress answers: `{"message_id": "..."}` with the route's 2xx once the queue
//! holds the request, and otherwise an RFC 9457 problem document
//! (`application/problem+json`: `type`, `title`, `status`, `detail`, and `errors` naming
//! each schema violation by JSON pointer), with `Retry-After` on 429 and 503 and `Allow`
//! on 405. A 401 says nothing more than its title: nothing that helps a forger.

use axum::{body::Body, response::Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::schema::Violation;

/// The problem type of a schema violation (RFC 9457 §3.1.1: a URI that names the problem).
pub const SCHEMA_VIOLATION: &str = "urn:ferry:ingress:schema-violation";

/// An accepted request: the route's status and the message id.
pub fn accepted(status: StatusCode, message_id: &str) -> Response {
    json_response(
        status,
        "application/json",
        &json!({ "message_id": message_id }),
    )
}

/// A refusal, before it becomes a response (the handler logs its reason first).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The status.
    pub status: StatusCode,
    /// `type` (`about:blank` unless the problem has a type of its own).
    pub kind: &'static str,
    /// `detail`, for the client (never a secret, a signature or why a signature failed).
    pub detail: Option<String>,
    /// `errors`: the schema violations.
    pub errors: Vec<Violation>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
    /// `Allow`.
    pub allow: Option<String>,
}

impl Problem {
    /// A problem of type `about:blank` (its title is the status's reason phrase).
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            kind: "about:blank",
            detail: None,
            errors: Vec::new(),
            retry_after: None,
            allow: None,
        }
    }

    /// With a `detail`.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// With `Retry-After` of `secs` seconds (at least 1).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// A schema violation.
    pub fn schema(errors: Vec<Violation>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", pointer_shown(&one.pointer), one.detail),
            many => format!("{} violations of the route's schema", many.len()),
        };
        Self {
            kind: SCHEMA_VIOLATION,
            errors,
            ..Self::new(StatusCode::BAD_REQUEST).detail(detail)
        }
    }

    /// The problem document.
    pub fn document(&self) -> Value {
        let title = if self.kind == SCHEMA_VIOLATION {
            "The body does not match the route's schema"
        } else {
            self.status.canonical_reason().unwrap_or("Error")
        };
        let mut doc = json!({
            "type": self.kind,
            "title": title,
            "status": self.status.as_u16(),
        });
        if let Some(d) = &self.detail {
            doc["detail"] = Value::from(d.as_str());
        }
        if !self.errors.is_empty() {
            doc["errors"] = self
                .errors
                .iter()
                .map(|v| json!({ "pointer": v.pointer, "detail": v.detail }))
                .collect();
        }
        doc
    }

    /// The response.
    pub fn response(&self) -> Response {
        let mut r = json_response(self.status, "application/problem+json", &self.document());
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(allow) = &self.allow
            && let Ok(v) = HeaderValue::from_str(allow)
        {
            r.headers_mut().insert(header::ALLOW, v);
        }
        r
    }
}

fn pointer_shown(p: &str) -> &str {
    if p.is_empty() { "(the body)" } else { p }
}

fn json_response(status: StatusCode, content_type: &'static str, body: &Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_problem_names_each_pointer() {
        let p = Problem::schema(vec![Violation {
            pointer: "/customers/1".into(),
            detail: "value is longer than 8 characters".into(),
        }]);
        let doc = p.document();
        assert_eq!(doc["type"], SCHEMA_VIOLATION);
        assert_eq!(doc["status"], 400);
        assert_eq!(doc["errors"][0]["pointer"], "/customers/1");
        assert_eq!(
            doc["detail"],
            "/customers/1: value is longer than 8 characters"
        );
    }

    #[test]
    fn unauthorized_says_nothing_more() {
        let doc = Problem::new(StatusCode::UNAUTHORIZED).document();
        assert_eq!(
            doc,
            json!({"type": "about:blank", "title": "Unauthorized", "status": 401})
        );
    }

    #[test]
    fn retry_after_and_allow_are_headers() {
        let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE).retry_after(0);
        p.allow = Some("POST".into());
        let r = p.response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        assert_eq!(r.headers()[header::ALLOW], "POST");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
