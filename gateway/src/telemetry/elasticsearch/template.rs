//! The index templates that map ferry's log schema, installed idempotently: at start-up by
//! the sink (unless `setup = false`) and by `ferry logs setup`.
//!
//! The JSON lives in `deploy/elasticsearch/` and is compiled in, so what ferry installs and
//! what an operator installs by hand are the same bytes. Two component templates,
//! `ferry-logs@settings` and `ferry-logs@mappings`, plus the optional `ferry-logs@custom`
//! (never touched by ferry: ILM policy, replicas) make up the index template. A data stream
//! named `logs-ferry-*` uses the `ferry-logs` index template; any other name gets one of its
//! own, `ferry-logs-<name>`, with a higher priority.

use elasticsearch::{
    Elasticsearch,
    cluster::ClusterPutComponentTemplateParts,
    indices::{IndicesGetIndexTemplateParts, IndicesPutIndexTemplateParts},
};
use serde_json::{Value, json};

const SETTINGS: &str =
    include_str!("../../../../deploy/elasticsearch/component-template-settings.json");
const MAPPINGS: &str =
    include_str!("../../../../deploy/elasticsearch/component-template-mappings.json");
const INDEX: &str = include_str!("../../../../deploy/elasticsearch/index-template.json");

/// The index pattern of the standard template.
pub const STANDARD_PATTERN: &str = "logs-ferry-*";

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// The templates were written (name of the index template, its version).
    Written(String, i64),
    /// The index template was already at this version; nothing was written.
    Current(String, i64),
}

impl std::fmt::Display for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Written(name, v) => write!(
                f,
                "installed index template {name} (version {v}) with component templates ferry-logs@settings and ferry-logs@mappings"
            ),
            Self::Current(name, v) => write!(f, "index template {name} is current (version {v})"),
        }
    }
}

/// The component templates, by name.
pub fn component_templates() -> Vec<(&'static str, Value)> {
    vec![
        ("ferry-logs@settings", parse(SETTINGS)),
        ("ferry-logs@mappings", parse(MAPPINGS)),
    ]
}

fn parse(text: &str) -> Value {
    // The files are checked by a unit test; a broken file fails the build's tests.
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// Whether `data_stream` is covered by the standard `logs-ferry-*` template.
pub fn is_standard(data_stream: &str) -> bool {
    data_stream
        .strip_prefix("logs-ferry-")
        .is_some_and(|rest| !rest.is_empty())
}

/// The index template for `data_stream`: (name, body).
pub fn index_template(data_stream: &str) -> (String, Value) {
    let mut body = parse(INDEX);
    if is_standard(data_stream) {
        return ("ferry-logs".to_owned(), body);
    }
    body["index_patterns"] = json!([data_stream]);
    body["priority"] = json!(201);
    (format!("ferry-logs-{data_stream}"), body)
}

/// The version in the index template file.
pub fn version() -> i64 {
    parse(INDEX)["version"].as_i64().unwrap_or(0)
}

async fn installed_version(client: &Elasticsearch, name: &str) -> Result<Option<i64>, String> {
    let response = client
        .indices()
        .get_index_template(IndicesGetIndexTemplateParts::Name(name))
        .send()
        .await
        .map_err(|e| format!("GET _index_template/{name}: {e}"))?;
    let status = response.status_code().as_u16();
    if status == 404 {
        return Ok(None);
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("GET _index_template/{name}: {e}"))?;
    if status != 200 {
        return Err(format!("GET _index_template/{name}: HTTP {status}: {body}"));
    }
    Ok(body["index_templates"][0]["index_template"]["version"].as_i64())
}

async fn check(
    response: elasticsearch::http::response::Response,
    what: &str,
) -> Result<(), String> {
    let status = response.status_code();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    Err(format!("PUT {what}: HTTP {}: {text}", status.as_u16()))
}

/// Installs the templates for `data_stream`, unless the index template is already at this
/// version (`force` writes them anyway).
pub async fn install(
    client: &Elasticsearch,
    data_stream: &str,
    force: bool,
) -> Result<Installed, String> {
    let (name, body) = index_template(data_stream);
    let ours = version();
    if !force && installed_version(client, &name).await? == Some(ours) {
        return Ok(Installed::Current(name, ours));
    }
    for (component, template) in component_templates() {
        let response = client
            .cluster()
            .put_component_template(ClusterPutComponentTemplateParts::Name(component))
            .body(template)
            .send()
            .await
            .map_err(|e| format!("PUT _component_template/{component}: {e}"))?;
        check(response, &format!("_component_template/{component}")).await?;
    }
    let response = client
        .indices()
        .put_index_template(IndicesPutIndexTemplateParts::Name(&name))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("PUT _index_template/{name}: {e}"))?;
    check(response, &format!("_index_template/{name}")).await?;
    Ok(Installed::Written(name, ours))
}
