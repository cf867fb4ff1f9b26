//! [`StorySource`]: where the Message page reads one message's story — every log event
//! about the message id, in order, as `ferry logs --message ID` prints it. From
//! Elasticsearch when `[elasticsearch]` is configured; else, for the console a sidecar
//! serves for itself, from its local log store (`[logs.local]`, the store `ferry logs`
//! reads); with neither the page says so.

use serde_json::Value;

use crate::telemetry::elasticsearch::ElasticsearchConfig;

/// Why there is no story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoryError {
    /// No source is configured (the reason says which would be).
    Unavailable(String),
    /// The source failed.
    Failed(String),
}

/// Where stories come from.
pub enum StorySource {
    /// Elasticsearch, the data stream of `ferry logs`.
    #[cfg(feature = "elasticsearch")]
    Elasticsearch {
        /// The client.
        client: elasticsearch::Elasticsearch,
        /// The data stream searched.
        data_stream: String,
    },
    /// The local log store at this path (the sidecar's own console).
    #[cfg(feature = "embedded")]
    Local(std::path::PathBuf),
    /// None configured.
    None,
}

impl StorySource {
    /// The source `config` names (none without `[elasticsearch]`).
    pub fn new(config: Option<&ElasticsearchConfig>) -> Result<Self, String> {
        match config {
            #[cfg(feature = "elasticsearch")]
            Some(es) => Ok(Self::Elasticsearch {
                client: crate::telemetry::elasticsearch::bulk::connect(es)
                    .map_err(|e| format!("elasticsearch.{e}"))?,
                data_stream: es.data_stream.clone(),
            }),
            #[cfg(not(feature = "elasticsearch"))]
            Some(_) => Err(
                "elasticsearch: this ferry was built without the `elasticsearch` feature".into(),
            ),
            None => Ok(Self::None),
        }
    }

    /// What the page should say about the source.
    pub fn describe(&self) -> &'static str {
        match self {
            #[cfg(feature = "elasticsearch")]
            Self::Elasticsearch { .. } => "elasticsearch",
            #[cfg(feature = "embedded")]
            Self::Local(_) => "local",
            Self::None => "none",
        }
    }

    /// The events about message `id` (and where it was published), oldest first.
    pub async fn story(&self, id: &str) -> Result<Vec<Value>, StoryError> {
        match self {
            #[cfg(feature = "elasticsearch")]
            Self::Elasticsearch {
                client,
                data_stream,
            } => {
                use crate::cli::logs::{LogsArgs, query, search};
                let args = LogsArgs {
                    command: None,
                    message: Some(id.to_owned()),
                    trace: None,
                    subscription: None,
                    realm: None,
                    outcome: None,
                    action: None,
                    since: None,
                    until: None,
                    query: None,
                    limit: search::STORY_MAX,
                    follow: false,
                    json: true,
                };
                let q = query(&args).map_err(|e| StoryError::Failed(e.to_string()))?;
                let hits = search::search(client, data_stream, &q, search::STORY_MAX, "asc")
                    .await
                    .map_err(|e| StoryError::Failed(e.to_string()))?;
                Ok(hits.into_iter().map(|h| h.doc).collect())
            }
            #[cfg(feature = "embedded")]
            Self::Local(path) => {
                use crate::telemetry::local::{LogQuery, LogReader};
                let (path, id) = (path.clone(), id.to_owned());
                let read = move || {
                    LogReader::open(&path)?.read(&LogQuery {
                        message: Some(id),
                        limit: 10_000,
                        ..LogQuery::default()
                    })
                };
                let records = tokio::task::spawn_blocking(read)
                    .await
                    .map_err(|e| StoryError::Failed(e.to_string()))?
                    .map_err(StoryError::Failed)?;
                Ok(records.into_iter().map(|r| r.doc).collect())
            }
            Self::None => {
                let _ = id;
                Err(StoryError::Unavailable(
                    "no story source: configure [elasticsearch] in console.toml".into(),
                ))
            }
        }
    }
}
