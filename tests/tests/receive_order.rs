//! The receive loop's order on ferry's one runtime thread, in process: the real receive
//! loop (`run_subscription`) over the real embedded queue, calling a real `ferry-sdk`
//! worker over gRPC. The queue is wrapped to note, as each receive begins, how many
//! `message.received` records the deliveries have written so far (a delivery writes it
//! as it hands its call to the worker's connection).
//!
//! On a backend that prepares its receives on ferry's thread (SQS, on ElasticMQ; and the
//! embedded queue made to say so, to test the loop on its own):
//! - after a receive that brought fewer messages than it asked for (no backlog), the
//!   deliveries go first: the next receive begins after all of them were started;
//! - after a full batch (a backlog), the next receive goes first, which keeps the rate
//!   up; its deliveries start while it waits.
//!
//! On one whose receive is a hand-off to another thread (the embedded queue as it is),
//! the next receive goes first after a partial batch too.
#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use ferry::{
    backend::{
        Backend, BackendError, DeadLetterStory, Failure, NewMessage, Receipt, Received,
        embedded::{EmbeddedBackend, EmbeddedConfig},
    },
    bounded::Span,
    config::{LimitsConfig, SubscriptionConfig},
    dispatch::{SubscriptionContext, run_subscription},
    shutdown::Shutdown,
    telemetry::{Line, LogSink, Telemetry},
    worker::{HealthWatch, WorkerClient},
};
use ferry_tests::{TestWorker, assert_eventually};

/// Counts the `message.received` records written.
#[derive(Default)]
struct ReceivedRecords(Mutex<usize>);

#[async_trait]
impl LogSink for ReceivedRecords {
    fn write(&self, line: Arc<Line>) {
        if line.json().contains(r#""event.action":"message.received""#) {
            *self.0.lock().unwrap() += 1;
        }
    }

    async fn flush(&self) {}
}

impl ReceivedRecords {
    fn count(&self) -> usize {
        *self.0.lock().unwrap()
    }
}

/// One receive: the `message.received` records written when it began, and how many
/// messages it brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Receive {
    started_before: usize,
    brought: usize,
}

/// A real queue backend, noting each receive.
struct Noting<B> {
    inner: B,
    /// What it answers to `prepares_receive_inline`; `None`: what `inner` answers.
    prepares_inline: Option<bool>,
    records: Arc<ReceivedRecords>,
    receives: Mutex<Vec<Receive>>,
}

impl<B> Noting<B> {
    fn receives(&self) -> Vec<Receive> {
        self.receives.lock().unwrap().clone()
    }
}

#[async_trait]
impl<B: Backend> Backend for Noting<B> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn prepares_receive_inline(&self) -> bool {
        self.prepares_inline
            .unwrap_or_else(|| self.inner.prepares_receive_inline())
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Received>, BackendError> {
        let started_before = self.records.count();
        let batch = self.inner.receive(queue, max, lease, wait).await?;
        self.receives.lock().unwrap().push(Receive {
            started_before,
            brought: batch.len(),
        });
        Ok(batch)
    }

    async fn extend(&self, q: &str, r: &Receipt, lease: Duration) -> Result<(), BackendError> {
        self.inner.extend(q, r, lease).await
    }

    async fn ack(&self, queue: &str, receipt: &Receipt) -> Result<(), BackendError> {
        self.inner.ack(queue, receipt).await
    }

    async fn release(
        &self,
        queue: &str,
        receipt: &Receipt,
        delay: Duration,
        failure: Option<&Failure>,
    ) -> Result<(), BackendError> {
        self.inner.release(queue, receipt, delay, failure).await
    }

    async fn dead_letter(
        &self,
        message: &Received,
        error_queue: &str,
        story: &DeadLetterStory,
    ) -> Result<(), BackendError> {
        self.inner.dead_letter(message, error_queue, story).await
    }

    async fn publish(&self, messages: Vec<NewMessage>) -> Result<Vec<String>, BackendError> {
        self.inner.publish(messages).await
    }
}

/// The receives of [`run_on`] over a new embedded queue answering `prepares_inline`.
async fn receives_with(n: usize, prepares_inline: bool) -> Vec<Receive> {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedConfig {
        path: dir.path().join("queue.db"),
        ..EmbeddedConfig::default()
    };
    let inner = EmbeddedBackend::open(&config).await.unwrap();
    run_on(inner, Some(prepares_inline), "jobs", n).await
}

/// Publishes `n` messages to `queue` of `inner`, runs one subscription of it (batches of
/// ten) on this test's one runtime thread until the worker has handled them, and returns
/// its receives.
async fn run_on<B: Backend>(
    inner: B,
    prepares_inline: Option<bool>,
    queue: &str,
    n: usize,
) -> Vec<Receive> {
    let records = Arc::new(ReceivedRecords::default());
    let backend = Arc::new(Noting {
        inner,
        prepares_inline,
        records: records.clone(),
        receives: Mutex::default(),
    });
    let messages = (0..n)
        .map(|i| NewMessage::new(queue, format!("m{i}").into_bytes()))
        .collect();
    backend.publish(messages).await.unwrap();

    let worker = TestWorker::start().await;
    let telemetry = Telemetry::new("receive-order", records.clone());
    let client = WorkerClient::connect_lazy(&worker.url()).unwrap();
    let health = HealthWatch::new(client.channel(), telemetry.clone());
    assert!(health.check_now().await, "the test worker is not serving");
    let subscription = SubscriptionConfig {
        queue: Some(queue.to_owned()),
        receive_wait: Span::millis(50),
        ..SubscriptionConfig::default()
    };
    assert_eq!(subscription.batch_size.non_zero().get(), 10);
    let ctx = SubscriptionContext::new(
        "jobs",
        subscription,
        LimitsConfig::default(),
        backend.clone(),
        client,
        health,
        telemetry,
        Shutdown::default(),
    );
    let poller = tokio::spawn(run_subscription(ctx));
    assert_eventually!(
        worker.finished() == n && backend.receives().len() >= 2,
        "{} of {n} handled; receives {:?}",
        worker.finished(),
        backend.receives()
    );
    poller.abort();
    backend.receives()
}

/// Asserts that the first receive brought `brought` messages and that, when the second
/// began, `started` of them had been started.
fn assert_second_began_after(receives: &[Receive], brought: usize, started: usize) {
    let first = Receive {
        started_before: 0,
        brought,
    };
    let second = Receive {
        started_before: started,
        brought: 0,
    };
    assert_eq!(receives[..2], [first, second], "{receives:?}");
}

#[tokio::test]
async fn after_a_partial_batch_its_deliveries_start_before_the_next_receive() {
    // All three deliveries had started when the next receive began.
    assert_second_began_after(&receives_with(3, true).await, 3, 3);
}

#[tokio::test]
async fn after_a_full_batch_the_next_receive_goes_first() {
    assert_second_began_after(&receives_with(10, true).await, 10, 0);
}

#[tokio::test]
async fn where_a_receive_is_a_hand_off_the_next_one_goes_first_after_a_partial_batch() {
    assert_second_began_after(&receives_with(3, false).await, 3, 0);
}

#[cfg(feature = "sqs")]
#[tokio::test]
async fn on_sqs_each_receive_after_a_partial_batch_begins_once_its_deliveries_started() {
    let f = ferry_tests::fixtures::Sqs::new().await;
    // A queue of this run's own: a long poll left by an earlier run's process goes on
    // receiving on the server after that process ended.
    let queue = &format!("receive-order-{}", std::process::id());
    f.create_queue(queue, &[]).await;
    // SQS itself answers whether it prepares its receives inline.
    let receives = run_on(f.sqs().clone(), None, queue, 3).await;
    // ElasticMQ may hand the three out over more than one receive: after each receive
    // that brought some but fewer than ten, the next began once all brought were started.
    let mut brought = 0;
    let mut checked = 0;
    for pair in receives.windows(2) {
        brought += pair[0].brought;
        if (1..10).contains(&pair[0].brought) {
            assert_eq!(pair[1].started_before, brought, "{receives:?}");
            checked += 1;
        }
    }
    assert!(checked > 0, "no partial batch: {receives:?}");
}
