//! The baseline of `--backend sqs --baseline`: a direct consumer written with aws-sdk-sqs,
//! the way a team would without ferry. Same concurrency (`max_in_flight` messages at once),
//! same batch size (at most `batch` per long poll, only as many as there is room for), the
//! same no-op handler (records the start time, answers done) called in-process instead of
//! over gRPC, the same message data asked of SQS (receive count, sent time, message
//! attributes: what counting attempts needs), and deletes in batches (`DeleteMessageBatch`,
//! one per received batch).
//! ferry's throughput divided by this one is the ratio the SQS backend is held to.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use aws_sdk_sqs::{
    Client,
    types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName},
};
use tokio::{sync::Semaphore, task::JoinSet};

/// What the baseline measured.
pub struct Baseline {
    /// From the first receive to the last delete.
    pub elapsed: Duration,
}

/// The handler: the same work as the benchmark's no-op worker.
fn handle(starts: &Mutex<HashMap<String, SystemTime>>, id: &str) {
    starts
        .lock()
        .unwrap()
        .entry(id.to_owned())
        .or_insert_with(SystemTime::now);
}

/// Consumes `n` messages from `url`.
pub async fn consume(
    client: &Client,
    url: &str,
    n: usize,
    max_in_flight: usize,
    batch: usize,
) -> Baseline {
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let starts: Arc<Mutex<HashMap<String, SystemTime>>> = Arc::default();
    let mut received = 0usize;
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    while received < n {
        let mut permits = slots.clone().acquire_owned().await.unwrap();
        while permits.num_permits() < batch {
            match slots.clone().try_acquire_owned() {
                Ok(p) => permits.merge(p),
                Err(_) => break,
            }
        }
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(i32::try_from(permits.num_permits()).unwrap_or(10))
            .wait_time_seconds(1)
            // The message data ferry reads too: a consumer needs the receive count to
            // count attempts, and the attributes its messages carry.
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receiving");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            continue;
        }
        received += messages.len();
        let (client, url, starts) = (client.clone(), url.to_owned(), starts.clone());
        tasks.spawn(async move {
            let mut entries = Vec::with_capacity(messages.len());
            for (i, m) in messages.iter().enumerate() {
                handle(&starts, m.message_id().unwrap_or_default());
                entries.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                        .unwrap(),
                );
            }
            let out = client
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .expect("deleting");
            assert!(
                out.failed().is_empty(),
                "deletes failed: {:?}",
                out.failed()
            );
            drop(permits);
        });
    }
    while tasks.join_next().await.is_some() {}
    Baseline {
        elapsed: started.elapsed(),
    }
}
