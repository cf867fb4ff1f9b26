//! The backends the benchmark can run through: how to preload messages and the config
//! section ferry needs. Add a backend by adding a [`BenchBackend`] and a match arm in
//! [`open`].

use std::sync::Arc;

use ferry::backend::{
    Backend, NewMessage,
    embedded::{EmbeddedBackend, EmbeddedConfig},
};

/// One backend under benchmark.
pub struct BenchBackend {
    backend: Arc<dyn Backend>,
    config_toml: String,
    features: &'static [&'static str],
    _dir: Option<tempfile::TempDir>,
}

/// Opens the backend named `name`.
pub async fn open(name: &str) -> BenchBackend {
    match name {
        "embedded" => {
            let dir = tempfile::tempdir().unwrap();
            let cfg = EmbeddedConfig {
                path: dir.path().join("bench.db"),
                ..EmbeddedConfig::default()
            };
            let backend = EmbeddedBackend::open(&cfg).await.unwrap();
            BenchBackend {
                backend: Arc::new(backend),
                config_toml: format!(
                    "[backend.embedded]\npath = {:?}\n",
                    cfg.path.display().to_string()
                ),
                features: &[],
                _dir: Some(dir),
            }
        }
        other => panic!("unknown backend `{other}` (known: embedded)"),
    }
}

impl BenchBackend {
    /// Publishes `n` messages of `size` bytes to `queue`, in batches.
    pub async fn load(&self, queue: &str, n: usize, size: usize) {
        let payload = vec![b'x'; size];
        let mut left = n;
        while left > 0 {
            let k = left.min(500);
            let batch = (0..k)
                .map(|_| NewMessage::new(queue, payload.clone()))
                .collect();
            self.backend.publish(batch).await.unwrap();
            left -= k;
        }
    }

    /// The `[backend...]` config section.
    pub fn config_toml(&self) -> &str {
        &self.config_toml
    }

    /// Cargo features the ferry binary needs.
    pub fn features(&self) -> &'static [&'static str] {
        self.features
    }

    /// Cleans up after the run.
    pub async fn finish(&self, _queue: &str) {}
}
