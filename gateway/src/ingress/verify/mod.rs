//! Signature checks: one file per scheme ([`standard`] Standard Webhooks, [`stripe`],
//! [`github`], [`slack`], [`shopify`], [`mailgun`], [`generic`] HMAC), each over the raw
//! body as received. Every MAC is compared in constant time ([`subtle`]); a signed
//! timestamp must be within the route's tolerance (a replayed old request is refused);
//! several secrets may be configured at once (rotation): a signature made with any of them
//! is accepted. A [`Refusal`] names what was wrong for ferry's log, never a value, and the
//! client only ever hears 401.

mod generic;
mod github;
mod mailgun;
mod shopify;
mod slack;
mod standard;
mod stripe;

use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::secret::{Secret, SecretRef};
use crate::bounded::Span;

pub use generic::Template;

/// The default timestamp tolerance of the schemes that sign a timestamp.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,<base64>`).
    StandardWebhooks,
    /// Stripe: `Stripe-Signature: t=<ts>,v1=<hex>`.
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>`.
    Github,
    /// Slack: `X-Slack-Signature: v0=<hex>` over `v0:<ts>:<body>`.
    Slack,
    /// Shopify: `X-Shopify-Hmac-Sha256: <base64>`.
    Shopify,
    /// Mailgun: `timestamp`, `token`, `signature` in the body.
    Mailgun,
    /// A generic HMAC: header, algorithm, encoding and what is signed are configured.
    Hmac,
}

/// A generic HMAC's hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// HMAC-SHA1 (only for providers that still use it).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// How a generic HMAC's signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Hexadecimal (either case).
    Hex,
    /// Standard base64 (padding optional).
    Base64,
}

/// `verify`: the route's signature check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// The scheme: `standard_webhooks`, `stripe`, `github`, `slack`, `shopify`, `mailgun`
    /// or `hmac`.
    pub scheme: Scheme,
    /// The secrets, as `env:NAME` or `file:/path` (1 to 8: during a rotation, a signature
    /// made with any of them is accepted).
    pub secrets: Vec<SecretRef>,
    /// How far a signed timestamp may be from ferry's clock (1 s to 7 d; 5 min by default)
    /// for the schemes that sign one (standard_webhooks, stripe, slack, mailgun, and hmac
    /// with `timestamp_header`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<Span<1_000, 604_800_000>>,
    /// `hmac`: the header holding the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// `hmac`: `sha1`, `sha256` (default) or `sha512`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
    /// `hmac`: `hex` (default) or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
    /// `hmac`: text before the signature in the header (like `sha256=`), removed first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `hmac`: what is signed, with `{body}` (the raw body) and `{header:Name}` (a
    /// header's value) in it; `{body}` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
    /// `hmac`: a header holding the signing time (Unix seconds), checked against `tolerance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_header: Option<String>,
}

impl VerifyConfig {
    fn signs_timestamp(&self) -> bool {
        match self.scheme {
            Scheme::StandardWebhooks | Scheme::Stripe | Scheme::Slack | Scheme::Mailgun => true,
            Scheme::Github | Scheme::Shopify => false,
            Scheme::Hmac => self.timestamp_header.is_some(),
        }
    }

    /// The headers that carry the signature (never copied into a message).
    pub fn signature_headers(&self) -> Vec<String> {
        let fixed: &[&str] = match self.scheme {
            Scheme::StandardWebhooks => &["webhook-signature"],
            Scheme::Stripe => &["stripe-signature"],
            Scheme::Github => &["x-hub-signature-256", "x-hub-signature"],
            Scheme::Slack => &["x-slack-signature"],
            Scheme::Shopify => &["x-shopify-hmac-sha256"],
            Scheme::Mailgun => &[],
            Scheme::Hmac => &[],
        };
        let mut out: Vec<String> = fixed.iter().map(|s| (*s).to_owned()).collect();
        out.extend(self.header.clone());
        out
    }

    /// Problems as `(field, reason)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.secrets.is_empty() || self.secrets.len() > 8 {
            out.push(("secrets".into(), "must list 1-8 secrets".into()));
        }
        for (i, s) in self.secrets.iter().enumerate() {
            if let Some(reason) = s.problem() {
                out.push((format!("secrets[{i}]"), reason));
            }
        }
        if self.tolerance.is_some() && !self.signs_timestamp() {
            out.push((
                "tolerance".into(),
                "this scheme signs no timestamp (hmac: set timestamp_header)".into(),
            ));
        }
        let generic_only = [
            ("header", self.header.is_some()),
            ("algorithm", self.algorithm.is_some()),
            ("encoding", self.encoding.is_some()),
            ("prefix", self.prefix.is_some()),
            ("signed", self.signed.is_some()),
            ("timestamp_header", self.timestamp_header.is_some()),
        ];
        if self.scheme == Scheme::Hmac {
            match &self.header {
                None => out.push((
                    "header".into(),
                    "the hmac scheme needs the header that holds the signature".into(),
                )),
                Some(h) if h.is_empty() || h.parse::<http::HeaderName>().is_err() => {
                    out.push(("header".into(), format!("`{h}` is not a header name")));
                }
                Some(_) => {}
            }
            if let Some(t) = &self.signed
                && let Err(reason) = Template::parse(t)
            {
                out.push(("signed".into(), reason));
            }
            if let Some(h) = &self.timestamp_header
                && h.parse::<http::HeaderName>().is_err()
            {
                out.push((
                    "timestamp_header".into(),
                    format!("`{h}` is not a header name"),
                ));
            }
        } else {
            for (field, set) in generic_only {
                if set {
                    out.push((field.into(), "only the hmac scheme takes this key".into()));
                }
            }
        }
        out
    }
}

/// Why a request's signature was refused (for ferry's log; the client hears 401 only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A header or field the scheme needs is absent.
    #[error("no {0}")]
    Missing(&'static str),
    /// A header or field is not in the scheme's form.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The signed timestamp is outside the tolerance.
    #[error("the signed timestamp is outside the tolerance")]
    Stale,
    /// No signature matches any secret.
    #[error("no signature matches")]
    Mismatch,
}

/// A route's signature check, with its secrets read.
#[derive(Debug, Clone)]
pub struct Verifier {
    scheme: Scheme,
    keys: Vec<Secret>,
    tolerance: Duration,
    generic: Option<generic::Generic>,
}

impl Verifier {
    /// Reads the secrets of `config` (already checked by [`VerifyConfig::problems`]).
    /// `Err` is `(field, reason)`, naming the secret that could not be read.
    pub fn build(config: &VerifyConfig) -> Result<Self, (String, String)> {
        let mut keys = Vec::with_capacity(config.secrets.len());
        for (i, s) in config.secrets.iter().enumerate() {
            let secret = s.resolve().map_err(|e| (format!("secrets[{i}]"), e))?;
            let key = match config.scheme {
                Scheme::StandardWebhooks => {
                    standard::key(&secret).map_err(|e| (format!("secrets[{i}]"), e))?
                }
                _ => secret,
            };
            keys.push(key);
        }
        let generic = match config.scheme {
            Scheme::Hmac => {
                Some(generic::Generic::from_config(config).map_err(|e| ("signed".to_owned(), e))?)
            }
            _ => None,
        };
        Ok(Self {
            scheme: config.scheme,
            keys,
            tolerance: config.tolerance.map_or(DEFAULT_TOLERANCE, Span::get),
            generic,
        })
    }

    /// A verifier with the given keys (for tests with published vectors).
    pub fn with_keys(scheme: Scheme, keys: Vec<Secret>, tolerance: Duration) -> Self {
        Self {
            scheme,
            keys,
            tolerance,
            generic: None,
        }
    }

    /// Checks the request at time `now`.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<(), Refusal> {
        let keys = &self.keys;
        let tol = self.tolerance;
        match self.scheme {
            Scheme::StandardWebhooks => standard::verify(keys, headers, body, now, tol),
            Scheme::Stripe => stripe::verify(keys, headers, body, now, tol),
            Scheme::Github => github::verify(keys, headers, body),
            Scheme::Slack => slack::verify(keys, headers, body, now, tol),
            Scheme::Shopify => shopify::verify(keys, headers, body),
            Scheme::Mailgun => mailgun::verify(keys, headers, body, now, tol),
            Scheme::Hmac => match &self.generic {
                Some(g) => g.verify(keys, headers, body, now, tol),
                None => Err(Refusal::Mismatch),
            },
        }
    }
}

/// HMAC of the concatenation of `parts` under `key`.
pub(super) fn mac(algorithm: Algorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        // Any key length is valid for HMAC.
        let Ok(mut m) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
            return Vec::new();
        };
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }
    match algorithm {
        Algorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
        Algorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts),
        Algorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, parts),
    }
}

/// Whether any of `candidates` equals the MAC of `parts` under any of `keys`, compared in
/// constant time (every pair is compared; only the lengths, which are public, can differ).
pub(super) fn any_matches(
    algorithm: Algorithm,
    keys: &[Secret],
    parts: &[&[u8]],
    candidates: &[Vec<u8>],
) -> bool {
    let mut found = subtle::Choice::from(0);
    for key in keys {
        let expected = mac(algorithm, &key.0, parts);
        for c in candidates {
            found |= expected.as_slice().ct_eq(c.as_slice());
        }
    }
    found.into()
}

/// A header's value as text.
pub(super) fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, Refusal> {
    headers
        .get(name)
        .ok_or(Refusal::Missing(name))?
        .to_str()
        .map_err(|_| Refusal::Malformed(name))
}

/// Checks Unix seconds `ts` (as sent) against `now` within `tolerance`, either way.
pub(super) fn fresh(
    ts: &str,
    what: &'static str,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), Refusal> {
    let secs: u64 = ts.trim().parse().map_err(|_| Refusal::Malformed(what))?;
    let at = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .ok_or(Refusal::Malformed(what))?;
    let off = match now.duration_since(at) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if off > tolerance {
        Err(Refusal::Stale)
    } else {
        Ok(())
    }
}

/// Decodes hex (either case).
pub(super) fn unhex(s: &str) -> Option<Vec<u8>> {
    hex::decode(s.trim()).ok()
}

/// Decodes standard base64, padding optional.
pub(super) fn unbase64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let s = s.trim();
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(s))
        .ok()
}

#[cfg(test)]
mod tests;
