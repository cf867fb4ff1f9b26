//! Unit tests of the sidecar's side: the tally, controls applied to admission (pause,
//! paused realms, per-realm share, the in-flight semaphore resized), and the heartbeat
//! config's checks.

use std::{sync::Arc, time::Duration};

use tokio::sync::Semaphore;

use super::{Controls, Refused, Settled, Tally, wire::SubscriptionControls};
use crate::{config::SubscriptionConfig, dispatch::Admission};

/// Polls `cond` every 5 ms for up to 10 s (the follower task applies controls soon after).
async fn eventually(mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "not true within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn the_tally_counts_takes_and_forgets() {
    let t = Tally::new(std::num::NonZeroUsize::new(2).unwrap());
    t.settled("s", "a", Settled::Done, Some(Duration::from_millis(3)));
    assert!(t.take("s").is_empty(), "off until enabled");
    t.enable();
    t.settled("s", "a", Settled::Done, Some(Duration::from_millis(3)));
    t.settled("s", "a", Settled::Retried, Some(Duration::from_millis(700)));
    t.settled("s", "b", Settled::DeadLettered, None);
    t.settled("s", "c", Settled::Done, None);
    let taken = t.take("s");
    let by: Vec<(&str, u64, u64, u64)> = taken
        .iter()
        .map(|r| (r.realm.as_str(), r.done, r.retried, r.dead_lettered))
        .collect();
    assert_eq!(by, [("_other", 1, 0, 0), ("a", 1, 1, 0), ("b", 0, 0, 1)]);
    let a = &taken[1];
    assert_eq!(a.handling_ms, 703);
    assert_eq!(a.histogram[2], 1, "3 ms is in the 2-5 ms bucket");
    assert_eq!(a.histogram[9], 1, "700 ms is in the 500-1000 ms bucket");
    assert!(
        t.take("s").is_empty(),
        "taken means reset, and idle realms are forgotten"
    );
    t.settled("s", "c", Settled::Done, None);
    assert_eq!(
        t.take("s")[0].realm,
        "c",
        "a forgotten realm's place is free again"
    );
}

fn config(max: u32, per_realm: Option<u32>) -> SubscriptionConfig {
    SubscriptionConfig {
        max_in_flight: crate::bounded::Count::of(max),
        max_in_flight_per_realm: per_realm.map(crate::bounded::Count::of),
        ..SubscriptionConfig::default()
    }
}

#[tokio::test]
async fn admission_follows_the_console() {
    let names = ["s".to_owned()];
    let controls = Controls::new(names.iter(), Duration::from_millis(1500));
    let admission = Admission::with_controls(&config(4, Some(3)), controls.applied("s"));
    let realm = admission.admit_realm("acme").unwrap();
    drop(realm);
    assert!(!admission.paused());

    let mut set = std::collections::BTreeMap::new();
    set.insert(
        "s".to_owned(),
        SubscriptionControls {
            paused: true,
            paused_realms: vec!["acme".into()],
            max_in_flight_per_realm: Some(1),
            max_in_flight: Some(2),
            ..SubscriptionControls::default()
        },
    );
    assert!(controls.apply(&set));
    assert!(!controls.apply(&set), "the same controls are no change");
    eventually(|| admission.paused()).await;
    eventually(|| admission.admit_realm("acme").is_err()).await;
    assert_eq!(
        admission.admit_realm("acme").unwrap_err(),
        Refused::Paused(Duration::from_millis(1500))
    );
    let one = admission.admit_realm("other").unwrap();
    assert_eq!(
        admission.admit_realm("other").unwrap_err(),
        Refused::Busy,
        "the per-realm share is 1"
    );
    drop(one);
    // The semaphore shrank from 4 to 2: two slots, then none.
    let slots = admission.reserve().await;
    assert_eq!(slots.len(), 2);
    let mut more = Vec::new();
    admission.top_up(&mut more);
    assert!(more.is_empty());
    drop(slots);

    set.clear();
    controls.apply(&set);
    eventually(|| !admission.paused() && admission.admit_realm("acme").is_ok()).await;
    let slots = admission.reserve().await;
    eventually(|| {
        let mut extra = Vec::new();
        admission.top_up(&mut extra);
        slots.len() + extra.len() >= 4
    })
    .await;
}

#[tokio::test]
async fn a_shrink_waits_for_running_calls() {
    let slots = Arc::new(Semaphore::new(3));
    let names = ["s".to_owned()];
    let controls = Controls::new(names.iter(), Duration::ZERO);
    let applied = controls.applied("s");
    applied.start(&slots, 3, std::num::NonZeroUsize::new(3).unwrap());
    let held = slots.clone().acquire_many_owned(3).await.unwrap();
    let mut set = std::collections::BTreeMap::new();
    set.insert(
        "s".to_owned(),
        SubscriptionControls {
            max_in_flight: Some(1),
            ..SubscriptionControls::default()
        },
    );
    controls.apply(&set);
    drop(held);
    eventually(|| applied.capacity() == Some(1)).await;
    assert_eq!(slots.available_permits(), 1);
}

#[test]
fn the_console_url_must_be_http() {
    let link = super::ConsoleLink {
        url: Some("https://console:9470".into()),
        ..super::ConsoleLink::default()
    };
    assert_eq!(link.problems()[0].0, "url");
    let ok = super::ConsoleLink {
        url: Some("http://console:9470".into()),
        ..super::ConsoleLink::default()
    };
    assert!(ok.problems().is_empty());
}
