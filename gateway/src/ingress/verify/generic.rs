//! A generic HMAC, for a provider without a scheme of its own: the signature is in
//! `header` (after an optional `prefix`), written in `encoding`, made with `algorithm`
//! over `signed`, a template of `{body}` and `{header:Name}` parts; `timestamp_header`
//! names a header of Unix seconds checked against the tolerance.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName};

use super::{Algorithm, Encoding, Refusal, VerifyConfig, any_matches, fresh, unbase64, unhex};
use crate::ingress::secret::Secret;

/// One part of what is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Literal text.
    Text(String),
    /// The raw body.
    Body,
    /// A header's value.
    Header(HeaderName),
}

/// A parsed `signed` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Part>);

impl Template {
    /// Parses `{body}`, `{header:Name}` and literal text (`{{` and `}}` are literal braces).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        let mut bodies = 0;
        while let Some(c) = rest.chars().next() {
            if let Some(r) = rest.strip_prefix("{{") {
                lit.push('{');
                rest = r;
            } else if let Some(r) = rest.strip_prefix("}}") {
                lit.push('}');
                rest = r;
            } else if c == '{' {
                let end = rest
                    .find('}')
                    .ok_or_else(|| format!("`{text}`: a `{{` is not closed"))?;
                let name = &rest[1..end];
                if !lit.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut lit)));
                }
                if name == "body" {
                    bodies += 1;
                    parts.push(Part::Body);
                } else if let Some(h) = name.strip_prefix("header:") {
                    let h = h
                        .parse::<HeaderName>()
                        .map_err(|_| format!("`{h}` in `{text}` is not a header name"))?;
                    parts.push(Part::Header(h));
                } else {
                    return Err(format!(
                        "`{{{name}}}` in `{text}`: the parts are {{body}} and {{header:Name}}"
                    ));
                }
                rest = &rest[end + 1..];
            } else if c == '}' {
                return Err(format!("`{text}`: a `}}` without `{{` (write `}}}}`)"));
            } else {
                lit.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        if bodies != 1 {
            return Err(format!("`{text}` must hold {{body}} exactly once"));
        }
        Ok(Self(parts))
    }
}

/// The generic scheme's settings.
#[derive(Debug, Clone)]
pub(super) struct Generic {
    header: HeaderName,
    algorithm: Algorithm,
    encoding: Encoding,
    prefix: String,
    signed: Template,
    timestamp_header: Option<HeaderName>,
}

impl Generic {
    pub(super) fn from_config(c: &VerifyConfig) -> Result<Self, String> {
        let name = |h: &str| {
            h.parse::<HeaderName>()
                .map_err(|_| format!("`{h}` is not a header name"))
        };
        Ok(Self {
            header: name(c.header.as_deref().unwrap_or_default())?,
            algorithm: c.algorithm.unwrap_or(Algorithm::Sha256),
            encoding: c.encoding.unwrap_or(Encoding::Hex),
            prefix: c.prefix.clone().unwrap_or_default(),
            signed: Template::parse(c.signed.as_deref().unwrap_or("{body}"))?,
            timestamp_header: c.timestamp_header.as_deref().map(name).transpose()?,
        })
    }

    pub(super) fn verify(
        &self,
        keys: &[Secret],
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
        tolerance: Duration,
    ) -> Result<(), Refusal> {
        let value = headers
            .get(&self.header)
            .ok_or(Refusal::Missing("signature header"))?
            .to_str()
            .map_err(|_| Refusal::Malformed("signature header"))?;
        let text = value
            .strip_prefix(self.prefix.as_str())
            .ok_or(Refusal::Malformed("signature header"))?;
        let sig = match self.encoding {
            Encoding::Hex => unhex(text),
            Encoding::Base64 => unbase64(text),
        }
        .ok_or(Refusal::Malformed("signature header"))?;
        if let Some(h) = &self.timestamp_header {
            let ts = headers
                .get(h)
                .ok_or(Refusal::Missing("timestamp header"))?
                .to_str()
                .map_err(|_| Refusal::Malformed("timestamp header"))?;
            fresh(ts, "timestamp header", now, tolerance)?;
        }
        let mut parts: Vec<&[u8]> = Vec::with_capacity(self.signed.0.len());
        for p in &self.signed.0 {
            parts.push(match p {
                Part::Text(t) => t.as_bytes(),
                Part::Body => body,
                Part::Header(h) => headers
                    .get(h)
                    .ok_or(Refusal::Missing("signed header"))?
                    .as_bytes(),
            });
        }
        if any_matches(self.algorithm, keys, &parts, &[sig]) {
            Ok(())
        } else {
            Err(Refusal::Mismatch)
        }
    }
}
