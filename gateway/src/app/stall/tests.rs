//! Unit tests of the stall watch: the pure [`Watch`] reports a stall once and its end
//! once, and on a real one-thread runtime a blocked thread is reported with its length
//! while a runtime that only waits is not.
#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;

use super::{Seen, StallWatch, Watch};
use crate::telemetry::{Line, LogSink, Metrics, Origin, Telemetry};

const LIMIT: Duration = Duration::from_secs(1);

#[test]
fn a_stall_is_reported_once_and_its_end_once() {
    let base = Instant::now();
    let at = |ms| base + Duration::from_millis(ms);
    let mut watch = Watch::default();
    assert_eq!(watch.look(at(0), at(100), LIMIT), Seen::Nothing);
    assert_eq!(watch.look(at(100), at(999), LIMIT), Seen::Nothing);
    assert_eq!(
        watch.look(at(100), at(1100), LIMIT),
        Seen::Stalled(Duration::from_secs(1))
    );
    assert_eq!(watch.look(at(100), at(5000), LIMIT), Seen::Nothing);
    assert_eq!(
        watch.look(at(5100), at(5150), LIMIT),
        Seen::Resumed(Duration::from_secs(5))
    );
    assert_eq!(watch.look(at(5200), at(5250), LIMIT), Seen::Nothing);
}

/// The records telemetry wrote.
#[derive(Default)]
struct Captured(Mutex<Vec<serde_json::Value>>);

#[async_trait]
impl LogSink for Captured {
    fn write(&self, line: Arc<Line>) {
        let doc = serde_json::from_str(line.json()).unwrap();
        self.0.lock().unwrap().push(doc);
    }

    async fn flush(&self) {}
}

impl Captured {
    fn actions(&self) -> Vec<String> {
        let docs = self.0.lock().unwrap();
        docs.iter()
            .map(|d| d["event.action"].as_str().unwrap().to_owned())
            .collect()
    }

    fn duration_of(&self, action: &str) -> Duration {
        let docs = self.0.lock().unwrap();
        let doc = docs.iter().find(|d| d["event.action"] == action).unwrap();
        Duration::from_nanos(doc["event.duration"].as_u64().unwrap())
    }
}

#[test]
fn a_blocked_runtime_thread_is_reported_with_its_length() {
    let captured = Arc::new(Captured::default());
    let metrics = Arc::new(Metrics::new());
    let telemetry = Telemetry::with(Origin::new("svc", None), metrics.clone(), captured.clone());
    let limit = Duration::from_millis(500);
    let blocked = Duration::from_millis(1500);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let _watch = StallWatch::start_with(telemetry, Duration::from_millis(20), limit);
        // A runtime that waits (on a timer) is not stalled.
        tokio::time::sleep(limit * 2).await;
        assert_eq!(captured.actions(), Vec::<String>::new());

        // What a blocking call on the runtime's one thread does.
        std::thread::sleep(blocked);

        let deadline = Instant::now() + Duration::from_secs(30);
        while !captured.actions().contains(&"runtime.resumed".to_owned()) {
            assert!(Instant::now() < deadline, "{:?}", captured.actions());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert_eq!(captured.actions(), ["runtime.stalled", "runtime.resumed"]);
    assert!(captured.duration_of("runtime.stalled") >= limit);
    assert!(captured.duration_of("runtime.resumed") >= blocked);
    assert_eq!(metrics.runtime_stalls.get(), 1);
}
