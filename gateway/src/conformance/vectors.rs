//! The worker conformance vectors: the JSON model of `tests/conformance/*.json` (documented
//! in `tests/conformance/README.md`), the set embedded in the binary, and loading a
//! directory of vector files with errors that name the file and the reason.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;

macro_rules! vector {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!("../../../tests/conformance/", $file)),
        )
    };
}
/// The vectors shipped with ferry, `(file name, JSON text)`, in run order.
pub const EMBEDDED: &[(&str, &str)] = &[
    vector!("01-health.json"),
    vector!("02-unicode-attributes.json"),
    vector!("03-empty-payload.json"),
    vector!("04-binary-payload.json"),
    vector!("05-one-mib-payload.json"),
    vector!("06-retry-with-delay.json"),
    vector!("07-dead-letter-with-reason.json"),
    vector!("08-deadline-expires.json"),
    vector!("09-unknown-expectation.json"),
];

/// The largest payload a vector may generate (`repeat` with `bytes`).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024 * 1024;

/// One validated vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Vector {
    /// The vector's name (unique in its set), printed on its pass / fail line.
    pub name: String,
    /// What it checks, in a sentence or two.
    pub description: String,
    /// The file it came from.
    pub file: String,
    /// What to do and what to expect.
    pub check: Check,
}

/// What a vector does.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a handful of vectors per run; boxing buys nothing"
)]
pub enum Check {
    /// Call `grpc.health.v1.Health/Check`.
    Health(HealthExpect),
    /// Call `ferry.v1.WorkerService/Handle`.
    Handle {
        /// The request to send.
        request: RequestSpec,
        /// The payload bytes, generated from `request.payload`.
        payload: Vec<u8>,
        /// What the answer must be.
        expect: Expect,
    },
}

/// A vector file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVector {
    name: String,
    description: String,
    kind: Kind,
    #[serde(default)]
    request: Option<RequestSpec>,
    expect: serde_json::Value,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Health,
    Handle,
}

/// The expected health answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthExpect {
    /// The status the worker must report (`SERVING`).
    pub status: HealthStatus,
}

/// A `grpc.health.v1` serving status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthStatus {
    /// Ready for calls.
    Serving,
    /// Not ready.
    NotServing,
}

/// The `HandleRequest` a vector sends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// The payload (empty when absent).
    #[serde(default)]
    pub payload: PayloadSpec,
    /// The attributes; `conformance.*` ones drive the reference behaviour.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// The message id.
    pub message_id: String,
    /// The delivery attempt.
    #[serde(default = "default_attempt")]
    pub attempt: u32,
    /// The subscription's `max_attempts`.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The realm.
    #[serde(default)]
    pub realm: String,
    /// The subscription name.
    #[serde(default = "default_name")]
    pub subscription: String,
    /// The queue name.
    #[serde(default = "default_name")]
    pub queue: String,
    /// Milliseconds from sending to the request's `deadline` (also sent as the gRPC
    /// timeout, as ferry does).
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
}

fn default_attempt() -> u32 {
    1
}

fn default_max_attempts() -> u32 {
    5
}

fn default_name() -> String {
    "conformance".to_owned()
}

fn default_deadline_ms() -> u64 {
    10_000
}

/// How to make the payload: exactly one of `text`, `hex`, or `repeat` with `bytes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadSpec {
    /// UTF-8 text.
    #[serde(default)]
    pub text: Option<String>,
    /// Bytes in hexadecimal (any byte values).
    #[serde(default)]
    pub hex: Option<String>,
    /// A text repeated, and cut, to exactly `bytes` bytes.
    #[serde(default)]
    pub repeat: Option<String>,
    /// The length for `repeat`.
    #[serde(default)]
    pub bytes: Option<usize>,
}

impl PayloadSpec {
    /// The payload bytes, or why the spec is invalid.
    pub fn generate(&self) -> Result<Vec<u8>, String> {
        match (&self.text, &self.hex, &self.repeat, self.bytes) {
            (None, None, None, None) => Ok(Vec::new()),
            (Some(text), None, None, None) => Ok(text.as_bytes().to_vec()),
            (None, Some(hex), None, None) => decode_hex(hex),
            (None, None, Some(_), Some(n)) if n > MAX_PAYLOAD_BYTES => Err(format!(
                "payload.bytes {n} is over the limit of {MAX_PAYLOAD_BYTES}"
            )),
            (None, None, Some(unit), Some(_)) if unit.is_empty() => {
                Err("payload.repeat must not be empty".to_owned())
            }
            (None, None, Some(unit), Some(n)) => {
                Ok(unit.as_bytes().iter().copied().cycle().take(n).collect())
            }
            _ => Err("payload: give exactly one of `text`, `hex`, or `repeat` with `bytes`".into()),
        }
    }
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.is_ascii() || !hex.len().is_multiple_of(2) {
        return Err("payload.hex must be an even number of hex digits".to_owned());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            let pair = &hex[i..i + 2];
            pair.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| u8::from_str_radix(pair, 16).ok())
                .flatten()
                .ok_or_else(|| format!("payload.hex: `{pair}` at offset {i} is not a hex byte"))
        })
        .collect()
}

/// The outcome a `Handle` vector expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `HandleResponse.done`.
    Done,
    /// `HandleResponse.retry`.
    Retry,
    /// `HandleResponse.dead_letter`.
    DeadLetter,
    /// `retry`, or the call ends with gRPC DEADLINE_EXCEEDED or CANCELLED.
    RetryOrDeadline,
}

/// What a `Handle` answer must be.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The outcome.
    pub outcome: Outcome,
    /// The exact retry or dead-letter reason, when given.
    #[serde(default)]
    pub reason: Option<String>,
    /// The exact retry delay in milliseconds, when given.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// True: exactly one published message echoing the request (see the README); false:
    /// nothing published.
    #[serde(default)]
    pub echo: bool,
    /// A log line the response must carry.
    #[serde(default)]
    pub log: Option<LogSpec>,
    /// The answer must not come sooner (milliseconds after the call started).
    #[serde(default)]
    pub min_ms: Option<u64>,
    /// The answer must come within this (default: `deadline_ms` + 2000).
    #[serde(default)]
    pub within_ms: Option<u64>,
}

/// An expected log line: level, text and exactly these fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSpec {
    /// `DEBUG`, `INFO`, `WARN` or `ERROR`.
    pub level: LevelName,
    /// The text.
    pub message: String,
    /// The fields.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// A log level as vectors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LevelName {
    /// `LOG_LEVEL_DEBUG`.
    Debug,
    /// `LOG_LEVEL_INFO` (or unspecified, which ferry reads as info).
    Info,
    /// `LOG_LEVEL_WARN`.
    Warn,
    /// `LOG_LEVEL_ERROR`.
    Error,
}

/// A vector file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("conformance vector {file}: {reason}")]
pub struct VectorError {
    /// The file (or embedded file name).
    pub file: String,
    /// Why.
    pub reason: String,
}

/// Parses and validates one vector file's text.
pub fn parse(file: &str, text: &str) -> Result<Vector, VectorError> {
    let err = |reason: String| VectorError {
        file: file.to_owned(),
        reason,
    };
    let raw: RawVector = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    if raw.name.trim().is_empty() {
        return Err(err("name is empty".into()));
    }
    let check = match (raw.kind, raw.request) {
        (Kind::Health, None) => Check::Health(
            serde_json::from_value(raw.expect).map_err(|e| err(format!("expect: {e}")))?,
        ),
        (Kind::Health, Some(_)) => return Err(err("a health vector takes no request".into())),
        (Kind::Handle, None) => return Err(err("a handle vector needs a request".into())),
        (Kind::Handle, Some(request)) => {
            let expect: Expect =
                serde_json::from_value(raw.expect).map_err(|e| err(format!("expect: {e}")))?;
            validate(&expect).map_err(|r| err(format!("expect: {r}")))?;
            let payload = request
                .payload
                .generate()
                .map_err(|r| err(format!("request.{r}")))?;
            Check::Handle {
                request,
                payload,
                expect,
            }
        }
    };
    Ok(Vector {
        name: raw.name,
        description: raw.description,
        file: file.to_owned(),
        check,
    })
}

fn validate(expect: &Expect) -> Result<(), String> {
    let done = expect.outcome == Outcome::Done;
    if !done && (expect.echo || expect.log.is_some()) {
        return Err("`echo` and `log` apply to outcome done only".into());
    }
    if expect.delay_ms.is_some() && expect.outcome != Outcome::Retry {
        return Err("`delay_ms` applies to outcome retry only".into());
    }
    if expect.reason.is_some() && !matches!(expect.outcome, Outcome::Retry | Outcome::DeadLetter) {
        return Err("`reason` applies to outcomes retry and dead_letter only".into());
    }
    if let (Some(min), Some(within)) = (expect.min_ms, expect.within_ms)
        && min > within
    {
        return Err(format!("min_ms {min} is over within_ms {within}"));
    }
    Ok(())
}

/// Checks that no two vectors share a name.
fn unique(vectors: Vec<Vector>) -> Result<Vec<Vector>, VectorError> {
    let mut seen = BTreeMap::new();
    for v in &vectors {
        if let Some(first) = seen.insert(v.name.clone(), v.file.clone()) {
            return Err(VectorError {
                file: v.file.clone(),
                reason: format!("name `{}` is already used by {first}", v.name),
            });
        }
    }
    Ok(vectors)
}

/// The embedded vectors.
pub fn embedded() -> Result<Vec<Vector>, VectorError> {
    unique(
        EMBEDDED
            .iter()
            .map(|(file, text)| parse(file, text))
            .collect::<Result<_, _>>()?,
    )
}

/// Every `*.json` file of `dir`, in file-name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Vector>, VectorError> {
    let io = |path: &Path, e: std::io::Error| VectorError {
        file: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(VectorError {
            file: dir.display().to_string(),
            reason: "no *.json vector files in this directory".into(),
        });
    }
    let vectors = files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
            parse(&path.display().to_string(), &text)
        })
        .collect::<Result<_, _>>()?;
    unique(vectors)
}
