//! [`run`], the loop that keeps a [`Feed`]'s StreamingPull open while there is demand, and
//! [`PullStream`], one such stream whose request side ferry holds.
//!
//! Closing is graceful: ferry ends its requests (a half-close), the server finishes the
//! stream after what it was already sending, and ferry takes those messages into the
//! buffer before it hands the buffer back. Cancelling the call instead strands whatever
//! was in transit until the stream's ack deadline; Google's emulator, which pushes a
//! message handed back by ack id straight onto the open stream, kept such messages away
//! for longer still (the conformance case `worker_down_burns_no_attempts` failed in CI
//! that way). A server that does not end the stream within [`CLOSE_WAIT`] is cancelled.

use std::{sync::Arc, time::Duration};

use gcloud_gax::grpc::Status;
use gcloud_googleapis::pubsub::v1::{ReceivedMessage, StreamingPullRequest, StreamingPullResponse};
use tokio::{sync::mpsc, time::Instant};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::{client::Api, feed::Feed};
use crate::retry::Backoff;

/// How often buffered leases are checked and idleness is looked at.
const TICK: Duration = Duration::from_millis(250);
/// How often ferry sends an empty request on an open stream (keep-alive).
const PING: Duration = Duration::from_secs(5);
/// How long a half-closed stream may take to end before it is cancelled.
pub(super) const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// One open StreamingPull.
pub(super) struct PullStream {
    requests: mpsc::Sender<StreamingPullRequest>,
    responses: tonic::Streaming<StreamingPullResponse>,
}

impl PullStream {
    /// Opens a stream of `sub` with `first` as its opening request.
    pub async fn open(api: &Api, sub: &str, first: StreamingPullRequest) -> Result<Self, Status> {
        let (requests, rx) = mpsc::channel(2);
        // The channel is new and has room: this cannot fail.
        let _ = requests.try_send(first);
        let responses = api.streaming_pull(sub, ReceiverStream::new(rx)).await?;
        Ok(Self {
            requests,
            responses,
        })
    }

    /// The next response; `None` when the server ended the stream.
    pub async fn message(&mut self) -> Result<Option<StreamingPullResponse>, Status> {
        self.responses.message().await
    }

    /// Sends an empty request so the stream is not taken as abandoned.
    fn ping(&self) {
        let _ = self.requests.try_send(StreamingPullRequest::default());
    }

    /// Half-closes the stream and returns what the server still sent before it ended it
    /// (or before [`CLOSE_WAIT`] passed; the stream is then cancelled).
    pub async fn close(self) -> Vec<ReceivedMessage> {
        let Self {
            requests,
            mut responses,
        } = self;
        drop(requests);
        let until = Instant::now() + CLOSE_WAIT;
        let mut rest = Vec::new();
        while let Ok(Ok(Some(resp))) = tokio::time::timeout_at(until, responses.message()).await {
            rest.extend(resp.received_messages);
        }
        rest
    }
}

/// The stream loop of `feed`, until `stop`.
pub(super) async fn run(feed: Arc<Feed>, stop: CancellationToken) {
    let backoff =
        Backoff::new(Duration::from_millis(200), Duration::from_secs(10)).unwrap_or_default();
    let mut failures = 0u32;
    loop {
        if !feed.until_wanted(&stop).await {
            return;
        }
        let (request, room, secs) = feed.stream_request();
        let opened = tokio::select! {
            r = PullStream::open(&feed.api, &feed.sub, request) => r,
            () = stop.cancelled() => return,
        };
        let mut stream = match opened {
            Ok(s) => s,
            Err(s) => {
                failures += 1;
                let delay = backoff.delay(failures);
                feed.report(format!(
                    "opening the streaming pull of `{}` failed ({:?}: {}); retrying in {}",
                    feed.sub,
                    s.code(),
                    s.message(),
                    humantime::format_duration(round_ms(delay))
                ));
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stop.cancelled() => return,
                }
                continue;
            }
        };
        let mut tick = tokio::time::interval(TICK);
        let mut ping = tokio::time::interval_at(Instant::now() + PING, PING);
        let ended = loop {
            tokio::select! {
                () = stop.cancelled() => {
                    // Shutdown: what was in transit joins the buffer, which `Feed::stop`
                    // hands back.
                    feed.accept(stream.close().await).await;
                    return;
                }
                r = stream.message() => match r {
                    Ok(Some(resp)) => {
                        failures = 0;
                        feed.accept(resp.received_messages).await;
                    }
                    Ok(None) => break Some("was ended by the server".to_owned()),
                    Err(s) => break Some(format!("failed ({:?}: {})", s.code(), s.message())),
                },
                _ = ping.tick() => stream.ping(),
                _ = tick.tick() => {
                    feed.keep_alive(secs).await;
                    if !feed.wanted() {
                        if feed.closable() {
                            break None;
                        }
                        feed.give_back_buffer().await;
                    } else if feed.capacity() > room && feed.closable() {
                        break None;
                    }
                }
            }
        };
        let Some(why) = ended else {
            // No demand, or the stream is re-opened to grow: close it, then hand back
            // everything it delivered that nobody took.
            feed.accept(stream.close().await).await;
            feed.give_back_buffer().await;
            continue;
        };
        drop(stream);
        failures += 1;
        let delay = backoff.delay(failures);
        feed.report(format!(
            "the streaming pull of `{}` {why}; re-opening in {}",
            feed.sub,
            humantime::format_duration(round_ms(delay))
        ));
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stop.cancelled() => return,
        }
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
