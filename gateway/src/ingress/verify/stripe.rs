//! Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over
//! `<t>.<body>` with the endpoint's signing secret (`whsec_…`, used as it is). Only `v1`
//! signatures count (`v0` is Stripe's test-mode legacy scheme).

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
    let value = header(headers, "stripe-signature")?;
    let mut t = None;
    let mut candidates = Vec::new();
    for item in value.split(',') {
        match item.trim().split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => candidates.extend(unhex(v)),
            _ => {}
        }
    }
    let t = t.ok_or(Refusal::Malformed("stripe-signature"))?;
    if candidates.is_empty() {
        return Err(Refusal::Malformed("stripe-signature"));
    }
    fresh(t, "stripe-signature", now, tolerance)?;
    let parts: [&[u8]; 3] = [t.as_bytes(), b".", body];
    if any_matches(Algorithm::Sha256, keys, &parts, &candidates) {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}
