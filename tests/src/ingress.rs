//! Helpers for the webhook ingress's black-box tests: a real HTTP/1.1 client (hyper),
//! request signers written here from each provider's documented scheme (independent of
//! ferry's verifiers, so a shared mistake cannot make both agree), and a reader that
//! takes every message out of a queue.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use base64::Engine as _;
use bytes::Bytes;
use ferry::backend::{Backend, Received};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use sha2::Sha256;

/// A pooled HTTP/1.1 client.
#[derive(Clone)]
pub struct Http(Client<HttpConnector, Full<Bytes>>);

/// An answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (panics when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `message_id` of an accepted request.
    pub fn message_id(&self) -> String {
        assert!(
            (200..300).contains(&self.status),
            "{} {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        self.json()["message_id"].as_str().unwrap().to_owned()
    }
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    /// A client with its own connection pool.
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self(
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
        )
    }

    /// Sends `method url` with `headers` and `body`; `Err` when no answer came (the
    /// connection was refused or broke).
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Answer, String> {
        let mut req = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(body.into()))
            .map_err(|e| e.to_string())?;
        let resp = self.0.request(req).await.map_err(|e| format!("{e:?}"))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes()
            .to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// POSTs JSON `body` with `headers` (and `Content-Type: application/json`).
    pub async fn post_json(&self, url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.send("POST", url, &all, body.to_owned()).await.unwrap()
    }
}

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Now, in Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` for a
/// `whsec_<base64>` secret.
pub fn standard_webhooks(secret: &str, id: &str, ts: u64, body: &str) -> Vec<(String, String)> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let ts = ts.to_string();
    let sig = hmac256(
        &key,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body.as_bytes()],
    );
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts),
        ("webhook-signature".into(), format!("v1,{}", b64(&sig))),
    ]
}

/// Stripe: `Stripe-Signature: t=<ts>,v1=<hex>`.
pub fn stripe(secret: &str, ts: u64, body: &str) -> String {
    let t = ts.to_string();
    let sig = hmac256(secret.as_bytes(), &[t.as_bytes(), b".", body.as_bytes()]);
    format!("t={t},v1={}", hex::encode(sig))
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex>`.
pub fn github(secret: &str, body: &str) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac256(secret.as_bytes(), &[body.as_bytes()]))
    )
}

/// Slack: `X-Slack-Signature: v0=<hex>` over `v0:<ts>:<body>`.
pub fn slack(secret: &str, ts: u64, body: &str) -> String {
    let t = ts.to_string();
    let sig = hmac256(
        secret.as_bytes(),
        &[b"v0:", t.as_bytes(), b":", body.as_bytes()],
    );
    format!("v0={}", hex::encode(sig))
}

/// Shopify: `X-Shopify-Hmac-Sha256: <base64>`.
pub fn shopify(secret: &str, body: &str) -> String {
    b64(&hmac256(secret.as_bytes(), &[body.as_bytes()]))
}

/// Mailgun: a JSON body with its `signature` object for `token` at `ts`.
pub fn mailgun_body(key: &str, ts: u64, token: &str, event: &str) -> String {
    let t = ts.to_string();
    let sig = hex::encode(hmac256(key.as_bytes(), &[t.as_bytes(), token.as_bytes()]));
    serde_json::json!({
        "signature": {"timestamp": t, "token": token, "signature": sig},
        "event-data": {"event": event, "id": token},
    })
    .to_string()
}

/// A generic HMAC-SHA256 hex of `<ts>.<body>`.
pub fn generic(secret: &str, ts: u64, body: &str) -> String {
    let t = ts.to_string();
    hex::encode(hmac256(
        secret.as_bytes(),
        &[t.as_bytes(), b".", body.as_bytes()],
    ))
}

/// Takes every message out of `queue` (receiving until a receive of `quiet` comes back
/// empty), acking each batch before the next receive (an SQS FIFO queue on ElasticMQ slows
/// down with thousands of messages in flight).
pub async fn take_all(backend: &dyn Backend, queue: &str, quiet: Duration) -> Vec<Received> {
    let mut all = Vec::new();
    loop {
        let batch = backend
            .receive(queue, 10, Duration::from_secs(600), quiet)
            .await
            .unwrap();
        if batch.is_empty() {
            return all;
        }
        let acks = batch.iter().map(|m| backend.ack(queue, &m.receipt));
        for acked in futures::future::join_all(acks).await {
            acked.unwrap();
        }
        all.extend(batch);
    }
}
