//! The backends the console reads ([`Backends`]): each configured one opened with ferry's
//! own backend code, matched with sidecars by kind and place; [`read_state`], the queue
//! counts of one subscription (a partitioned one's realm queues included, with the code of
//! `ferry queue stats`); and [`preview`], how a dead letter's payload is shown.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use serde::Serialize;

use crate::{
    backend::{self, Backend, BackendConfig, QueueStats, Stats},
    control::{backend_ref, wire::BackendRef},
    dispatch::realm_queues,
};

/// One backend the console reads.
pub struct Entry {
    /// Kind and place, as sidecars report them.
    pub reference: BackendRef,
    /// The backend.
    pub backend: Arc<dyn Backend>,
}

/// The backends by name.
#[derive(Default)]
pub struct Backends {
    by_name: BTreeMap<String, Entry>,
}

impl Backends {
    /// Opens every backend of `configs`.
    pub async fn open(configs: &BTreeMap<String, BackendConfig>) -> Result<Self, String> {
        let mut by_name = BTreeMap::new();
        for (name, config) in configs {
            let backend = backend::open(config)
                .await
                .map_err(|e| format!("backends.{name}: {e}"))?;
            by_name.insert(
                name.clone(),
                Entry {
                    reference: backend_ref(config),
                    backend,
                },
            );
        }
        Ok(Self { by_name })
    }

    /// One backend, already open, named `name` (a ferry's own console).
    pub fn single(name: &str, reference: BackendRef, backend: Arc<dyn Backend>) -> Self {
        let mut by_name = BTreeMap::new();
        by_name.insert(name.to_owned(), Entry { reference, backend });
        Self { by_name }
    }

    /// The console's name for the backend a sidecar reports: the configured one of the same
    /// kind and place, else `<kind>~<8 hex digits of the place>`.
    pub fn resolve(&self, r: &BackendRef) -> String {
        if let Some((name, _)) = self.by_name.iter().find(|(_, e)| e.reference == *r) {
            return name.clone();
        }
        let hash = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, r.locator.as_bytes());
        format!("{}~{}", r.kind, &hash.simple().to_string()[..8])
    }

    /// The backend named `name`, if configured.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.by_name.get(name)
    }

    /// Every configured backend.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.by_name.iter()
    }
}

/// One realm queue of a partitioned subscription.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Partition {
    /// The queue.
    pub queue: String,
    /// Its counts.
    pub ready: u64,
    /// Leased.
    pub in_flight: u64,
    /// Waiting for a due time.
    pub delayed: u64,
}

/// The queue counts of one subscription, as last read.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct QueueState {
    /// When read (Unix ms).
    pub at_ms: i64,
    /// Ready, in flight, delayed (all realm queues summed) and dead; `None` where the
    /// backend cannot count (Pub/Sub without Cloud Monitoring) or the read failed.
    pub counts: Option<Stats>,
    /// When the backend's monitoring sampled `counts` (Unix ms), for counts that are
    /// samples (Pub/Sub): `ready` is then the backlog, leased messages included, and
    /// `in_flight` is 0 (the sidecars report theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampled_at_ms: Option<i64>,
    /// A partitioned subscription's realm queues.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<Partition>,
    /// Why there are no counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How long one read may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the counts of a subscription consuming `queue` (or the realm queues of
/// `prefix`) with dead letters in `error_queue`: the backend's own counts, else (Pub/Sub)
/// the depths its monitoring last sampled, marked with the sample's time.
pub async fn read_state(
    backend: &dyn Backend,
    queue: Option<&str>,
    prefix: Option<&str>,
    error_queue: &str,
) -> QueueState {
    let at_ms = super::now_ms();
    let failed = |error: String| QueueState {
        at_ms,
        error: Some(error),
        ..QueueState::default()
    };
    let read = async {
        if let Some(stats) = backend.stats() {
            let (counts, partitions) = exact(backend, stats, queue, prefix, error_queue)
                .await
                .map_err(|e| e.to_string())?;
            return Ok((counts, partitions, None));
        }
        let (Some(sampled), Some(queue), None) = (backend.sampled_stats(), queue, prefix) else {
            return Err(backend.no_counts_reason());
        };
        let s = sampled
            .sampled(queue, error_queue)
            .await
            .map_err(|e| e.to_string())?;
        let counts = Stats {
            ready: s.backlog,
            in_flight: 0,
            delayed: s.delayed,
            dead: s.dead,
        };
        Ok((counts, Vec::new(), Some(super::ms_of(s.sampled_at))))
    };
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(Ok((counts, partitions, sampled_at_ms))) => QueueState {
            at_ms,
            counts: Some(counts),
            partitions,
            sampled_at_ms,
            error: None,
        },
        Ok(Err(e)) => failed(e),
        Err(_) => failed(format!("no answer within {READ_TIMEOUT:?}")),
    }
}

/// The backend's own counts of `queue` or of the realm queues of `prefix`.
async fn exact(
    backend: &dyn Backend,
    stats: &dyn QueueStats,
    queue: Option<&str>,
    prefix: Option<&str>,
    error_queue: &str,
) -> Result<(Stats, Vec<Partition>), backend::BackendError> {
    match (queue, prefix) {
        (_, Some(prefix)) => {
            let queues = realm_queues(backend, prefix, error_queue).await?;
            let mut sum = Stats::default();
            let mut partitions = Vec::new();
            for q in queues {
                let s = stats.stats(&q, error_queue).await?;
                sum.ready += s.ready;
                sum.in_flight += s.in_flight;
                sum.delayed += s.delayed;
                partitions.push(Partition {
                    queue: q,
                    ready: s.ready,
                    in_flight: s.in_flight,
                    delayed: s.delayed,
                });
            }
            let e = stats.stats(error_queue, error_queue).await?;
            sum.dead = e.ready + e.in_flight + e.delayed;
            Ok((sum, partitions))
        }
        (Some(queue), None) => Ok((stats.stats(queue, error_queue).await?, Vec::new())),
        (None, None) => Ok((Stats::default(), Vec::new())),
    }
}

/// How much of a payload a preview shows.
pub const PREVIEW_BYTES: usize = 4096;

/// A payload as the page shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Preview {
    /// `json`, `text` or `hex`.
    pub kind: &'static str,
    /// The (pretty-printed JSON, text or hex) preview, cut at [`PREVIEW_BYTES`].
    pub text: String,
    /// The payload's size in bytes.
    pub bytes: usize,
    /// Whether the preview is cut.
    pub truncated: bool,
}

/// A preview of `payload`: JSON pretty-printed, UTF-8 text as is, anything else as hex.
pub fn preview(payload: &[u8]) -> Preview {
    let bytes = payload.len();
    if let Ok(text) = std::str::from_utf8(payload) {
        let (kind, shown) = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() || v.is_array() => (
                "json",
                serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_owned()),
            ),
            _ => ("text", text.to_owned()),
        };
        let truncated = shown.len() > PREVIEW_BYTES;
        let mut cut = PREVIEW_BYTES.min(shown.len());
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        return Preview {
            kind,
            text: shown[..cut].to_owned(),
            bytes,
            truncated,
        };
    }
    let shown = &payload[..payload.len().min(PREVIEW_BYTES / 3)];
    let text = shown
        .chunks(16)
        .map(|row| {
            row.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n");
    Preview {
        kind: "hex",
        text,
        bytes,
        truncated: shown.len() < payload.len(),
    }
}
