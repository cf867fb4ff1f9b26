//! Slack (signing secrets, version `v0`): `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 over
//! `v0:<X-Slack-Request-Timestamp>:<body>` with the app's signing secret.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

use super::{Algorithm, Refusal, any_matches, fresh, header, unhex};
use crate::ingress::secret::Secret;

pub(super) fn verify(
    keys: &[Secret],
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), Refusal> {
    let ts = header(headers, "x-slack-request-timestamp")?;
    let value = header(headers, "x-slack-signature")?;
    let sig = value
        .strip_prefix("v0=")
        .and_then(unhex)
        .ok_or(Refusal::Malformed("x-slack-signature"))?;
    fresh(ts, "x-slack-request-timestamp", now, tolerance)?;
    let parts: [&[u8]; 4] = [b"v0:", ts.as_bytes(), b":", body];
    if any_matches(Algorithm::Sha256, keys, &parts, &[sig]) {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}
