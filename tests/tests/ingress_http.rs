//! The webhook ingress over real HTTP, on the embedded queue, as a publish-only ferry (an
//! `[ingress]`, no subscriptions): each signature scheme accepts its provider's signature
//! and refuses a tampered body, a wrong secret and a stale timestamp; what a message
//! carries; schema violations named by pointer; size, type, path and method limits; the
//! rate limit; a repeated delivery answered with the original id; secrets never logged;
//! config errors naming the key.
//!
//! Signatures are made by the test's own signers (`ferry_tests::ingress`), written from
//! each provider's documented scheme; GitHub's published example is also sent as it is.
//! The published vectors of every scheme are checked in `gateway/src/ingress/verify/tests.rs`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use ferry_tests::{
    FerryBuilder, FerryProcess, assert_eventually,
    fixtures::{BackendFixture, Embedded},
    ingress::{self as sign, Http, take_all, unix_now},
};
use serde_json::json;

const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STRIPE_OLD: &str = "whsec_old_stripe_secret";
const STRIPE_NEW: &str = "whsec_new_stripe_secret";
const GH_SECRET: &str = "It's a Secret to Everybody";
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const SHOPIFY_SECRET: &str = "hush-shopify-client-secret";
const MAILGUN_KEY: &str = "key-mailgun-signing-test";
const GENERIC_SECRET: &str = "generic-hmac-secret-value";

fn schemes_toml(dir: &std::path::Path) -> String {
    std::fs::write(dir.join("stripe-new"), format!("{STRIPE_NEW}\n")).unwrap();
    format!(
        r#"
[ingress]
listen = "127.0.0.1:0"

[ingress.routes.standard]
path = "/hooks/standard"
verify = {{ scheme = "standard_webhooks", secrets = ["env:SW_SECRET"] }}
dedup_id = {{ header = "webhook-id" }}

[ingress.routes.stripe]
path = "/hooks/stripe"
verify = {{ scheme = "stripe", secrets = ["env:STRIPE_OLD", "file:{dir}/stripe-new"] }}
dedup_id = {{ pointer = "/id" }}

[ingress.routes.github]
path = "/hooks/github"
content_types = ["application/json", "text/plain"]
verify = {{ scheme = "github", secrets = ["env:GH_SECRET"] }}
dedup_id = {{ header = "X-GitHub-Delivery" }}
attributes = ["X-GitHub-Event"]

[ingress.routes.slack]
path = "/hooks/slack"
content_types = ["application/x-www-form-urlencoded"]
verify = {{ scheme = "slack", secrets = ["env:SLACK_SECRET"] }}

[ingress.routes.shopify]
path = "/hooks/shopify/{{shop}}"
verify = {{ scheme = "shopify", secrets = ["env:SHOPIFY_SECRET"] }}
realm = {{ path = "shop" }}

[ingress.routes.mailgun]
path = "/hooks/mailgun"
verify = {{ scheme = "mailgun", secrets = ["env:MAILGUN_KEY"] }}
dedup_id = {{ pointer = "/signature/token" }}

[ingress.routes.generic]
path = "/hooks/generic"
verify = {{ scheme = "hmac", secrets = ["env:GENERIC_SECRET"], header = "X-Signature", prefix = "sha256=", signed = "{{header:X-Timestamp}}.{{body}}", timestamp_header = "X-Timestamp" }}
"#,
        dir = dir.display()
    )
}

async fn start(fixture: &Embedded, toml: &str) -> FerryProcess {
    FerryBuilder::new(fixture.backend_toml(), "http://127.0.0.1:9")
        .toml(toml)
        .env("SW_SECRET", SW_SECRET)
        .env("STRIPE_OLD", STRIPE_OLD)
        .env("GH_SECRET", GH_SECRET)
        .env("SLACK_SECRET", SLACK_SECRET)
        .env("SHOPIFY_SECRET", SHOPIFY_SECRET)
        .env("MAILGUN_KEY", MAILGUN_KEY)
        .env("GENERIC_SECRET", GENERIC_SECRET)
        .spawn()
        .await
}

fn pairs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Every scheme: the provider's signature accepted (the queue holds the body as sent); a
/// tampered body, a wrong secret and a stale timestamp refused with a bare 401.
#[tokio::test]
async fn each_scheme_accepts_its_providers_signature_and_refuses_forgeries() {
    let fixture = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let ferry = start(&fixture, &schemes_toml(dir.path())).await;
    let url = ferry.ingress_url();
    let http = Http::new();
    let now = unix_now();
    let stale = now - 3600;

    // Standard Webhooks.
    let body = r#"{"type":"invoice.paid","id":1}"#;
    let ok = sign::standard_webhooks(SW_SECRET, "msg_1", now, body);
    let a = http
        .post_json(&format!("{url}/hooks/standard"), &pairs(&ok), body)
        .await;
    assert_eq!(a.status, 202, "{}", String::from_utf8_lossy(&a.body));
    let refused = [
        ("tampered", ok.clone(), r#"{"type":"invoice.paid","id":2}"#),
        (
            "wrong secret",
            sign::standard_webhooks("whsec_dGhlIHdyb25nIGtleQ==", "msg_2", now, body),
            body,
        ),
        (
            "stale",
            sign::standard_webhooks(SW_SECRET, "msg_3", stale, body),
            body,
        ),
    ];
    for (what, headers, body) in refused {
        let a = http
            .post_json(&format!("{url}/hooks/standard"), &pairs(&headers), body)
            .await;
        assert_eq!(a.status, 401, "standard webhooks, {what}");
        assert_eq!(
            a.json(),
            json!({"type": "about:blank", "title": "Unauthorized", "status": 401}),
            "a 401 tells a forger nothing"
        );
    }

    // Stripe, with two secrets configured (a rotation): both old and new signatures pass.
    for (n, secret) in [(1, STRIPE_OLD), (2, STRIPE_NEW)] {
        let body = format!(r#"{{"id":"evt_{n}","object":"event"}}"#);
        let h = sign::stripe(secret, now, &body);
        let a = http
            .post_json(
                &format!("{url}/hooks/stripe"),
                &[("stripe-signature", &h)],
                &body,
            )
            .await;
        assert_eq!(a.status, 202, "stripe with secret {n}");
    }
    let body = r#"{"id":"evt_3","object":"event"}"#;
    for (what, h, b) in [
        (
            "tampered",
            sign::stripe(STRIPE_NEW, now, body),
            r#"{"id":"evt_4","object":"event"}"#,
        ),
        ("wrong secret", sign::stripe("whsec_other", now, body), body),
        ("stale", sign::stripe(STRIPE_NEW, stale, body), body),
    ] {
        let a = http
            .post_json(
                &format!("{url}/hooks/stripe"),
                &[("stripe-signature", &h)],
                b,
            )
            .await;
        assert_eq!(a.status, 401, "stripe, {what}");
    }

    // GitHub: the documented example as published, then a fresh JSON delivery.
    let a = http
        .send(
            "POST",
            &format!("{url}/hooks/github"),
            &[
                ("content-type", "text/plain"),
                (
                    "x-hub-signature-256",
                    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                ),
                ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
                ("x-github-event", "ping"),
            ],
            "Hello, World!",
        )
        .await
        .unwrap();
    assert_eq!(a.status, 202, "GitHub's published example");
    let gh_id = a.message_id();
    for (what, sig, body) in [
        (
            "tampered",
            sign::github(GH_SECRET, "Hello, World!"),
            "Hello, World?",
        ),
        (
            "wrong secret",
            sign::github("It's a Secret to Nobody", "Hello, World!"),
            "Hello, World!",
        ),
    ] {
        let a = http
            .send(
                "POST",
                &format!("{url}/hooks/github"),
                &[
                    ("content-type", "text/plain"),
                    ("x-hub-signature-256", &sig),
                ],
                body,
            )
            .await
            .unwrap();
        assert_eq!(a.status, 401, "github, {what}");
    }

    // Slack (form body, as slash commands send it).
    let body = "token=x&team_id=T1&command=%2Fblast&text=go";
    let form = [("content-type", "application/x-www-form-urlencoded")];
    for (what, ts, sig, b, status) in [
        (
            "valid",
            now,
            sign::slack(SLACK_SECRET, now, body),
            body,
            202,
        ),
        (
            "tampered",
            now,
            sign::slack(SLACK_SECRET, now, body),
            "token=x&team_id=T2",
            401,
        ),
        (
            "wrong secret",
            now,
            sign::slack("other", now, body),
            body,
            401,
        ),
        (
            "stale",
            stale,
            sign::slack(SLACK_SECRET, stale, body),
            body,
            401,
        ),
    ] {
        let t = ts.to_string();
        let mut h = form.to_vec();
        h.push(("x-slack-request-timestamp", &t));
        h.push(("x-slack-signature", &sig));
        let a = http
            .send("POST", &format!("{url}/hooks/slack"), &h, b)
            .await
            .unwrap();
        assert_eq!(a.status, status, "slack, {what}");
    }

    // Shopify (the shop from the path is the realm).
    let body = r#"{"id":820982911946154508}"#;
    for (what, sig, b, status) in [
        ("valid", sign::shopify(SHOPIFY_SECRET, body), body, 202),
        (
            "tampered",
            sign::shopify(SHOPIFY_SECRET, body),
            r#"{"id":820982911946154509}"#,
            401,
        ),
        ("wrong secret", sign::shopify("other", body), body, 401),
    ] {
        let a = http
            .post_json(
                &format!("{url}/hooks/shopify/acme-shop"),
                &[("x-shopify-hmac-sha256", &sig)],
                b,
            )
            .await;
        assert_eq!(a.status, status, "shopify, {what}");
    }

    // Mailgun (the signature is in the body).
    let valid = sign::mailgun_body(
        MAILGUN_KEY,
        now,
        "tok-1-e0b5477167110d68991efc6b9f89f0a11066af2783",
        "delivered",
    );
    for (what, b, status) in [
        ("valid", valid.clone(), 202),
        ("tampered", valid.replace("tok-1", "tok-2"), 401),
        (
            "wrong key",
            sign::mailgun_body("key-other", now, "tok-3", "delivered"),
            401,
        ),
        (
            "stale",
            sign::mailgun_body(MAILGUN_KEY, stale, "tok-4", "delivered"),
            401,
        ),
    ] {
        let a = http
            .post_json(&format!("{url}/hooks/mailgun"), &[], &b)
            .await;
        assert_eq!(a.status, status, "mailgun, {what}");
    }

    // The generic HMAC.
    let body = r#"{"event":"x"}"#;
    for (what, ts, sig, b, status) in [
        (
            "valid",
            now,
            sign::generic(GENERIC_SECRET, now, body),
            body,
            202,
        ),
        (
            "tampered",
            now,
            sign::generic(GENERIC_SECRET, now, body),
            r#"{"event":"y"}"#,
            401,
        ),
        (
            "wrong secret",
            now,
            sign::generic("other", now, body),
            body,
            401,
        ),
        (
            "stale",
            stale,
            sign::generic(GENERIC_SECRET, stale, body),
            body,
            401,
        ),
    ] {
        let t = ts.to_string();
        let sig = format!("sha256={sig}");
        let h = [("x-timestamp", t.as_str()), ("x-signature", sig.as_str())];
        let a = http.post_json(&format!("{url}/hooks/generic"), &h, b).await;
        assert_eq!(a.status, status, "generic, {what}");
    }
    // A missing signature is refused like a wrong one.
    let a = http
        .post_json(&format!("{url}/hooks/github"), &[], "{}")
        .await;
    assert_eq!(a.status, 401);

    // The queues hold exactly the accepted requests, bodies as sent.
    let backend = fixture.backend().await;
    let quiet = Duration::from_millis(50);
    let counts = [
        ("standard", 1),
        ("stripe", 2),
        ("github", 1),
        ("slack", 1),
        ("shopify", 1),
        ("mailgun", 1),
        ("generic", 1),
    ];
    for (queue, n) in counts {
        let got = take_all(backend.as_ref(), queue, quiet).await;
        assert_eq!(got.len(), n, "queue {queue}");
        if queue == "github" {
            assert_eq!(got[0].id, gh_id);
            assert_eq!(&got[0].payload[..], b"Hello, World!");
            assert_eq!(got[0].attributes["header.x-github-event"], "ping");
            assert_eq!(
                got[0].dedup_id.as_deref(),
                Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
            );
        }
        if queue == "shopify" {
            assert_eq!(got[0].attributes["realm"], "acme-shop");
        }
    }

    // One event per request, and no secret or signature anywhere in ferry's output.
    let counts = || {
        (
            ferry.events_of("ingress.accepted").len(),
            ferry.events_of("ingress.rejected").len(),
        )
    };
    assert_eventually!(counts() == (8, 20), "{:?}", counts());
    let reasons: Vec<_> = ferry
        .events_of("ingress.rejected")
        .iter()
        .map(|e| e["ferry.reject_reason"].as_str().unwrap().to_owned())
        .collect();
    assert!(reasons.iter().all(|r| r == "signature"), "{reasons:?}");
    let out = format!("{:?}{}", ferry.events(), ferry.stderr());
    for secret in [
        SW_SECRET,
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        STRIPE_OLD,
        STRIPE_NEW,
        GH_SECRET,
        SLACK_SECRET,
        SHOPIFY_SECRET,
        MAILGUN_KEY,
        GENERIC_SECRET,
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    ] {
        assert!(
            !out.contains(secret),
            "`{secret}` appears in ferry's output"
        );
    }
    let sig = sign::standard_webhooks(SW_SECRET, "msg_1", now, r#"{"type":"invoice.paid","id":1}"#);
    assert!(
        !out.contains(&sig[2].1[3..]),
        "a signature appears in ferry's output"
    );
}

fn blast_toml(dir: &std::path::Path) -> String {
    let schema = json!({
        "type": "object",
        "required": ["blast_id", "customers"],
        "properties": {
            "blast_id": {"type": "string", "minLength": 1},
            "customers": {"type": "array", "items": {"type": "string", "pattern": "^cust-"}, "maxItems": 100}
        }
    });
    std::fs::write(dir.join("blast.schema.json"), schema.to_string()).unwrap();
    format!(
        r#"
[ingress]
listen = "127.0.0.1:0"

[ingress.routes.blasts]
path = "/v1/{{tenant}}/blasts"
queue = "blasts"
max_body = 1024
schema = "{dir}/blast.schema.json"
realm = {{ path = "tenant" }}
dedup_id = {{ header = "Idempotency-Key" }}
attributes = ["X-Request-Source"]

[ingress.routes.limited]
path = "/limited"
rate_limit = {{ per_second = 0.01, burst = 2 }}
answer = {{ status = 200 }}
"#,
        dir = dir.display()
    )
}

/// A valid blast: 202 with the message id; the message carries the body as sent, the
/// realm from the path, the route, receive time, content type, the allow-listed header
/// and the request's `traceparent`. The same Idempotency-Key again: the same id, nothing
/// more in the queue.
#[tokio::test]
async fn a_request_becomes_one_message_and_a_repeat_returns_its_id() {
    let fixture = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let ferry = start(&fixture, &blast_toml(dir.path())).await;
    let url = format!("{}/v1/acme/blasts", ferry.ingress_url());
    let http = Http::new();
    let body = r#"{"blast_id": "storm-2024-09", "customers": ["cust-1", "cust-2"]}"#;
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let headers = [
        ("idempotency-key", "blast-42"),
        ("x-request-source", "web-app"),
        ("x-not-listed", "never copied"),
        ("traceparent", tp),
    ];
    let first = http.post_json(&url, &headers, body).await;
    assert_eq!(first.status, 202);
    assert_eq!(first.headers["content-type"], "application/json");
    let id = first.message_id();
    let again = http.post_json(&url, &headers, body).await;
    assert_eq!(again.status, 202);
    assert_eq!(
        again.message_id(),
        id,
        "a repeated delivery answers the original id"
    );

    let got = take_all(
        fixture.backend().await.as_ref(),
        "blasts",
        Duration::from_millis(50),
    )
    .await;
    assert_eq!(got.len(), 1, "the repeat enqueued nothing");
    let m = &got[0];
    assert_eq!(m.id, id);
    assert_eq!(
        &m.payload[..],
        body.as_bytes(),
        "the raw body, byte for byte"
    );
    let a = &m.attributes;
    assert_eq!(a["realm"], "acme");
    assert_eq!(a["ingress.route"], "blasts");
    assert_eq!(a["ingress.content_type"], "application/json");
    assert_eq!(a["header.x-request-source"], "web-app");
    assert_eq!(a["traceparent"], tp);
    assert!(a["ingress.received_at"].starts_with("20"), "{a:?}");
    assert!(!a.contains_key("header.x-not-listed"), "{a:?}");

    // Without a traceparent, a new one; the event carries its trace id.
    let fresh = http
        .post_json(&url, &[("idempotency-key", "blast-43")], body)
        .await;
    let fresh_id = fresh.message_id();
    let got = take_all(
        fixture.backend().await.as_ref(),
        "blasts",
        Duration::from_millis(50),
    )
    .await;
    let new_tp = &got[0].attributes["traceparent"];
    assert_ne!(new_tp, tp);
    let event = || {
        ferry
            .events_of("ingress.accepted")
            .into_iter()
            .find(|e| e["ferry.message_id"] == fresh_id.as_str())
    };
    assert_eventually!(event().is_some(), "the accepted event");
    let event = event().unwrap();
    assert_eq!(event["trace.id"].as_str().unwrap(), &new_tp[3..35]);
    assert_eq!(event["ferry.realm"], "acme");
    assert_eq!(event["http.response.status_code"], 202);
}

/// Schema violations are named by JSON pointer in an RFC 9457 problem; a body that is not
/// JSON, too large (declared, or streamed without a length), of the wrong type, on an
/// unknown path or with the wrong method is refused with its status; nothing is enqueued.
#[tokio::test]
async fn bad_requests_get_their_status_and_nothing_is_enqueued() {
    let fixture = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let ferry = start(&fixture, &blast_toml(dir.path())).await;
    let base = ferry.ingress_url();
    let url = format!("{base}/v1/acme/blasts");
    let http = Http::new();

    let a = http
        .post_json(
            &url,
            &[],
            r#"{"blast_id": 7, "customers": ["cust-1", "bob"]}"#,
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.headers["content-type"], "application/problem+json");
    let p = a.json();
    assert_eq!(p["type"], "urn:ferry:ingress:schema-violation");
    assert_eq!(p["status"], 400);
    let pointers: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/blast_id"), "{p}");
    assert!(pointers.contains(&"/customers/1"), "{p}");
    let a = http.post_json(&url, &[], r#"{"customers": []}"#).await;
    assert_eq!(
        a.json()["errors"][0]["pointer"],
        "",
        "a missing property is the object's"
    );
    assert!(
        a.json()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("blast_id")
    );

    let a = http.post_json(&url, &[], "not json").await;
    assert_eq!((a.status, a.json()["status"].clone()), (400, json!(400)));

    let big = format!(r#"{{"blast_id": "{}", "customers": []}}"#, "x".repeat(2000));
    let a = http.post_json(&url, &[], &big).await;
    assert_eq!(a.status, 413);
    assert!(a.json()["detail"].as_str().unwrap().contains("1024"));
    // A chunked body with no length: refused once past the limit.
    let (status, _) = raw_chunked(
        &base,
        "/v1/acme/blasts",
        &[&"y".repeat(600), &"z".repeat(600)],
    )
    .await;
    assert_eq!(status, 413);

    let a = http
        .send("POST", &url, &[("content-type", "text/xml")], "<blast/>")
        .await
        .unwrap();
    assert_eq!(a.status, 415);
    let a = http.send("POST", &url, &[], "{}").await.unwrap();
    assert_eq!(a.status, 415, "no content type");
    let a = http
        .post_json(&format!("{base}/v1/acme/nope"), &[], "{}")
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["title"], "Not Found");
    let a = http.send("GET", &url, &[], "").await.unwrap();
    assert_eq!(a.status, 405);
    assert_eq!(a.headers["allow"], "POST");

    let got = take_all(
        fixture.backend().await.as_ref(),
        "blasts",
        Duration::from_millis(50),
    )
    .await;
    assert!(got.is_empty(), "{got:?}");
    assert_eventually!(
        ferry.events_of("ingress.rejected").len() == 9,
        "one event each"
    );
    let reasons: Vec<String> = ferry
        .events_of("ingress.rejected")
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["http.response.status_code"],
                e["ferry.reject_reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "400:schema",
            "400:schema",
            "400:not_json",
            "413:payload_too_large",
            "413:payload_too_large",
            "415:unsupported_media_type",
            "415:unsupported_media_type",
            "404:not_found",
            "405:method_not_allowed",
        ]
    );
}

/// Sends a chunked POST without Content-Length over a raw connection; (status, body).
async fn raw_chunked(base: &str, path: &str, chunks: &[&str]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    for c in chunks {
        req.push_str(&format!("{:x}\r\n{c}\r\n", c.len()));
    }
    req.push_str("0\r\n\r\n");
    // The server may answer and close before it has read everything.
    let _ = s.write_all(req.as_bytes()).await;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out).await;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

/// Past the route's rate limit: 429 with Retry-After; the configured 2xx otherwise. The
/// metrics count by route and status; a publish-only ferry is ready without a worker.
#[tokio::test]
async fn the_rate_limit_answers_429_and_metrics_count_by_route_and_status() {
    let fixture = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let ferry = start(&fixture, &blast_toml(dir.path())).await;
    let url = format!("{}/limited", ferry.ingress_url());
    let http = Http::new();
    let statuses: Vec<u16> = {
        let mut s = Vec::new();
        for _ in 0..3 {
            s.push(http.post_json(&url, &[], "{}").await.status);
        }
        s
    };
    assert_eq!(statuses, [200, 200, 429]);
    let a = http.post_json(&url, &[], "{}").await;
    assert_eq!(a.status, 429);
    let retry: u64 = a.headers["retry-after"].parse().unwrap();
    assert!(retry >= 1, "{retry}");

    let (code, body) = ferry.admin_get("/readyz").await;
    assert_eq!((code, body.as_str()), (200, "ready\n"), "no worker needed");
    let (_, metrics) = ferry.admin_get("/metrics").await;
    assert!(
        metrics.contains(r#"ferry_ingress_requests_total{route="limited",status="200"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"ferry_ingress_requests_total{route="limited",status="429"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"ferry_ingress_request_duration_seconds_count{route="limited"} 4"#),
        "{metrics}"
    );
}

/// Config errors name the key (all of them at once, `ferry check` exits 64); a secret
/// that is not there stops `ferry run`, naming the key and the variable, never a value.
#[tokio::test]
async fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ferry.toml");
    std::fs::write(
        &path,
        r#"
[ingress]
listen = "127.0.0.1:0"
[ingress.routes.bad]
path = "hooks/{x"
methods = ["GET"]
max_body = 999999999
content_types = ["json"]
realm = { header = "X-Tenant", pointer = "/t" }
verify = { scheme = "github", secrets = ["hunter2"], tolerance = "1m" }
attributes = ["X-Hub-Signature-256"]
"#,
    )
    .unwrap();
    let out = ferry_tests::ferry::run_cli(&path, &["check"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    for key in [
        "ingress.routes.bad.path",
        "ingress.routes.bad.methods",
        "ingress.routes.bad.max_body",
        "ingress.routes.bad.content_types",
        "ingress.routes.bad.realm",
        "ingress.routes.bad.verify.secrets[0]",
        "ingress.routes.bad.verify.tolerance",
        "ingress.routes.bad.attributes",
    ] {
        assert!(
            err.contains(&format!("{key}: ")),
            "{key} not named in:\n{err}"
        );
    }
    assert!(!err.contains("hunter2"), "{err}");

    std::fs::write(
        &path,
        // Every listener on port 0: the default gateway port may be taken by a ferry of
        // another test, and a failed bind would stop the start before the secret is read.
        "[gateway]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n\
         [ingress]\nlisten = \"127.0.0.1:0\"\n[ingress.routes.gh]\npath = \"/gh\"\n\
         verify = { scheme = \"github\", secrets = [\"env:FERRY_TEST_UNSET_SECRET\"] }\n",
    )
    .unwrap();
    let out = ferry_tests::ferry::run_cli(&path, &["run"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("ingress.routes.gh.verify.secrets[0]: the environment variable FERRY_TEST_UNSET_SECRET is not set"),
        "{err}"
    );
}
