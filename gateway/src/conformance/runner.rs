//! [`Runner`]: sends each vector to a running worker over gRPC, exactly as ferry would
//! (`ferry.v1.WorkerService/Handle` with a deadline, `grpc.health.v1.Health/Check`), and
//! judges the answer.

use std::{
    collections::HashMap,
    time::{Duration, Instant, SystemTime},
};

use ferry_proto::v1::{
    HandleRequest, HandleResponse, TraceContext, worker_service_client::WorkerServiceClient,
};
use tonic::{
    Code, Request, Status,
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::{
    judge::judge_handle,
    vectors::{Check, Expect, HealthExpect, HealthStatus, RequestSpec, Vector},
};

/// The worker service name a worker reports health for.
const WORKER_SERVICE: &str = "ferry.v1.WorkerService";

/// The trace context every vector request carries.
pub const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The largest message sent or accepted (as ferry's worker client).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// How long a health check may take.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// The result of one vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The vector's name.
    pub name: String,
    /// `Ok` when it passed, else everything that was wrong.
    pub result: Result<(), String>,
    /// How long the call took.
    pub elapsed: Duration,
}

impl Verdict {
    /// The line printed for this vector: `PASS name (N ms)` or `FAIL name (N ms): why`.
    pub fn line(&self) -> String {
        let ms = self.elapsed.as_millis();
        match &self.result {
            Ok(()) => format!("PASS {} ({ms} ms)", self.name),
            Err(why) => format!("FAIL {} ({ms} ms): {why}", self.name),
        }
    }
}

/// Runs vectors against one worker.
#[derive(Debug, Clone)]
pub struct Runner {
    channel: Channel,
    url: String,
}

impl Runner {
    /// A runner for the worker at `worker` (`host:port` or `http://host:port`); connects on
    /// first use.
    pub fn new(worker: &str) -> Result<Self, String> {
        let url = if worker.contains("://") {
            worker.to_owned()
        } else {
            format!("http://{worker}")
        };
        let endpoint = Endpoint::from_shared(url.clone())
            .map_err(|e| format!("--worker `{worker}` is not an address: {e}"))?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true);
        Ok(Self {
            channel: endpoint.connect_lazy(),
            url,
        })
    }

    /// Whether anything accepts a connection at the worker's address within the connect
    /// timeout (what the worker then answers is for the vectors to judge).
    pub async fn reachable(&self) -> Result<(), String> {
        let host_port = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, rest)| rest)
            .trim_end_matches('/');
        match tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(host_port),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 2s".to_owned()),
        }
    }

    /// Runs one vector.
    pub async fn run(&self, vector: &Vector) -> Verdict {
        let started = Instant::now();
        let result = match &vector.check {
            Check::Health(expect) => self.health(expect).await,
            Check::Handle {
                request,
                payload,
                expect,
            } => self.handle(request, payload, expect).await,
        };
        Verdict {
            name: vector.name.clone(),
            result,
            elapsed: started.elapsed(),
        }
    }

    async fn health(&self, expect: &HealthExpect) -> Result<(), String> {
        let mut client = HealthClient::new(self.channel.clone());
        for service in [WORKER_SERVICE, ""] {
            let request = HealthCheckRequest {
                service: service.to_owned(),
            };
            let answer = tokio::time::timeout(HEALTH_TIMEOUT, client.check(request))
                .await
                .map_err(|_| format!("Health/Check({service:?}) did not answer within 5 s"))?;
            match answer {
                Err(status) if status.code() == Code::NotFound && !service.is_empty() => continue,
                Err(status) => {
                    return Err(format!(
                        "Health/Check({service:?}) failed: {:?}: {}",
                        status.code(),
                        status.message()
                    ));
                }
                Ok(response) => {
                    let got = response.into_inner().status();
                    let want = match expect.status {
                        HealthStatus::Serving => ServingStatus::Serving,
                        HealthStatus::NotServing => ServingStatus::NotServing,
                    };
                    return if got == want {
                        Ok(())
                    } else {
                        Err(format!(
                            "Health/Check({service:?}) reports {got:?}, expected {want:?}"
                        ))
                    };
                }
            }
        }
        Err("the health service knows neither ferry.v1.WorkerService nor \"\"".into())
    }

    async fn handle(
        &self,
        spec: &RequestSpec,
        payload: &[u8],
        expect: &Expect,
    ) -> Result<(), String> {
        let deadline = Duration::from_millis(spec.deadline_ms);
        let request = build_request(spec, payload, SystemTime::now() + deadline);
        let within = Duration::from_millis(
            expect
                .within_ms
                .unwrap_or_else(|| spec.deadline_ms.saturating_add(2000)),
        );
        let mut client = WorkerServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let mut call = Request::new(request.clone());
        call.set_timeout(deadline);
        let started = Instant::now();
        let answer: Result<HandleResponse, Status> =
            match tokio::time::timeout(within, client.handle(call)).await {
                Ok(answer) => answer.map(tonic::Response::into_inner),
                Err(_) => return Err(format!("no answer within {} ms", within.as_millis())),
            };
        judge_handle(expect, &request, &answer, started.elapsed())
    }
}

/// The `HandleRequest` for `spec`, with its payload and deadline.
pub fn build_request(spec: &RequestSpec, payload: &[u8], deadline: SystemTime) -> HandleRequest {
    HandleRequest {
        payload: payload.to_vec().into(),
        attributes: spec
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<HashMap<_, _>>(),
        message_id: spec.message_id.clone(),
        attempt: spec.attempt,
        max_attempts: spec.max_attempts,
        realm: spec.realm.clone(),
        subscription: spec.subscription.clone(),
        queue: spec.queue.clone(),
        trace: Some(TraceContext {
            traceparent: TRACEPARENT.to_owned(),
            tracestate: String::new(),
        }),
        deadline: Some(deadline.into()),
        published_at: Some(SystemTime::now().into()),
    }
}
