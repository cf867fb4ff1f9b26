//! [`Api`]: the connection to Pub/Sub (Google's service with Application Default
//! Credentials, or the emulator without credentials) and the few calls ferry makes, with
//! their errors mapped to [`BackendError`]s that name the topic or subscription.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use gcloud_gax::{
    conn::{Channel, Environment},
    grpc::{Code, Status},
    retry::RetrySetting,
};
use gcloud_googleapis::pubsub::v1::{
    AcknowledgeRequest, ModifyAckDeadlineRequest, PubsubMessage, PullRequest, ReceivedMessage,
    StreamingPullRequest, StreamingPullResponse,
    subscriber_client::SubscriberClient as RawSubscriber,
};
use gcloud_pubsub::{
    apiv1::{conn_pool::ConnectionManager, subscriber_client::SubscriberClient},
    client::{Client, ClientConfig},
    publisher::Publisher,
    subscription::SubscriptionConfig as SubSettings,
};

use super::PubsubConfig;
use crate::backend::BackendError;

/// Ack ids per acknowledge / modify call (Pub/Sub caps a request at 512 KiB).
const ACK_CHUNK: usize = 500;
/// The largest StreamingPull response ferry decodes (a message may be 10 MB, plus its
/// attributes and the response's other messages).
const STREAM_RESPONSE_LIMIT: usize = 32 * 1024 * 1024;

/// What ferry needs to know about a subscription.
#[derive(Debug, Clone)]
pub(super) struct SubInfo {
    /// The topic id it is attached to (last path segment).
    pub topic: String,
    /// The native dead-letter policy's `max_delivery_attempts`, if it has one.
    pub native_max_attempts: Option<i32>,
    /// The native dead-letter topic, if any.
    pub native_topic: Option<String>,
}

/// A connection to one project.
#[derive(Clone)]
pub(super) struct Api {
    client: Client,
    subc: SubscriberClient,
    /// The connections of ferry's own StreamingPull calls (see [`Api::streaming_pull`]).
    streams: Arc<ConnectionManager>,
    publishers: Arc<Mutex<HashMap<String, Publisher>>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").finish_non_exhaustive()
    }
}

/// Maps a failed call about `what` (a topic or subscription id) to a [`BackendError`].
pub(super) fn map_status(what: &str, s: &Status) -> BackendError {
    match s.code() {
        Code::NotFound => BackendError::Queue {
            queue: what.to_owned(),
            reason: format!("not found in Pub/Sub ({})", s.message()),
        },
        Code::PermissionDenied | Code::Unauthenticated | Code::InvalidArgument => {
            BackendError::Queue {
                queue: what.to_owned(),
                reason: format!("{:?}: {}", s.code(), s.message()),
            }
        }
        _ => {
            BackendError::Unavailable(format!("Pub/Sub ({what}): {:?}: {}", s.code(), s.message()))
        }
    }
}

/// The last segment of a resource name (`projects/p/topics/t` → `t`).
pub(super) fn short(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// No retries inside the client: ferry's own loops retry with backoff and log.
pub(super) fn no_retry() -> RetrySetting {
    RetrySetting {
        take: 0,
        codes: Vec::new(),
        ..RetrySetting::default()
    }
}

impl Api {
    /// Connects (for the emulator the connection is made now).
    pub async fn connect(config: &PubsubConfig) -> Result<Self, BackendError> {
        // Both TLS users (tonic, reqwest) are built without a provider: ring is the one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = ClientConfig {
            project_id: Some(config.project.clone()),
            ..ClientConfig::default()
        };
        let cc = match config.emulator() {
            Some(host) => ClientConfig {
                environment: Environment::Emulator(host),
                ..base
            },
            None => base
                .with_auth()
                .await
                .map_err(|e| BackendError::Other(format!("Pub/Sub credentials (ADC): {e}")))?,
        };
        fn connecting(e: impl std::fmt::Display) -> BackendError {
            BackendError::Unavailable(format!("connecting to Pub/Sub: {e}"))
        }
        let streams = ConnectionManager::new(
            cc.pool_size,
            &cc.endpoint,
            &cc.environment,
            &cc.connection_option,
        )
        .await
        .map_err(connecting)?;
        let client = Client::new(cc).await.map_err(connecting)?;
        let subc = client.subscription("ferry").get_client();
        Ok(Self {
            client,
            subc,
            streams: Arc::new(streams),
            publishers: Arc::default(),
        })
    }

    /// The full name of subscription `id`.
    pub fn sub_name(&self, id: &str) -> String {
        self.client.fully_qualified_subscription_name(id)
    }

    /// Opens a StreamingPull of subscription `sub` whose requests are `requests`.
    ///
    /// Unlike the client's own `streaming_pull` (which pings forever), the caller holds the
    /// request side, so ending `requests` half-closes the stream: the server finishes it,
    /// and nothing it was sending is lost in transit (see `stream.rs`).
    pub async fn streaming_pull(
        &self,
        sub: &str,
        requests: impl tonic::IntoStreamingRequest<Message = StreamingPullRequest>,
    ) -> Result<tonic::Streaming<StreamingPullResponse>, Status> {
        let mut client = RawSubscriber::<Channel>::new(self.streams.conn())
            .max_decoding_message_size(STREAM_RESPONSE_LIMIT);
        let mut request = requests.into_streaming_request();
        if let Ok(v) = format!("subscription={}", self.sub_name(sub)).parse() {
            request.metadata_mut().append("x-goog-request-params", v);
        }
        Ok(client.streaming_pull(request).await?.into_inner())
    }

    /// GetSubscription; `None` when it does not exist.
    pub async fn sub_info(&self, id: &str) -> Result<Option<SubInfo>, BackendError> {
        let (topic, cfg) = match self.client.subscription(id).config(Some(no_retry())).await {
            Ok(found) => found,
            Err(s) if s.code() == Code::NotFound => return Ok(None),
            Err(s) => return Err(map_status(id, &s)),
        };
        let policy = cfg.dead_letter_policy;
        Ok(Some(SubInfo {
            topic: short(&topic).to_owned(),
            native_max_attempts: policy.as_ref().map(|p| p.max_delivery_attempts),
            native_topic: policy.map(|p| short(&p.dead_letter_topic).to_owned()),
        }))
    }

    /// Creates topic `id` unless it exists.
    pub async fn ensure_topic(&self, id: &str) -> Result<(), BackendError> {
        match self.client.create_topic(id, None, Some(no_retry())).await {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::AlreadyExists => Ok(()),
            Err(s) => Err(map_status(id, &s)),
        }
    }

    /// Creates subscription `id` on topic `topic` unless it exists.
    pub async fn ensure_subscription(
        &self,
        id: &str,
        topic: &str,
        settings: SubSettings,
    ) -> Result<(), BackendError> {
        match self
            .client
            .create_subscription(id, topic, settings, Some(no_retry()))
            .await
        {
            Ok(_) => Ok(()),
            Err(s) if s.code() == Code::AlreadyExists => Ok(()),
            Err(s) => Err(map_status(id, &s)),
        }
    }

    /// Publishes `messages` to topic `topic` in one request; returns their ids.
    pub async fn publish(
        &self,
        topic: &str,
        messages: Vec<PubsubMessage>,
    ) -> Result<Vec<String>, BackendError> {
        let publisher = {
            let mut map = self
                .publishers
                .lock()
                .map_err(|_| BackendError::Other("publisher cache poisoned".into()))?;
            map.entry(topic.to_owned())
                .or_insert_with(|| self.client.topic(topic).new_publisher(None))
                .clone()
        };
        publisher
            .publish_immediately(messages, None)
            .await
            .map_err(|s| map_status(topic, &s))
    }

    /// Acknowledge.
    pub async fn ack(&self, sub: &str, ack_ids: Vec<String>) -> Result<(), BackendError> {
        for chunk in ack_ids.chunks(ACK_CHUNK) {
            let req = AcknowledgeRequest {
                subscription: self.sub_name(sub),
                ack_ids: chunk.to_vec(),
            };
            self.subc
                .acknowledge(req, None)
                .await
                .map_err(|s| map_status(sub, &s))?;
        }
        Ok(())
    }

    /// ModifyAckDeadline (0 hands the messages back at once).
    pub async fn modack(
        &self,
        sub: &str,
        ack_ids: Vec<String>,
        secs: i32,
    ) -> Result<(), BackendError> {
        for chunk in ack_ids.chunks(ACK_CHUNK) {
            let req = ModifyAckDeadlineRequest {
                subscription: self.sub_name(sub),
                ack_ids: chunk.to_vec(),
                ack_deadline_seconds: secs.clamp(0, 600),
            };
            self.subc
                .modify_ack_deadline(req, None)
                .await
                .map_err(|s| map_status(sub, &s))?;
        }
        Ok(())
    }

    /// One Pull that returns at once (used by the admin commands, never by dispatch).
    pub async fn pull_now(
        &self,
        sub: &str,
        max: usize,
    ) -> Result<Vec<ReceivedMessage>, BackendError> {
        #[allow(deprecated)]
        let req = PullRequest {
            subscription: self.sub_name(sub),
            return_immediately: true,
            max_messages: i32::try_from(max.clamp(1, 1000)).unwrap_or(1000),
        };
        let resp = self
            .subc
            .pull(req, None)
            .await
            .map_err(|s| map_status(sub, &s))?;
        Ok(resp.into_inner().received_messages)
    }
}
