//! The `projects.timeSeries.list` request for the backlog of some subscriptions, and the
//! reading of its answer: the newest sample of each subscription. No I/O here.

use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};

use serde::Deserialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// The metric: messages of a subscription not yet acknowledged (leased ones included).
pub(super) const METRIC: &str = "pubsub.googleapis.com/subscription/num_undelivered_messages";
/// How far back a sample is looked for (Google samples every 60 s and shows a sample up to
/// a few minutes later).
pub(super) const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Series per page asked for.
const PAGE_SIZE: &str = "100";

/// A subscription's newest sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sample {
    /// Undelivered messages.
    pub value: u64,
    /// The end of the sample's interval.
    pub at: SystemTime,
}

/// The Monitoring filter selecting the metric of subscriptions `subs`.
pub(super) fn filter(subs: &[&str]) -> String {
    let ids: Vec<String> = subs
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!(
        "metric.type = \"{METRIC}\" AND resource.type = \"pubsub_subscription\" \
         AND resource.label.subscription_id = one_of({})",
        ids.join(", ")
    )
}

/// The path and query of one page of the request, for the window ending at `now`.
pub(super) fn path_and_query(
    project: &str,
    subs: &[&str],
    now: SystemTime,
    page_token: Option<&str>,
) -> String {
    let rfc3339 = |t: SystemTime| OffsetDateTime::from(t).format(&Rfc3339).unwrap_or_default();
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("filter", &filter(subs))
        .append_pair("interval.startTime", &rfc3339(now - WINDOW))
        .append_pair("interval.endTime", &rfc3339(now))
        .append_pair("view", "FULL")
        .append_pair("pageSize", PAGE_SIZE);
    if let Some(token) = page_token {
        q.append_pair("pageToken", token);
    }
    let project: String = form_urlencoded::byte_serialize(project.as_bytes()).collect();
    format!("/v3/projects/{project}/timeSeries?{}", q.finish())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    time_series: Vec<Series>,
    #[serde(default)]
    next_page_token: String,
}

#[derive(Deserialize)]
struct Series {
    resource: Resource,
    #[serde(default)]
    points: Vec<Point>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(default)]
    labels: HashMap<String, String>,
}

#[derive(Deserialize)]
struct Point {
    interval: Interval,
    value: TypedValue,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Interval {
    end_time: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypedValue {
    /// A JSON string in Google's encoding of an int64; a number is accepted too.
    #[serde(default)]
    int64_value: Option<serde_json::Value>,
    #[serde(default)]
    double_value: Option<f64>,
}

impl TypedValue {
    fn count(&self) -> Option<u64> {
        match (&self.int64_value, self.double_value) {
            (Some(serde_json::Value::String(s)), _) => s.parse().ok(),
            (Some(serde_json::Value::Number(n)), _) => n.as_u64(),
            (None, Some(d)) if d.is_finite() && d >= 0.0 => {
                // A gauge of whole messages sent as a double.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Some(d.round() as u64)
            }
            _ => None,
        }
    }
}

/// Reads one page of the answer into `newest` (per subscription id, the sample with the
/// latest end time; series of one subscription ending at the same time are added up) and
/// returns the next page's token, if any.
pub(super) fn read_page(
    body: &[u8],
    newest: &mut HashMap<String, Sample>,
) -> Result<Option<String>, String> {
    let page: Page = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    for series in page.time_series {
        let Some(sub) = series.resource.labels.get("subscription_id") else {
            continue;
        };
        let latest = series
            .points
            .iter()
            .filter_map(|p| {
                let at = OffsetDateTime::parse(&p.interval.end_time, &Rfc3339).ok()?;
                Some(Sample {
                    value: p.value.count()?,
                    at: at.into(),
                })
            })
            .max_by_key(|s| s.at);
        let Some(sample) = latest else {
            continue;
        };
        match newest.get_mut(sub) {
            Some(have) if have.at == sample.at => have.value += sample.value,
            Some(have) if have.at > sample.at => {}
            _ => {
                newest.insert(sub.clone(), sample);
            }
        }
    }
    Ok(Some(page.next_page_token).filter(|t| !t.is_empty()))
}

/// What an error answer says: `403 PERMISSION_DENIED: …` from Google's error body, else
/// the status and the start of the body.
pub(super) fn error_text(status: u16, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Wrapper {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        #[serde(default)]
        status: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Wrapper>(body) {
        Ok(Wrapper { error }) => format!("{status} {}: {}", error.status, error.message),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let start: String = text.chars().take(200).collect();
            format!("{status}: {}", start.trim())
        }
    }
}
