//! Unit tests of the console: dividing limits, the fleet's bounds and staleness,
//! percentiles, heartbeats answered with divided controls, rollups written and read back
//! and pruned past the retention.

use std::time::{Duration, Instant, SystemTime};

use super::{
    Console, Settings,
    controls::{FleetControls, Mark, Override},
    fleet::{Fleet, SubKey, share},
    queues::{Backends, preview},
    rollup::Agg,
    store::Store,
    story::StorySource,
};
use crate::bounded::Count;
use crate::control::wire::{BackendRef, Heartbeat, Limits, RealmReport, SubscriptionReport};

#[test]
fn a_limit_is_divided_with_the_remainder_first() {
    let shares: Vec<u32> = (0..4).map(|i| share(10, 4, i)).collect();
    assert_eq!(shares, [3, 3, 2, 2]);
    assert_eq!(
        (0..4).map(|i| share(2, 4, i)).collect::<Vec<_>>(),
        [1, 1, 0, 0]
    );
    for total in 0..50 {
        for n in 1..9 {
            let sum: u32 = (0..n).map(|i| share(total, n, i)).sum();
            assert_eq!(sum, total, "{total} over {n}");
        }
    }
    assert_eq!(
        share(10, 4, 4),
        0,
        "a sidecar that is not live gets nothing"
    );
    assert_eq!(share(10, 0, 0), 0);
}

fn beat(id: &str, subs: &[&str]) -> Heartbeat {
    Heartbeat {
        sidecar: id.to_owned(),
        service: "svc".to_owned(),
        backend: BackendRef {
            kind: "embedded".into(),
            locator: "/q.db".into(),
        },
        interval_ms: 1000,
        worker_serving: true,
        subscriptions: subs
            .iter()
            .map(|s| SubscriptionReport {
                name: (*s).to_owned(),
                queue: Some((*s).to_owned()),
                error_queue: format!("{s}-errors"),
                configured: Limits {
                    max_in_flight: 16,
                    ..Limits::default()
                },
                ..SubscriptionReport::default()
            })
            .collect(),
        ..Heartbeat::default()
    }
}

#[test]
fn sidecars_go_stale_after_missed_beats_and_the_registry_stays_bounded() {
    let mut fleet = Fleet::new(Count::of(2), Count::of(3), Duration::from_secs(60));
    let t0 = Instant::now();
    let wall = SystemTime::now();
    fleet
        .record("b".into(), beat("a", &["s"]), t0, wall)
        .unwrap();
    fleet
        .record("b".into(), beat("b", &["s"]), t0, wall)
        .unwrap();
    let key = SubKey {
        backend: "b".into(),
        name: "s".into(),
    };
    assert_eq!(fleet.live_of(&key, t0 + Duration::from_secs(3)), ["a", "b"]);
    assert!(
        fleet
            .record("b".into(), beat("c", &["s"]), t0, wall)
            .is_err(),
        "no room while both are live"
    );
    // 3 beats of 1 s missed: stale, and its place goes to a newcomer.
    let later = t0 + Duration::from_millis(3_500);
    fleet
        .record("b".into(), beat("b", &["s"]), later, wall)
        .unwrap();
    assert_eq!(fleet.live_of(&key, later), ["b"]);
    fleet
        .record("b".into(), beat("c", &["s"]), later, wall)
        .unwrap();
    assert_eq!(fleet.len(), 2);
    assert!(fleet.get("a").is_none(), "the stale one was evicted");
    let mut draining = beat("c", &["s"]);
    draining.draining = true;
    fleet.record("b".into(), draining, later, wall).unwrap();
    assert_eq!(
        fleet.live_of(&key, later),
        ["b"],
        "a draining sidecar takes no share"
    );
}

#[test]
fn percentiles_interpolate_within_buckets() {
    let mut a = Agg::default();
    // 100 calls of 10-25 ms (bucket 4), 100 of 250-500 ms (bucket 8).
    a.histogram[4] = 100;
    a.histogram[8] = 100;
    let p50 = a.percentile(0.5).unwrap();
    assert!((10.0..=25.0).contains(&p50), "{p50}");
    let p95 = a.percentile(0.95).unwrap();
    assert!((250.0..=500.0).contains(&p95), "{p95}");
    assert_eq!(Agg::default().percentile(0.5), None);
    a.done = 150;
    a.retried = 50;
    assert_eq!(a.failure_rate(), Some(0.25));
}

#[test]
fn previews_show_json_text_and_hex() {
    assert_eq!(preview(br#"{"a":1}"#).kind, "json");
    assert_eq!(preview(b"hello").text, "hello");
    let hex = preview(&[0xff, 0x00, 0x10]);
    assert_eq!((hex.kind, hex.text.as_str()), ("hex", "ff 00 10"));
    let big = preview(&vec![b'x'; 10_000]);
    assert!(big.truncated && big.text.len() == super::queues::PREVIEW_BYTES);
}

async fn console(dir: &tempfile::TempDir) -> Console {
    let settings = Settings {
        token: None,
        sidecar_token: None,
        read_only: false,
        max_realms: 2,
        max_heartbeat_bytes: 1 << 20,
        retention: Duration::from_secs(3600),
        queue_refresh: Duration::from_secs(5),
    };
    Console::new(
        settings,
        Fleet::new(Count::of(10), Count::of(3), Duration::from_secs(60)),
        Store::open(&dir.path().join("console.db")).unwrap(),
        Backends::default(),
        StorySource::None,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn heartbeats_get_their_share_of_a_fleet_wide_limit() {
    let dir = tempfile::tempdir().unwrap();
    let c = console(&dir).await;
    c.heartbeat(beat("a", &["s"])).unwrap();
    c.heartbeat(beat("b", &["s"])).unwrap();
    let backend = c.backends.resolve(&beat("a", &[]).backend);
    let key = SubKey {
        backend,
        name: "s".into(),
    };
    let mark = Mark {
        by: "test".into(),
        at_ms: 0,
    };
    c.change_controls(&key, |f: &mut FleetControls| {
        f.max_in_flight_per_realm = Some(Override {
            value: 5,
            mark: mark.clone(),
        });
        f.paused_realms.insert("acme".into(), mark.clone());
    })
    .await
    .unwrap();
    let a = c.heartbeat(beat("a", &["s"])).unwrap();
    let b = c.heartbeat(beat("b", &["s"])).unwrap();
    assert_eq!(a.controls["s"].max_in_flight_per_realm, Some(3));
    assert_eq!(b.controls["s"].max_in_flight_per_realm, Some(2));
    assert_eq!(a.controls["s"].paused_realms, ["acme"]);
    // The controls survive a restart of the console.
    drop(c);
    let again = console(&dir).await;
    assert_eq!(again.controls().len(), 1);
}

#[tokio::test]
async fn counts_become_rollups_with_realms_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let c = console(&dir).await;
    let mut b = beat("a", &["s"]);
    b.subscriptions[0].realms = ["r1", "r2", "r3"]
        .iter()
        .map(|r| RealmReport {
            realm: (*r).into(),
            done: 2,
            handling_ms: 20,
            histogram: vec![0, 0, 0, 2],
            ..RealmReport::default()
        })
        .collect();
    c.heartbeat(b).unwrap();
    c.flush().await.unwrap();
    let key = SubKey {
        backend: c.backends.resolve(&beat("a", &[]).backend),
        name: "s".into(),
    };
    let k = key.clone();
    let totals = c
        .store
        .call(move |s| super::store::realm_totals(s, &k, 0))
        .await
        .unwrap();
    let realms: Vec<&str> = totals.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(realms.len(), 3);
    assert!(realms.contains(&"_other"), "max_realms = 2: {realms:?}");
    assert_eq!(totals.iter().map(|(_, a)| a.done).sum::<u64>(), 6);
    assert_eq!(c.recent(&key).since(0).done, 6);
}

#[test]
fn query_values_are_decoded() {
    assert_eq!(
        super::api::tests_support::query("a=1&name=blast%20cust+x", "name"),
        Some("blast cust x".to_owned())
    );
}

#[test]
fn every_console_key_is_documented() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/CONSOLE.md"),
    )
    .unwrap();
    let config = super::ConsoleConfig {
        token: Some("t".repeat(16)),
        sidecar_token: Some("s".repeat(16)),
        elasticsearch: Some(crate::telemetry::elasticsearch::ElasticsearchConfig::new(
            "http://es:9200",
        )),
        ..super::ConsoleConfig::default()
    };
    let value = toml::Value::try_from(&config).unwrap();
    let keys: Vec<&String> = value.as_table().unwrap().keys().collect();
    assert!(keys.len() > 10, "{keys:?}");
    let missing: Vec<_> = keys
        .iter()
        .filter(|k| !docs.contains(&format!("| `{k}` |")) && !docs.contains(&format!("| `{k}.")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/CONSOLE.md's table: {missing:?}"
    );
}

#[test]
fn console_check_never_shows_secrets() {
    let config = super::ConsoleConfig {
        token: Some("hunter2-hunter2-hunter2".into()),
        ..super::ConsoleConfig::default()
    };
    let text = toml::to_string(&config.redacted()).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn rollups_past_the_retention_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    // Retention one hour: at minute `now`, minutes before `now - 60` go.
    let c = console(&dir).await;
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(60 * 1_000_000);
    let minute = super::state::minute_of(now);
    let key = SubKey {
        backend: "local".into(),
        name: "s".into(),
    };
    let ages = [120, 61, 60, 59, 0];
    let rows: Vec<super::store::Row> = ages
        .iter()
        .map(|age| {
            let agg = Agg {
                done: 1,
                ..Agg::default()
            };
            (key.clone(), format!("age-{age}"), minute - age, agg)
        })
        .collect();
    c.store
        .call(move |s| super::store::write_rollups(s, &rows))
        .await
        .unwrap();
    assert_eq!(
        c.prune(now).await.unwrap(),
        2,
        "the rows of 120 and 61 minutes ago"
    );
    let k = key.clone();
    let left = c
        .store
        .call(move |s| super::store::realm_totals(s, &k, 0))
        .await
        .unwrap();
    let mut realms: Vec<String> = left.into_iter().map(|(r, _)| r).collect();
    realms.sort();
    assert_eq!(realms, ["age-0", "age-59", "age-60"]);
    assert_eq!(c.prune(now).await.unwrap(), 0, "nothing more to prune");
}
