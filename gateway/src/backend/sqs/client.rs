//! The SQS client (standard AWS chain for credentials and region, rustls with ring for
//! TLS, optional endpoint override), queue URL resolution with a cache, and the mapping of
//! SDK errors to [`BackendError`] with messages that name the queue and the cause.

use std::{collections::HashMap, sync::Mutex};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sqs::{
    Client,
    config::ProvideCredentials as _,
    error::{ProvideErrorMetadata, SdkError},
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::SqsConfig;
use crate::backend::BackendError;

/// Builds the SDK client; fails when no region or no credentials can be found.
pub(super) async fn connect(config: &SqsConfig) -> Result<Client, BackendError> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(region) = &config.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &config.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(BackendError::Other(
            "backend.sqs: no AWS region: set backend.sqs.region, AWS_REGION or a profile region"
                .into(),
        ));
    }
    let Some(credentials) = sdk.credentials_provider() else {
        return Err(BackendError::Other(
            "backend.sqs: no AWS credentials provider".into(),
        ));
    };
    if let Err(e) = credentials.provide_credentials().await {
        return Err(BackendError::Other(format!(
            "backend.sqs: no AWS credentials found by the standard chain (environment, profile, \
             web identity, container or instance role): {}",
            causes(&e)
        )));
    }
    Ok(Client::new(&sdk))
}

/// Whether `queue` (a name or URL) is a FIFO queue.
pub(super) fn is_fifo(queue: &str) -> bool {
    queue.ends_with(".fifo")
}

/// The name of a queue given by name or URL.
pub(super) fn queue_name(queue: &str) -> &str {
    if is_url(queue) {
        queue.rsplit('/').next().unwrap_or(queue)
    } else {
        queue
    }
}

fn is_url(queue: &str) -> bool {
    queue.starts_with("http://") || queue.starts_with("https://")
}

/// Queue URLs by name, looked up once.
#[derive(Debug, Default)]
pub(super) struct Urls {
    cache: Mutex<HashMap<String, String>>,
}

impl Urls {
    /// The URL of `queue` (a name, or already a URL).
    pub async fn get(&self, client: &Client, queue: &str) -> Result<String, BackendError> {
        if is_url(queue) {
            return Ok(queue.to_owned());
        }
        if let Some(url) = self.cache.lock().ok().and_then(|c| c.get(queue).cloned()) {
            return Ok(url);
        }
        let out = client
            .get_queue_url()
            .queue_name(queue)
            .send()
            .await
            .map_err(|e| sdk_error(queue, e))?;
        let url = out.queue_url().unwrap_or_default().to_owned();
        if url.is_empty() {
            return Err(BackendError::Queue {
                queue: queue.to_owned(),
                reason: "SQS returned no URL for it".into(),
            });
        }
        if let Ok(mut c) = self.cache.lock() {
            c.insert(queue.to_owned(), url.clone());
        }
        Ok(url)
    }
}

/// Maps an SDK error about `queue` to a [`BackendError`].
pub(super) fn sdk_error<E>(queue: &str, e: SdkError<E>) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &e {
        SdkError::ServiceError(_) => {
            let code = e.code().unwrap_or("unknown").to_owned();
            let message = e.message().unwrap_or_default().to_owned();
            classify(queue, &code, &message)
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            BackendError::Unavailable(format!("SQS (queue `{queue}`): {}", causes(&e)))
        }
        _ => BackendError::Other(format!("SQS (queue `{queue}`): {}", causes(&e))),
    }
}

/// The error and its causes as text, each once: `dispatch failure: io error: tcp connect
/// error: Connection refused (os error 111)` — not the SDK's debug structures.
pub(super) fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        // A cause that says what its parent already said adds nothing.
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// Maps an SQS error code (of a call or of one batch entry) to a [`BackendError`].
pub(super) fn classify(queue: &str, code: &str, message: &str) -> BackendError {
    let detail = if message.is_empty() {
        code.to_owned()
    } else {
        format!("{code}: {message}")
    };
    if code.contains("NonExistentQueue") || code.contains("QueueDoesNotExist") {
        BackendError::Queue {
            queue: queue.to_owned(),
            reason: format!(
                "does not exist (check the name, the region, the endpoint and the account) [{detail}]"
            ),
        }
    } else if code.contains("AccessDenied")
        || code.contains("NotAuthorized")
        || code.contains("InvalidClientTokenId")
        || code.contains("UnrecognizedClient")
        || code.contains("SignatureDoesNotMatch")
        || code.contains("InvalidSecurity")
        || code.contains("ExpiredToken")
    {
        BackendError::Queue {
            queue: queue.to_owned(),
            reason: format!("access denied [{detail}]"),
        }
    } else if code.contains("Throttl")
        || code.contains("ServiceUnavailable")
        || code.contains("InternalError")
        || code.contains("InternalFailure")
        || code.contains("RequestTimeout")
    {
        BackendError::Unavailable(format!("SQS (queue `{queue}`): {detail}"))
    } else {
        BackendError::Other(format!("SQS (queue `{queue}`): {detail}"))
    }
}
