//! [`SpanSink`]: finished spans go into a bounded queue and one task exports them in
//! batches over OTLP; a full queue drops the span and counts it, never blocks a delivery.
//! [`SpanSink::shutdown`] exports what is left (ferry calls it on graceful shutdown).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use opentelemetry::InstrumentationScope;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{
    Resource,
    trace::{SpanData, SpanExporter as _},
};
use tokio::sync::{mpsc, oneshot};

use super::{Protocol, TracingConfig};

/// The most spans sent in one export call.
const MAX_BATCH: usize = 512;
/// How long a span waits at most before it is exported.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

enum Item {
    Span(Box<SpanData>),
    Flush(oneshot::Sender<()>),
}

/// Where finished spans go (exported by a task started with [`start`]).
#[derive(Debug)]
pub struct SpanSink {
    tx: mpsc::Sender<Item>,
    ratio: f64,
    dropped: AtomicU64,
    failed: Arc<AtomicU64>,
    timeout: Duration,
    pub(super) scope: InstrumentationScope,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Span(_) => "Span",
            Self::Flush(_) => "Flush",
        })
    }
}

/// The exporter and its task for `config`, or `None` when tracing is off (no
/// `otlp_endpoint`). `service` is the default `service.name`. Must run inside the tokio
/// runtime.
pub fn start(
    config: &TracingConfig,
    service: &str,
    version: &str,
) -> Result<Option<Arc<SpanSink>>, String> {
    let Some(endpoint) = config.otlp_endpoint.as_deref() else {
        return Ok(None);
    };
    let timeout = config.export_timeout.get();
    let built = match config.protocol {
        Protocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_timeout(timeout)
            .build(),
        Protocol::Http => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .with_timeout(timeout)
            .build(),
    };
    let mut exporter = built.map_err(|e| format!("tracing.otlp_endpoint `{endpoint}`: {e}"))?;
    let name = config.service_name.as_deref().unwrap_or(service).to_owned();
    exporter.set_resource(
        &Resource::builder_empty()
            .with_service_name(name)
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                version.to_owned(),
            ))
            .build(),
    );
    let (tx, rx) = mpsc::channel(config.max_queue.usize());
    let failed = Arc::new(AtomicU64::new(0));
    tokio::spawn(run(exporter, rx, Arc::clone(&failed)));
    Ok(Some(Arc::new(SpanSink {
        tx,
        ratio: config.sample_ratio.get(),
        dropped: AtomicU64::new(0),
        failed,
        timeout,
        scope: InstrumentationScope::builder("ferry")
            .with_version(crate::telemetry::record::FERRY_VERSION)
            .build(),
    })))
}

async fn run(
    exporter: opentelemetry_otlp::SpanExporter,
    mut rx: mpsc::Receiver<Item>,
    failed: Arc<AtomicU64>,
) {
    let mut batch: Vec<SpanData> = Vec::new();
    let export = |batch: &mut Vec<SpanData>| {
        let spans = std::mem::take(batch);
        let n = spans.len() as u64;
        let exporter = &exporter;
        let failed = &failed;
        async move {
            if n > 0 && exporter.export(spans).await.is_err() {
                failed.fetch_add(n, Ordering::Relaxed);
            }
        }
    };
    loop {
        let item = tokio::select! {
            item = rx.recv() => item,
            () = tokio::time::sleep(FLUSH_EVERY), if !batch.is_empty() => {
                export(&mut batch).await;
                continue;
            }
        };
        match item {
            Some(Item::Span(span)) => {
                batch.push(*span);
                if batch.len() >= MAX_BATCH {
                    export(&mut batch).await;
                }
            }
            Some(Item::Flush(done)) => {
                export(&mut batch).await;
                let _ = done.send(());
            }
            None => {
                export(&mut batch).await;
                return;
            }
        }
    }
}

impl SpanSink {
    /// The sampling ratio.
    pub fn ratio(&self) -> f64 {
        self.ratio
    }

    /// Queues a finished span; drops (and counts) it when the queue is full.
    pub(super) fn send(&self, span: SpanData) {
        if self.tx.try_send(Item::Span(Box::new(span))).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Spans dropped because the queue was full, and spans whose export failed.
    pub fn lost(&self) -> (u64, u64) {
        (
            self.dropped.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }

    /// Exports every span queued so far, waiting at most `tracing.export_timeout`.
    pub async fn flush(&self) {
        let timeout = self.timeout;
        let (done, wait) = oneshot::channel();
        let sent = tokio::time::timeout(timeout, async {
            if self.tx.send(Item::Flush(done)).await.is_ok() {
                let _ = wait.await;
            }
        });
        let _ = sent.await;
    }
}
