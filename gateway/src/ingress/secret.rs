//! Signing secrets: named in `ferry.toml` as `env:NAME` (an environment variable) or
//! `file:/path` (a file, one trailing newline ignored), never written there. A [`Secret`]
//! never shows its value: its `Debug` is `<redacted>`, and nothing logs it.

use serde::{Deserialize, Serialize};

/// Where a secret is read from: `env:NAME` or `file:/path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretRef(pub String);

/// The most bytes of one secret (a key file of a few hundred bytes at most).
const MAX_SECRET: usize = 4096;

impl SecretRef {
    /// Why the reference cannot name a secret, if it cannot (checked when the file is read).
    pub fn problem(&self) -> Option<String> {
        match self.0.split_once(':') {
            Some(("env", name))
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                None
            }
            Some(("file", path)) if !path.is_empty() => None,
            _ => Some(
                "must be `env:NAME` (an environment variable) or `file:/path` (a file); the \
                 secret itself is never written in ferry.toml"
                    .into(),
            ),
        }
    }

    /// Reads the secret now. The error says what is missing, never a value.
    pub fn resolve(&self) -> Result<Secret, String> {
        let bytes = match self.0.split_once(':') {
            Some(("env", name)) => std::env::var_os(name)
                .ok_or_else(|| format!("the environment variable {name} is not set"))?
                .into_encoded_bytes(),
            Some(("file", path)) => {
                let mut bytes =
                    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
                if bytes.ends_with(b"\n") {
                    bytes.pop();
                    if bytes.ends_with(b"\r") {
                        bytes.pop();
                    }
                }
                bytes
            }
            _ => return Err("must be `env:NAME` or `file:/path`".into()),
        };
        if bytes.is_empty() {
            return Err("the secret is empty".into());
        }
        if bytes.len() > MAX_SECRET {
            return Err(format!("the secret is longer than {MAX_SECRET} bytes"));
        }
        Ok(Secret(bytes))
    }
}

/// A secret's bytes. Never displayed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}
