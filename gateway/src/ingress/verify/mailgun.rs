//! Mailgun: the signature travels in the body, as `timestamp`, `token` and `signature`:
//! under `"signature"` in a JSON body (the webhooks API), or as form fields in an
//! `application/x-www-form-urlencoded` body (legacy webhooks and routes). The signature is
//! the hex HMAC-SHA256 of `<timestamp><token>` with the webhook signing key; the token is
//! random per request, so `dedup_id = { pointer = "/signature/token" }` also stops replays.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

use super::{Algorithm, Refusal, any_matches, fresh, unhex};
use crate::ingress::secret::Secret;

/// The three fields, from a JSON body or a form body.
fn fields(headers: &HeaderMap, body: &[u8]) -> Result<(String, String, String), Refusal> {
    let form = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let (mut ts, mut token, mut sig) = (None, None, None);
    if form {
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "timestamp" => ts = Some(v.into_owned()),
                "token" => token = Some(v.into_owned()),
                "signature" => sig = Some(v.into_owned()),
                _ => {}
            }
        }
    } else {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| Refusal::Malformed("body"))?;
        let s = v.get("signature").ok_or(Refusal::Missing("signature"))?;
        let text = |k: &str| match s.get(k) {
            Some(serde_json::Value::String(x)) => Some(x.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        ts = text("timestamp");
        token = text("token");
        sig = text("signature");
    }
    Ok((
        ts.ok_or(Refusal::Missing("timestamp"))?,
        token.ok_or(Refusal::Missing("token"))?,
        sig.ok_or(Refusal::Missing("signature"))?,
    ))
}

pub(super) fn verify(
    keys: &[Secret],
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), Refusal> {
    let (ts, token, sig) = fields(headers, body)?;
    let sig = unhex(&sig).ok_or(Refusal::Malformed("signature"))?;
    fresh(&ts, "timestamp", now, tolerance)?;
    let parts: [&[u8]; 2] = [ts.as_bytes(), token.as_bytes()];
    if any_matches(Algorithm::Sha256, keys, &parts, &[sig]) {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}
