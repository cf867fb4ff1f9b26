//! GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body with the webhook's
//! secret. GitHub signs no timestamp: replays within the de-duplication window are caught
//! by a `dedup_id` from `X-GitHub-Delivery`.

use http::HeaderMap;

use super::{Algorithm, Refusal, any_matches, header, unhex};
use crate::ingress::secret::Secret;

pub(super) fn verify(keys: &[Secret], headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let value = header(headers, "x-hub-signature-256")?;
    let sig = value
        .strip_prefix("sha256=")
        .and_then(unhex)
        .ok_or(Refusal::Malformed("x-hub-signature-256"))?;
    if any_matches(Algorithm::Sha256, keys, &[body], &[sig]) {
        Ok(())
    } else {
        Err(Refusal::Mismatch)
    }
}
