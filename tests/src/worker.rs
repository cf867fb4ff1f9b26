//! Test workers. [`TestWorker`] is a real `ferry-sdk` worker whose behaviour is driven by
//! the message's `t.*` attributes and which records every call (with its own concurrency),
//! so tests assert on what the worker saw. [`StatusWorker`] is a raw tonic worker that
//! answers with gRPC errors, which the SDK deliberately does not expose.
//!
//! | attribute | behaviour |
//! |---|---|
//! | `t.sleep_ms` | sleep this long before answering |
//! | `t.fail_until` = N | answer retry("not yet") until attempt N, then done |
//! | `t.retry_after_ms` = D | on attempt 1 answer retry after D ms, then done |
//! | `t.outcome` = `retry` / `dead_letter` | always answer that |
//! | `t.fanout` = N, `t.fanout_to` = Q | done, publishing N messages to Q |
//! | `t.fanout_delay_s` = S | … each with a delay of S seconds |
//! | `t.fanout_traceparent` = TP | … each with its own `traceparent` attribute TP |

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ferry_proto::v1::{
    HandleRequest, HandleResponse,
    worker_service_server::{WorkerService, WorkerServiceServer},
};
use ferry_sdk::{Level, Message, Outgoing, Reply};
use tokio::{net::TcpListener, task::JoinHandle};

/// One call the worker received.
#[derive(Debug, Clone)]
pub struct Call {
    pub id: String,
    pub attempt: u32,
    pub realm: String,
    pub payload: String,
    pub trace_id: String,
    /// `HandleRequest.trace.traceparent` as the worker received it.
    pub traceparent: String,
    pub attributes: HashMap<String, String>,
    pub started: Instant,
    pub finished: Option<Instant>,
    /// The message's `published_at` as the worker received it.
    pub published_at: Option<std::time::SystemTime>,
    /// Calls running in this worker when this one started (itself included).
    pub concurrent: usize,
    /// Calls of the same realm running when this one started (itself included).
    pub concurrent_in_realm: usize,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    running: usize,
    running_by_realm: HashMap<String, usize>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<State>>);

impl Recorder {
    fn start(&self, msg: &Message) -> usize {
        let mut s = self.0.lock().unwrap();
        s.running += 1;
        let realm = msg.realm.clone().unwrap_or_default();
        let in_realm = {
            let n = s.running_by_realm.entry(realm.clone()).or_default();
            *n += 1;
            *n
        };
        let call = Call {
            id: msg.id.clone(),
            attempt: msg.attempt,
            realm,
            payload: msg.payload_str().unwrap_or_default().to_owned(),
            trace_id: msg.trace_id().unwrap_or_default().to_owned(),
            traceparent: msg.trace.traceparent.clone(),
            attributes: msg.attributes.clone(),
            started: Instant::now(),
            finished: None,
            published_at: msg.published_at,
            concurrent: s.running,
            concurrent_in_realm: in_realm,
        };
        s.calls.push(call);
        s.calls.len() - 1
    }

    fn finish(&self, index: usize) {
        let mut s = self.0.lock().unwrap();
        s.running -= 1;
        let realm = s.calls[index].realm.clone();
        if let Some(n) = s.running_by_realm.get_mut(&realm) {
            *n -= 1;
        }
        s.calls[index].finished = Some(Instant::now());
    }
}

/// Decrements the running counts even when the call is cancelled mid-sleep.
struct Running(Recorder, usize);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.finish(self.1);
    }
}

fn attr<T: std::str::FromStr>(msg: &Message, key: &str) -> Option<T> {
    msg.attribute(key).and_then(|v| v.parse().ok())
}

async fn behave(rec: Recorder, msg: Message) -> Reply {
    let index = rec.start(&msg);
    let _running = Running(rec, index);
    if let Some(ms) = attr::<u64>(&msg, "t.sleep_ms") {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let reply = if let Some(n) = attr::<u32>(&msg, "t.fail_until") {
        if msg.attempt < n {
            Reply::retry("not yet")
        } else {
            Reply::done()
        }
    } else if let Some(ms) = attr::<u64>(&msg, "t.retry_after_ms") {
        if msg.attempt == 1 {
            Reply::retry("come back later").after(Duration::from_millis(ms))
        } else {
            Reply::done()
        }
    } else {
        match msg.attribute("t.outcome") {
            Some("retry") => Reply::retry("always failing"),
            Some("dead_letter") => Reply::dead_letter("poison message"),
            _ => Reply::done(),
        }
    };
    let reply = match (
        attr::<usize>(&msg, "t.fanout"),
        msg.attribute("t.fanout_to"),
    ) {
        (Some(n), Some(to)) => {
            let delay = attr::<u64>(&msg, "t.fanout_delay_s").map(Duration::from_secs);
            let traceparent = msg.attribute("t.fanout_traceparent");
            reply.publish_all((0..n).map(|i| {
                let child = Outgoing::new(to, format!("child {i} of {}", msg.id));
                let child = match traceparent {
                    Some(tp) => child.attribute("traceparent", tp),
                    None => child,
                };
                match delay {
                    Some(d) => child.delay(d),
                    None => child,
                }
            }))
        }
        _ => reply,
    };
    reply.log_with(
        Level::Info,
        "test worker handled a message",
        [("handled_by", "test-worker")],
    )
}

/// A running SDK test worker. Ferry reaches it through a TCP proxy owned by the test, so
/// that [`crash`](Self::crash) looks to ferry exactly like a dead worker process: every
/// connection is cut and new ones are refused, while the handlers already running finish
/// into the void.
pub struct TestWorker {
    addr: SocketAddr,
    recorder: Recorder,
    proxy: Option<JoinHandle<()>>,
    server: JoinHandle<()>,
    upstream: SocketAddr,
}

/// Relays every connection accepted on `listener` to `upstream` until aborted; aborting
/// drops the listener and every relayed socket.
async fn relay(listener: TcpListener, upstream: SocketAddr) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((mut inbound, _)) = listener.accept().await {
        connections.spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

impl TestWorker {
    /// Starts on a free port.
    pub async fn start() -> Self {
        let recorder = Recorder::default();
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = inner.local_addr().unwrap();
        let rec = recorder.clone();
        let handler = move |msg: Message| behave(rec.clone(), msg);
        let server = tokio::spawn(async move {
            let _ = ferry_sdk::serve_on(inner, handler, std::future::pending()).await;
        });
        let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = front.local_addr().unwrap();
        let proxy = Some(tokio::spawn(relay(front, upstream)));
        Self {
            addr,
            recorder,
            proxy,
            server,
            upstream,
        }
    }

    /// The address ferry should call (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.recorder.0.lock().unwrap().calls.clone()
    }

    /// Calls of messages with this payload, in order.
    pub fn calls_for(&self, payload: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.payload == payload)
            .collect()
    }

    /// The attempt numbers of the calls of messages with this payload, in order.
    pub fn attempts_for(&self, payload: &str) -> Vec<u32> {
        self.calls_for(payload).iter().map(|c| c.attempt).collect()
    }

    /// Finished calls.
    pub fn finished(&self) -> usize {
        self.calls().iter().filter(|c| c.finished.is_some()).count()
    }

    /// The worker "dies": connections are cut and new ones refused.
    pub async fn crash(&mut self) {
        if let Some(proxy) = self.proxy.take() {
            proxy.abort();
            let _ = proxy.await;
        }
    }

    /// The worker "comes back" on the same address.
    pub async fn restart(&mut self) {
        self.crash().await;
        let front = TcpListener::bind(self.addr).await.unwrap();
        self.proxy = Some(tokio::spawn(relay(front, self.upstream)));
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        if let Some(proxy) = self.proxy.take() {
            proxy.abort();
        }
        self.server.abort();
    }
}

/// A raw tonic worker that fails every call with the gRPC code named by the `t.code`
/// attribute (`invalid_argument`, `internal`, …); for the status-mapping tests.
pub struct StatusWorker {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<(String, u32)>>>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct StatusService(Arc<Mutex<Vec<(String, u32)>>>);

#[tonic::async_trait]
impl WorkerService for StatusService {
    async fn handle(
        &self,
        request: tonic::Request<HandleRequest>,
    ) -> Result<tonic::Response<HandleResponse>, tonic::Status> {
        let req = request.into_inner();
        self.0
            .lock()
            .unwrap()
            .push((req.message_id.clone(), req.attempt));
        let msg = "status worker says no";
        Err(match req.attributes.get("t.code").map(String::as_str) {
            Some("invalid_argument") => tonic::Status::invalid_argument(msg),
            Some("unimplemented") => tonic::Status::unimplemented(msg),
            Some("resource_exhausted") => tonic::Status::resource_exhausted(msg),
            _ => tonic::Status::internal(msg),
        })
    }
}

impl StatusWorker {
    /// Starts on a free port, serving health as SERVING.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let service = StatusService(calls.clone());
        let task = tokio::spawn(async move {
            let (reporter, health) = tonic_health::server::health_reporter();
            reporter
                .set_service_status("", tonic_health::ServingStatus::Serving)
                .await;
            let _ = tonic::transport::Server::builder()
                .add_service(health)
                .add_service(WorkerServiceServer::new(service))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await;
        });
        Self { addr, calls, task }
    }

    /// The address ferry should call.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// (message id, attempt) of every call.
    pub fn calls(&self) -> Vec<(String, u32)> {
        self.calls.lock().unwrap().clone()
    }
}

impl Drop for StatusWorker {
    fn drop(&mut self) {
        self.task.abort();
    }
}
