//! [`Batcher`]: deletes and visibility changes, batched per queue. A request waits at most
//! the settle window for others to share its `DeleteMessageBatch` /
//! `ChangeMessageVisibilityBatch` (ten go at once), and its caller gets *its entry's*
//! result: an ack is only reported done when SQS confirmed that entry. Entries that failed
//! on the server's side are retried one by one; entries SQS refused (a stale receipt
//! handle) fail with [`BackendError::LeaseLost`].
//!
//! One lane (a task and its channel) per queue URL, started on the first request; a lane
//! idle for [`LANE_IDLE`] ends and leaves the map, so a partitioned subscription whose
//! realm queues come and go does not leave a task behind for each.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use aws_sdk_sqs::{
    Client,
    types::{
        BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
        DeleteMessageBatchRequestEntry,
    },
};
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use super::client::{classify, sdk_error};
use crate::backend::BackendError;

/// Entries per batch request (the SQS maximum).
const BATCH: usize = 10;
/// Tries of an entry that failed on the server's side.
const ENTRY_TRIES: u32 = 3;
/// How long a lane waits for a request before it ends.
pub(super) const LANE_IDLE: Duration = Duration::from_secs(60);

type Reply = oneshot::Sender<Result<(), BackendError>>;

#[derive(Debug)]
struct Request {
    receipt: String,
    /// `None` deletes; `Some(seconds)` changes the visibility.
    visibility: Option<i32>,
    reply: Reply,
}

/// A lane's sender and the number that tells it apart from a later lane of its URL.
type Lanes = Arc<Mutex<HashMap<String, (u64, mpsc::UnboundedSender<Request>)>>>;

/// Batches settle requests per queue URL.
#[derive(Debug)]
pub(super) struct Batcher {
    client: Client,
    window: Duration,
    idle: Duration,
    lanes: Lanes,
    next_lane: std::sync::atomic::AtomicU64,
}

impl Batcher {
    /// A batcher that waits up to `window` for a batch to fill.
    pub fn new(client: Client, window: Duration) -> Self {
        Self::with_idle(client, window, LANE_IDLE)
    }

    /// [`Batcher::new`] whose lanes end after `idle` without a request.
    pub fn with_idle(client: Client, window: Duration, idle: Duration) -> Self {
        Self {
            client,
            window,
            idle,
            lanes: Lanes::default(),
            next_lane: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many lanes are running.
    #[cfg(test)]
    pub fn lanes(&self) -> usize {
        self.lanes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Deletes the message of `receipt` from the queue at `url`.
    pub async fn delete(&self, url: &str, receipt: &str) -> Result<(), BackendError> {
        self.submit(url, receipt, None).await
    }

    /// Makes the message of `receipt` visible again in `seconds`.
    pub async fn change_visibility(
        &self,
        url: &str,
        receipt: &str,
        seconds: i32,
    ) -> Result<(), BackendError> {
        self.submit(url, receipt, Some(seconds)).await
    }

    fn start_lane(&self, url: &str) -> (u64, mpsc::UnboundedSender<Request>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self
            .next_lane
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let me = Lane {
            client: self.client.clone(),
            url: url.to_owned(),
            window: self.window,
            idle: self.idle,
            lanes: self.lanes.clone(),
            id,
        };
        tokio::spawn(me.run(rx));
        (id, tx)
    }

    async fn submit(
        &self,
        url: &str,
        receipt: &str,
        visibility: Option<i32>,
    ) -> Result<(), BackendError> {
        let (reply, result) = oneshot::channel();
        let request = Request {
            receipt: receipt.to_owned(),
            visibility,
            reply,
        };
        {
            let mut lanes = self
                .lanes
                .lock()
                .map_err(|_| BackendError::Other("settle batcher lock poisoned".into()))?;
            let lane = lanes
                .entry(url.to_owned())
                .or_insert_with(|| self.start_lane(url));
            if let Err(mpsc::error::SendError(request)) = lane.1.send(request) {
                // The lane's task ended (its runtime is gone): start a new one.
                let fresh = self.start_lane(url);
                let _ = fresh.1.send(request);
                *lane = fresh;
            }
        }
        result
            .await
            .unwrap_or_else(|_| Err(BackendError::Other("the settle batch was dropped".into())))
    }
}

/// One queue's lane.
struct Lane {
    client: Client,
    url: String,
    window: Duration,
    idle: Duration,
    lanes: Lanes,
    id: u64,
}

impl Lane {
    /// Collects the requests of one queue into batches and sends them; ends after
    /// `idle` without a request, taking itself out of the map.
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Request>) {
        loop {
            let first = match tokio::time::timeout(self.idle, rx.recv()).await {
                Ok(Some(first)) => first,
                Ok(None) => return,
                Err(_) => {
                    // Requests are sent under the map's lock: with it held, an empty
                    // channel stays empty until this lane is out of the map.
                    let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
                    match rx.try_recv() {
                        Ok(first) => first,
                        Err(_) => {
                            if lanes.get(&self.url).is_some_and(|(id, _)| *id == self.id) {
                                lanes.remove(&self.url);
                            }
                            return;
                        }
                    }
                }
            };
            self.batch(first, &mut rx).await;
        }
    }

    async fn batch(&self, first: Request, rx: &mut mpsc::UnboundedReceiver<Request>) {
        let mut deletes = Vec::new();
        let mut changes = Vec::new();
        let put = |r: Request, deletes: &mut Vec<Request>, changes: &mut Vec<Request>| match r
            .visibility
        {
            None => deletes.push(r),
            Some(_) => changes.push(r),
        };
        put(first, &mut deletes, &mut changes);
        let deadline = Instant::now() + self.window;
        while deletes.len() < BATCH && changes.len() < BATCH {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(r) => put(r, &mut deletes, &mut changes),
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        if !deletes.is_empty() {
            tokio::spawn(send_deletes(self.client.clone(), self.url.clone(), deletes));
        }
        if !changes.is_empty() {
            tokio::spawn(send_changes(self.client.clone(), self.url.clone(), changes));
        }
    }
}

async fn send_deletes(client: Client, url: String, requests: Vec<Request>) {
    let entries = requests
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(&r.receipt)
                .build()
                .ok()
        })
        .collect();
    let result = client
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await;
    match result {
        Err(e) => fail_all(requests, &sdk_error(&url, e)),
        Ok(out) => {
            let ok: Vec<&str> = out.successful().iter().map(|s| s.id()).collect();
            settle_entries(&client, &url, requests, &ok, out.failed()).await;
        }
    }
}

async fn send_changes(client: Client, url: String, requests: Vec<Request>) {
    let entries = requests
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(&r.receipt)
                .visibility_timeout(r.visibility.unwrap_or(0))
                .build()
                .ok()
        })
        .collect();
    let result = client
        .change_message_visibility_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await;
    match result {
        Err(e) => fail_all(requests, &sdk_error(&url, e)),
        Ok(out) => {
            let ok: Vec<&str> = out.successful().iter().map(|s| s.id()).collect();
            settle_entries(&client, &url, requests, &ok, out.failed()).await;
        }
    }
}

fn fail_all(requests: Vec<Request>, error: &BackendError) {
    for r in requests {
        let _ = r.reply.send(Err(copy_error(error)));
    }
}

fn copy_error(e: &BackendError) -> BackendError {
    match e {
        BackendError::LeaseLost(s) => BackendError::LeaseLost(s.clone()),
        BackendError::Queue { queue, reason } => BackendError::Queue {
            queue: queue.clone(),
            reason: reason.clone(),
        },
        BackendError::Unavailable(s) => BackendError::Unavailable(s.clone()),
        BackendError::Other(s) => BackendError::Other(s.clone()),
    }
}

/// Answers each request from its entry's result; retries the server-side failures.
async fn settle_entries(
    client: &Client,
    url: &str,
    requests: Vec<Request>,
    ok: &[&str],
    failed: &[BatchResultErrorEntry],
) {
    for (i, r) in requests.into_iter().enumerate() {
        let id = i.to_string();
        if ok.contains(&id.as_str()) {
            let _ = r.reply.send(Ok(()));
            continue;
        }
        let result = match failed.iter().find(|f| f.id() == id) {
            Some(f) if f.sender_fault() => Err(entry_error(url, &r.receipt, f.code(), f.message())),
            Some(_) | None => retry_one(client, url, &r).await,
        };
        let _ = r.reply.send(result);
    }
}

/// The error for an entry SQS refused: a receipt handle it no longer honours means the
/// lease was lost.
pub(super) fn entry_error(
    url: &str,
    receipt: &str,
    code: &str,
    message: Option<&str>,
) -> BackendError {
    if code.contains("ReceiptHandle") || code.contains("NotInflight") {
        BackendError::LeaseLost(receipt.to_owned())
    } else {
        classify(url, code, message.unwrap_or_default())
    }
}

/// Sends one request on its own, up to [`ENTRY_TRIES`] times while SQS fails on its side.
async fn retry_one(client: &Client, url: &str, r: &Request) -> Result<(), BackendError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let result = match r.visibility {
            None => client
                .delete_message()
                .queue_url(url)
                .receipt_handle(&r.receipt)
                .send()
                .await
                .map(drop)
                .map_err(|e| single_error(url, &r.receipt, e)),
            Some(seconds) => client
                .change_message_visibility()
                .queue_url(url)
                .receipt_handle(&r.receipt)
                .visibility_timeout(seconds)
                .send()
                .await
                .map(drop)
                .map_err(|e| single_error(url, &r.receipt, e)),
        };
        match result {
            Err(BackendError::Unavailable(_)) if tries < ENTRY_TRIES => {
                tokio::time::sleep(Duration::from_millis(100 << tries)).await;
            }
            other => return other,
        }
    }
}

fn single_error<E>(url: &str, receipt: &str, e: aws_sdk_sqs::error::SdkError<E>) -> BackendError
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_sqs::error::ProvideErrorMetadata as _;
    if let Some(code) = e.code()
        && (code.contains("ReceiptHandle") || code.contains("NotInflight"))
    {
        return BackendError::LeaseLost(receipt.to_owned());
    }
    sdk_error(url, e)
}
