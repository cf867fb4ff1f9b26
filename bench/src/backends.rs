//! The backends the benchmark can run through: how to create and preload a queue and the
//! config section ferry needs. Add a backend by adding a [`BenchBackend`] and a match arm
//! in [`open`]. `sqs` (feature `sqs`) runs against `FERRY_TEST_SQS_ENDPOINT` (ElasticMQ
//! from `scripts/servers/elasticmq.sh`) or, without it, SQS in `AWS_REGION`; `pubsub`
//! (feature `pubsub`) runs against the emulator at `FERRY_TEST_PUBSUB_EMULATOR_HOST`.

use std::sync::Arc;

use ferry::backend::{
    Backend, NewMessage,
    embedded::{EmbeddedBackend, EmbeddedConfig},
};

/// The ack deadline of the benchmark's Pub/Sub subscriptions (ferry's default lease).
#[cfg(feature = "pubsub")]
pub const PUBSUB_ACK_DEADLINE: i32 = 30;

/// One backend under benchmark.
pub struct BenchBackend {
    backend: Arc<dyn Backend>,
    #[cfg(feature = "sqs")]
    sqs: Option<ferry::backend::sqs::SqsBackend>,
    #[cfg(feature = "pubsub")]
    pubsub: Option<gcloud_pubsub::client::Client>,
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
                #[cfg(feature = "sqs")]
                sqs: None,
                #[cfg(feature = "pubsub")]
                pubsub: None,
                config_toml: format!(
                    "[backend.embedded]\npath = {:?}\n",
                    cfg.path.display().to_string()
                ),
                features: &[],
                _dir: Some(dir),
            }
        }
        #[cfg(feature = "sqs")]
        "sqs" => sqs().await,
        #[cfg(feature = "pubsub")]
        "pubsub" => pubsub().await,
        other => panic!(
            "unknown backend `{other}` (known: embedded; sqs, pubsub with `--features sqs,pubsub`)"
        ),
    }
}

#[cfg(feature = "sqs")]
async fn sqs() -> BenchBackend {
    use ferry::backend::sqs::{SqsBackend, SqsConfig};
    let cfg = SqsConfig {
        region: Some(std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned())),
        endpoint: std::env::var("FERRY_TEST_SQS_ENDPOINT").ok(),
        ..SqsConfig::default()
    };
    let backend = SqsBackend::open(&cfg)
        .await
        .expect("opening SQS (set FERRY_TEST_SQS_ENDPOINT for ElasticMQ)");
    let mut toml = format!(
        "[backend.sqs]\nregion = {:?}\n",
        cfg.region.unwrap_or_default()
    );
    if let Some(e) = &cfg.endpoint {
        toml.push_str(&format!("endpoint = {e:?}\n"));
    }
    BenchBackend {
        backend: Arc::new(backend.clone()),
        sqs: Some(backend),
        #[cfg(feature = "pubsub")]
        pubsub: None,
        config_toml: toml,
        features: &["sqs"],
        _dir: None,
    }
}

#[cfg(feature = "pubsub")]
async fn pubsub() -> BenchBackend {
    use ferry::backend::pubsub::{PubsubBackend, PubsubConfig};
    let host = std::env::var("FERRY_TEST_PUBSUB_EMULATOR_HOST")
        .expect("set FERRY_TEST_PUBSUB_EMULATOR_HOST (scripts/servers/pubsub.sh start)");
    let project = format!("ferry-bench-{}", std::process::id());
    let mut cfg = PubsubConfig::new(project.clone());
    cfg.emulator_host = Some(host.clone());
    let backend = PubsubBackend::open(&cfg).await.unwrap();
    let admin = gcloud_pubsub::client::Client::new(gcloud_pubsub::client::ClientConfig {
        project_id: Some(project.clone()),
        environment: gcloud_gax::conn::Environment::Emulator(host.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    BenchBackend {
        backend: Arc::new(backend),
        #[cfg(feature = "sqs")]
        sqs: None,
        pubsub: Some(admin),
        config_toml: format!("[backend.pubsub]\nproject = {project:?}\nemulator_host = {host:?}\n"),
        features: &["pubsub"],
        _dir: None,
    }
}

impl BenchBackend {
    /// Creates `queue` and its error queue where the backend needs them to exist.
    pub async fn create(&self, queue: &str) {
        #[cfg(feature = "sqs")]
        if let Some(sqs) = &self.sqs {
            for q in [queue.to_owned(), format!("{queue}-errors")] {
                sqs.client()
                    .create_queue()
                    .queue_name(q)
                    .send()
                    .await
                    .unwrap();
            }
        }
        #[cfg(feature = "pubsub")]
        if let Some(admin) = &self.pubsub {
            // The queue, its retry topic and subscription (ferry's copies), its error queue.
            for q in [
                queue.to_owned(),
                format!("{queue}-retry"),
                format!("{queue}-errors"),
            ] {
                admin.create_topic(&q, None, None).await.unwrap();
                let settings = gcloud_pubsub::subscription::SubscriptionConfig {
                    ack_deadline_seconds: PUBSUB_ACK_DEADLINE,
                    ..Default::default()
                };
                admin
                    .create_subscription(&q, &q, settings, None)
                    .await
                    .unwrap();
            }
        }
        let _ = queue;
    }

    /// The Pub/Sub client, when that is the backend under benchmark.
    #[cfg(feature = "pubsub")]
    pub fn pubsub(&self) -> Option<&gcloud_pubsub::client::Client> {
        self.pubsub.as_ref()
    }

    /// The SQS backend, when that is the one under benchmark.
    #[cfg(feature = "sqs")]
    pub fn sqs(&self) -> Option<&ferry::backend::sqs::SqsBackend> {
        self.sqs.as_ref()
    }

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

    /// Publishes `messages` and returns their ids.
    pub async fn publish(&self, messages: Vec<NewMessage>) -> Vec<String> {
        self.backend.publish(messages).await.unwrap()
    }

    /// The `[backend...]` config section.
    pub fn config_toml(&self) -> &str {
        &self.config_toml
    }

    /// Cargo features the ferry binary needs.
    pub fn features(&self) -> &'static [&'static str] {
        self.features
    }

    /// Deletes `queue` and its error queue after the run, so that a long-lived server does
    /// not carry every earlier run's queues into the next one.
    pub async fn finish(&self, queue: &str) {
        #[cfg(feature = "sqs")]
        if let Some(sqs) = &self.sqs {
            for q in [queue.to_owned(), format!("{queue}-errors")] {
                if let Ok(url) = sqs.queue_url(&q).await {
                    let _ = sqs.client().delete_queue().queue_url(url).send().await;
                }
            }
        }
        let _ = queue;
    }
}
