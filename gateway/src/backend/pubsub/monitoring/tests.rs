//! The Monitoring request and the reading of its answers (no HTTP: the black-box tests in
//! `tests/tests/pubsub_monitoring.rs` run ferry against a stand-in server).

use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::query::{Sample, error_text, filter, path_and_query, read_page};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn the_filter_names_the_metric_and_every_subscription() {
    assert_eq!(
        filter(&["orders", "orders-retry", "odd\"id"]),
        "metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" \
         AND resource.type = \"pubsub_subscription\" \
         AND resource.label.subscription_id = one_of(\"orders\", \"orders-retry\", \"odd\\\"id\")"
    );
}

#[test]
fn the_request_asks_for_the_last_fifteen_minutes_of_the_project() {
    let q = path_and_query("my-proj", &["orders"], at(1_800_000_000), Some("next page"));
    let (path, query) = q.split_once('?').unwrap();
    assert_eq!(path, "/v3/projects/my-proj/timeSeries");
    let pairs: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(pairs["interval.endTime"], "2027-01-15T08:00:00Z");
    assert_eq!(pairs["interval.startTime"], "2027-01-15T07:45:00Z");
    assert_eq!(pairs["view"], "FULL");
    assert_eq!(pairs["pageToken"], "next page");
    assert!(pairs["filter"].ends_with("one_of(\"orders\")"));
}

fn series(sub: &str, points: &[(&str, serde_json::Value)]) -> serde_json::Value {
    serde_json::json!({
        "metric": {"type": super::query::METRIC},
        "resource": {"type": "pubsub_subscription", "labels": {"project_id": "p", "subscription_id": sub}},
        "metricKind": "GAUGE",
        "valueType": "INT64",
        "points": points.iter().map(|(end, v)| serde_json::json!({
            "interval": {"startTime": end, "endTime": end},
            "value": v,
        })).collect::<Vec<_>>(),
    })
}

#[test]
fn the_newest_sample_of_each_subscription_is_kept() {
    let body = serde_json::json!({
        "timeSeries": [
            series("orders", &[
                ("2027-01-15T07:59:00Z", serde_json::json!({"int64Value": "42"})),
                ("2027-01-15T07:58:00Z", serde_json::json!({"int64Value": "40"})),
            ]),
            // Out of order, a number instead of a string, a double: all read.
            series("orders-retry", &[
                ("2027-01-15T07:50:00Z", serde_json::json!({"int64Value": 9})),
                ("2027-01-15T07:57:00Z", serde_json::json!({"int64Value": 3})),
            ]),
            series("orders-errors", &[("2027-01-15T07:59:00Z", serde_json::json!({"doubleValue": 5.0}))]),
        ],
        "nextPageToken": "t2",
    });
    let mut newest = HashMap::new();
    let next = read_page(body.to_string().as_bytes(), &mut newest).unwrap();
    assert_eq!(next.as_deref(), Some("t2"));
    assert_eq!(
        newest["orders"],
        Sample {
            value: 42,
            at: at(1_800_000_000 - 60)
        }
    );
    assert_eq!(
        newest["orders-retry"],
        Sample {
            value: 3,
            at: at(1_800_000_000 - 180)
        }
    );
    assert_eq!(newest["orders-errors"].value, 5);
}

#[test]
fn series_of_one_subscription_add_up_at_the_same_time_and_the_newer_page_wins() {
    let page = |v1: &str, end: &str| {
        serde_json::json!({"timeSeries": [
            series("orders", &[(end, serde_json::json!({"int64Value": v1}))]),
            series("orders", &[(end, serde_json::json!({"int64Value": "1"}))]),
        ]})
        .to_string()
    };
    let mut newest = HashMap::new();
    assert_eq!(
        read_page(page("10", "2027-01-15T07:59:00Z").as_bytes(), &mut newest).unwrap(),
        None
    );
    assert_eq!(newest["orders"].value, 11);
    read_page(page("99", "2027-01-15T07:58:00Z").as_bytes(), &mut newest).unwrap();
    assert_eq!(
        newest["orders"].value, 11,
        "an older sample does not replace a newer one"
    );
}

#[test]
fn an_empty_answer_has_no_samples_and_garbage_is_an_error() {
    let mut newest = HashMap::new();
    assert_eq!(read_page(b"{}", &mut newest).unwrap(), None);
    assert!(newest.is_empty());
    // Points that cannot be read are skipped, not guessed.
    let odd = serde_json::json!({"timeSeries": [
        series("orders", &[("yesterday", serde_json::json!({"int64Value": "1"}))]),
        series("orders-retry", &[("2027-01-15T07:59:00Z", serde_json::json!({"int64Value": "-4"}))]),
        series("orders-errors", &[("2027-01-15T07:59:00Z", serde_json::json!({"stringValue": "x"}))]),
    ]});
    read_page(odd.to_string().as_bytes(), &mut newest).unwrap();
    assert!(newest.is_empty(), "{newest:?}");
    assert!(read_page(b"<html>", &mut newest).is_err());
    assert!(read_page(br#"{"timeSeries": "no"}"#, &mut newest).is_err());
}

#[test]
fn an_error_answer_is_told_in_google_s_words() {
    let google = br#"{"error": {"code": 403, "message": "Permission monitoring.timeSeries.list denied", "status": "PERMISSION_DENIED"}}"#;
    assert_eq!(
        error_text(403, google),
        "403 PERMISSION_DENIED: Permission monitoring.timeSeries.list denied"
    );
    assert_eq!(error_text(502, b"  bad gateway\n"), "502: bad gateway");
    assert_eq!(
        error_text(500, "é".repeat(500).as_bytes()).chars().count(),
        "500: ".len() + 200
    );
}
