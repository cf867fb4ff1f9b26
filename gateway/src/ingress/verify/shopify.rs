//! Shopify: `X-Shopify-Hmac-Sha256: <base64>`, HMAC-SHA256 of the body with the app's
//! client secret. Shopify signs no timestamp: replays are caught by a `dedup_id` from
//! `X-Shopify-Webhook-Id` (or `X-Shopify-Event-Id`).

use http::HeaderMap;

use super::{Algorithm, Refusal, any_matches, header, unbase64};
use crate::ingress::secret::Secret;

pub(super) fn verify(keys: &[Secret], headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let value = header(headers, "x-shopify-hmac-sha256")?;
    let sig = unbase64(value).ok_or(Refusal::Malformed("x-shopify-hmac-sha256"))?;
    if any_matches(Algorithm::Sha256, keys, &[body], &[sig]) {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}
