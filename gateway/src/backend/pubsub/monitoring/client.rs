//! [`Monitoring`]: the HTTP client of Cloud Monitoring's `timeSeries.list`, with
//! Application Default Credentials against Google (scope `monitoring.read`) and none for a
//! configured endpoint beside the emulator. Every call is bounded: 10 s, 4 MiB per answer,
//! 10 pages.

use std::{collections::HashMap, sync::Arc, time::Duration};

use gcloud_auth::{project::Config as AuthConfig, token::DefaultTokenSourceProvider};
use token_source::{TokenSource, TokenSourceProvider};

use super::query::{self, Sample};
use crate::backend::{BackendError, pubsub::PubsubConfig};

/// The scope the token is asked for.
const SCOPES: [&str; 1] = ["https://www.googleapis.com/auth/monitoring.read"];
/// How long one page may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// The most pages read for one call.
const MAX_PAGES: usize = 10;

/// A Cloud Monitoring endpoint for one project.
pub(in crate::backend::pubsub) struct Monitoring {
    http: reqwest::Client,
    endpoint: String,
    /// The backend's settings (the project; the retry subscriptions' names).
    pub(super) config: PubsubConfig,
    token: Option<Arc<dyn TokenSource>>,
}

impl Monitoring {
    /// The client `config` asks for (`None` when there is no Monitoring to read: the
    /// emulator without `monitoring_endpoint`). Credentials are Application Default
    /// Credentials when ferry talks to Google's service.
    pub async fn new(config: &PubsubConfig) -> Result<Option<Self>, BackendError> {
        let Some(endpoint) = config.monitoring() else {
            return Ok(None);
        };
        let token = match config.emulator() {
            Some(_) => None,
            None => {
                let provider =
                    DefaultTokenSourceProvider::new(AuthConfig::default().with_scopes(&SCOPES))
                        .await
                        .map_err(|e| {
                            BackendError::Other(format!("Cloud Monitoring credentials (ADC): {e}"))
                        })?;
                Some(provider.token_source())
            }
        };
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .build()
            .map_err(|e| BackendError::Other(format!("Cloud Monitoring client: {e}")))?;
        Ok(Some(Self {
            http,
            endpoint,
            config: config.clone(),
            token,
        }))
    }

    /// The newest sample of each of `subs` in the last [`query::WINDOW`] (a subscription
    /// without one is absent).
    pub(super) async fn backlogs(
        &self,
        subs: &[&str],
    ) -> Result<HashMap<String, Sample>, BackendError> {
        let mut newest = HashMap::new();
        let now = std::time::SystemTime::now();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let url = format!(
                "{}{}",
                self.endpoint,
                query::path_and_query(&self.config.project, subs, now, token.as_deref())
            );
            let body = self.get(&url, subs).await?;
            token = query::read_page(&body, &mut newest).map_err(|e| {
                BackendError::Other(format!(
                    "Cloud Monitoring ({}) answered what is not a time series list: {e}",
                    self.endpoint
                ))
            })?;
            if token.is_none() {
                break;
            }
        }
        Ok(newest)
    }

    /// One GET, its answer read up to [`MAX_BODY`]; failures name the endpoint and what to
    /// grant.
    async fn get(&self, url: &str, subs: &[&str]) -> Result<Vec<u8>, BackendError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            BackendError::Unavailable(format!("Cloud Monitoring ({}): {e}", self.endpoint))
        };
        let mut request = self.http.get(url);
        if let Some(source) = &self.token {
            let token = source.token().await.map_err(|e| {
                BackendError::Other(format!("Cloud Monitoring credentials (ADC): {e}"))
            })?;
            request = request.header(http::header::AUTHORIZATION, token);
        }
        let mut response = request.send().await.map_err(|e| unavailable(&e))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(BackendError::Other(format!(
                    "Cloud Monitoring ({}) answered more than {} MiB",
                    self.endpoint,
                    MAX_BODY >> 20
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(body);
        }
        let text = query::error_text(status.as_u16(), &body);
        let queue = subs.first().copied().unwrap_or_default().to_owned();
        Err(match status.as_u16() {
            401 | 403 => BackendError::Queue {
                queue,
                reason: format!(
                    "Cloud Monitoring refused to give its counts ({text}): ferry needs roles/monitoring.viewer on project `{}`",
                    self.config.project
                ),
            },
            400 | 404 => BackendError::Queue {
                queue,
                reason: format!("Cloud Monitoring ({}): {text}", self.endpoint),
            },
            _ => unavailable(&text),
        })
    }
}
