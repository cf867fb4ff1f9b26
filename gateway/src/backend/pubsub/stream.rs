//! One subscription's StreamingPull as a task of its own: [`run`] owns the [`PullStream`],
//! is told by a [`Control`] whether to hold it open (and with how much room), and reports
//! what the stream delivers, how it failed and what it still delivered while closing as
//! [`Event`]s. It knows nothing of the feed that consumes them.
//!
//! Closing is graceful: ferry ends its requests (a half-close), the server finishes the
//! stream after what it was already sending, and those messages are reported with
//! [`Event::Closed`]. Cancelling the call instead strands whatever was in transit until the
//! stream's ack deadline; Google's emulator, which pushes a message handed back by ack id
//! straight onto the open stream, kept such messages away for longer still (the
//! conformance case `worker_down_burns_no_attempts` failed in CI that way). A server that
//! does not end the stream within [`CLOSE_WAIT`] is cancelled. A stream that fails or ends
//! is re-opened with backoff, each interruption reported once.

use std::time::Duration;

use gcloud_gax::grpc::Status;
use gcloud_googleapis::pubsub::v1::{ReceivedMessage, StreamingPullRequest, StreamingPullResponse};
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};
use tokio_stream::wrappers::ReceiverStream;

use super::client::Api;
use crate::retry::Backoff;

/// How often ferry sends an empty request on an open stream (keep-alive).
const PING: Duration = Duration::from_secs(5);
/// How long a half-closed stream may take to end before it is cancelled.
pub(super) const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// What the stream should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    /// Closed.
    Closed,
    /// Open with room for `room` messages and an ack deadline of `secs`; a different room
    /// re-opens it.
    Open {
        /// `max_outstanding_messages`.
        room: usize,
        /// `stream_ack_deadline_seconds`.
        secs: i32,
    },
    /// Closed, and the task ends.
    Stop,
}

/// What the stream reports.
#[derive(Debug)]
pub(super) enum Event {
    /// A stream opened with this ack deadline.
    Opened(i32),
    /// Deliveries.
    Arrived(Vec<ReceivedMessage>),
    /// The stream was closed as asked; what the server still sent before it ended.
    Closed(Vec<ReceivedMessage>),
    /// The stream failed or could not be opened; it is re-opened after a backoff.
    Failed(String),
}

/// One open StreamingPull.
pub(super) struct PullStream {
    requests: mpsc::Sender<StreamingPullRequest>,
    responses: tonic::Streaming<StreamingPullResponse>,
}

impl PullStream {
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

/// How opening a stream ended.
enum Opening {
    /// The server answered (or refused).
    Open(Result<PullStream, Status>),
    /// The control changed before the server answered: the call was half-closed, and this
    /// is what it still delivered.
    Closed(Vec<ReceivedMessage>, Control),
}

/// Opens a stream of `sub` with `first` as its opening request, following `control`
/// meanwhile: Google's emulator answers a StreamingPull only with its first message, and a
/// call cancelled before then leaves the emulator pushing messages to it, so a call no
/// longer wanted is half-closed instead and read to its end.
async fn open(
    api: &Api,
    sub: &str,
    first: StreamingPullRequest,
    control: &mut watch::Receiver<Control>,
    (room, secs): (usize, i32),
) -> Opening {
    let (requests, rx) = mpsc::channel(2);
    // The channel is new and has room: this cannot fail.
    let _ = requests.try_send(first);
    let call = api.streaming_pull(sub, ReceiverStream::new(rx));
    tokio::pin!(call);
    let next = loop {
        tokio::select! {
            r = &mut call => {
                return Opening::Open(r.map(|responses| PullStream { requests, responses }));
            }
            changed = control.changed() => {
                let now = changed.map_or(Control::Stop, |()| *control.borrow_and_update());
                if now != (Control::Open { room, secs }) {
                    break now;
                }
            }
        }
    };
    drop(requests);
    let until = Instant::now() + CLOSE_WAIT;
    let mut rest = Vec::new();
    if let Ok(Ok(mut responses)) = tokio::time::timeout_at(until, &mut call).await {
        while let Ok(Ok(Some(resp))) = tokio::time::timeout_at(until, responses.message()).await {
            rest.extend(resp.received_messages);
        }
    }
    Opening::Closed(rest, next)
}

/// How a stream task is told what to be and reports what happens.
pub(super) struct Link {
    /// How many streams share the room of [`Control::Open`] (each asks for its share).
    pub share: usize,
    /// What the stream should be.
    pub control: watch::Receiver<Control>,
    /// Where it reports.
    pub events: mpsc::UnboundedSender<Event>,
}

/// The stream task of subscription `sub` (`max_bytes` of flow control), until
/// [`Control::Stop`] or until nobody listens to its events.
pub(super) async fn run(api: Api, sub: String, max_bytes: i64, link: Link) {
    let Link {
        share,
        mut control,
        events,
    } = link;
    let backoff =
        Backoff::new(Duration::from_millis(200), Duration::from_secs(10)).unwrap_or_default();
    let mut failures = 0u32;
    loop {
        let (room, secs) = loop {
            match *control.borrow_and_update() {
                Control::Stop => return,
                Control::Open { room, secs } => break (room, secs),
                Control::Closed => {}
            }
            if control.changed().await.is_err() {
                return;
            }
        };
        let request = StreamingPullRequest {
            subscription: api.sub_name(&sub),
            stream_ack_deadline_seconds: secs,
            max_outstanding_messages: i64::try_from(room.div_ceil(share.max(1)))
                .unwrap_or(i64::MAX),
            max_outstanding_bytes: max_bytes,
            ..StreamingPullRequest::default()
        };
        let opened = match open(&api, &sub, request, &mut control, (room, secs)).await {
            Opening::Open(r) => r,
            Opening::Closed(rest, next) => {
                if events.send(Event::Closed(rest)).is_err() || next == Control::Stop {
                    return;
                }
                continue;
            }
        };
        let why = match opened {
            Ok(mut stream) => {
                if events.send(Event::Opened(secs)).is_err() {
                    return;
                }
                let mut ping = tokio::time::interval_at(Instant::now() + PING, PING);
                let ended = loop {
                    tokio::select! {
                        changed = control.changed() => {
                            let now = changed.map_or(Control::Stop, |()| *control.borrow_and_update());
                            if now != (Control::Open { room, secs }) {
                                let _ = events.send(Event::Closed(stream.close().await));
                                if now == Control::Stop {
                                    return;
                                }
                                break None;
                            }
                        }
                        r = stream.message() => match r {
                            Ok(Some(resp)) => {
                                failures = 0;
                                if events.send(Event::Arrived(resp.received_messages)).is_err() {
                                    return;
                                }
                            }
                            Ok(None) => break Some("was ended by the server".to_owned()),
                            Err(s) => break Some(format!("failed ({:?}: {})", s.code(), s.message())),
                        },
                        _ = ping.tick() => stream.ping(),
                    }
                };
                let Some(why) = ended else { continue };
                format!("the streaming pull of `{sub}` {why}")
            }
            Err(s) => format!(
                "opening the streaming pull of `{sub}` failed ({:?}: {})",
                s.code(),
                s.message()
            ),
        };
        failures += 1;
        let delay = backoff.delay(failures);
        let _ = events.send(Event::Failed(format!(
            "{why}; retrying in {}",
            humantime::format_duration(round_ms(delay))
        )));
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => break,
                changed = control.changed() => {
                    if changed.is_err() || *control.borrow() == Control::Stop {
                        return;
                    }
                }
            }
        }
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
