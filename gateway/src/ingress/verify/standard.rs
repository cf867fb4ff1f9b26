//! Standard Webhooks (standardwebhooks.com): HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>`
//! with the base64 key after the `whsec_` prefix; `webhook-signature` is a space-separated
//! list of `v1,<base64>` signatures (several during a key rotation); other versions
//! (`v1a,` asymmetric) are ignored.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

use super::{Algorithm, Refusal, any_matches, fresh, header, unbase64};
use crate::ingress::secret::Secret;

/// The HMAC key of a `whsec_<base64>` secret (the prefix is optional).
pub(super) fn key(secret: &Secret) -> Result<Secret, String> {
    let text = std::str::from_utf8(&secret.0).map_err(|_| "not text".to_owned())?;
    let b64 = text.strip_prefix("whsec_").unwrap_or(text);
    unbase64(b64)
        .filter(|k| !k.is_empty())
        .map(Secret)
        .ok_or_else(|| "a Standard Webhooks secret is `whsec_` and base64".to_owned())
}

pub(super) fn verify(
    keys: &[Secret],
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), Refusal> {
    let id = header(headers, "webhook-id")?;
    let ts = header(headers, "webhook-timestamp")?;
    let sigs = header(headers, "webhook-signature")?;
    fresh(ts, "webhook-timestamp", now, tolerance)?;
    let candidates: Vec<Vec<u8>> = sigs
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(unbase64)
        .collect();
    if candidates.is_empty() {
        return Err(Refusal::Malformed("webhook-signature"));
    }
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", ts.as_bytes(), b".", body];
    if any_matches(Algorithm::Sha256, keys, &parts, &candidates) {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}
