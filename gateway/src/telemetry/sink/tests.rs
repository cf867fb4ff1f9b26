//! Unit tests for the stdout sink's writer thread: lines in order, `flush` waits for them,
//! and a writer that fails does not leave `flush` waiting forever.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{Value, json};

use super::{LogSink, QUEUE, StdoutSink};
use crate::telemetry::{Line, Metrics, Origin};

fn line(record: Value) -> Arc<Line> {
    Arc::new(Line::from_value(&record))
}

fn sink_to(out: impl Write + Send + 'static) -> (StdoutSink, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let sink = StdoutSink::to_writer(out, Origin::new("test", None), metrics.clone());
    (sink, metrics)
}

/// A writer into shared memory.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A writer that always fails, like stdout closed by the reader.
struct Broken;

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "closed",
        ))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "closed",
        ))
    }
}

#[tokio::test]
async fn flush_returns_once_every_record_before_it_is_written_in_order() {
    let out = Shared::default();
    let (sink, _) = sink_to(out.clone());
    for i in 0..1000 {
        sink.write(line(json!({"n": i, "message": "a \"quoted\"\nline"})));
    }
    sink.flush().await;
    let written = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
    let lines: Vec<Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 1000);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["n"], i);
        assert_eq!(line["message"], "a \"quoted\"\nline");
    }
}

#[tokio::test]
async fn flush_with_nothing_queued_returns() {
    let out = Shared::default();
    let (sink, _) = sink_to(out.clone());
    sink.flush().await;
    assert!(out.0.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_failing_writer_does_not_leave_flush_waiting() {
    let (sink, _) = sink_to(Broken);
    sink.write(line(json!({"n": 1})));
    // A deadline only so that a regression fails instead of hanging the test run.
    tokio::time::timeout(Duration::from_secs(30), sink.flush())
        .await
        .expect("flush returned although the writer failed");
    sink.write(line(json!({"n": 2})));
    tokio::time::timeout(Duration::from_secs(30), sink.flush())
        .await
        .expect("flush returned after the writer thread ended");
}

/// A writer that blocks until released, like a stdout nobody reads.
#[derive(Clone)]
struct Gated {
    open: Arc<(Mutex<bool>, std::sync::Condvar)>,
    out: Shared,
}

impl Write for Gated {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (lock, cvar) = &*self.open;
        let mut open = lock.lock().expect("lock");
        while !*open {
            open = cvar.wait(open).expect("wait");
        }
        self.out.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_blocked_writer_drops_counts_and_reports_instead_of_growing() {
    let gated = Gated {
        open: Arc::default(),
        out: Shared::default(),
    };
    let (sink, metrics) = sink_to(gated.clone());
    let total = QUEUE * 3;
    for i in 0..total {
        sink.write(line(json!({ "n": i })));
    }
    let dropped = metrics.log_queue_dropped("stdout").get();
    assert!(dropped > 0, "nothing was dropped with the writer blocked");
    // What waits: the queue, and the lines in the writer's 64 KiB buffer (at least 10
    // bytes each here).
    assert!(
        dropped as usize >= total - QUEUE - 64 * 1024 / 10,
        "more than the queue and the writer's buffer was kept: {dropped} dropped"
    );
    {
        let (lock, cvar) = &*gated.open;
        *lock.lock().expect("lock") = true;
        cvar.notify_all();
    }
    sink.flush().await;
    let written = String::from_utf8(gated.out.0.lock().expect("lock").clone()).expect("utf-8");
    let lines: Vec<Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let reported: u64 = lines
        .iter()
        .filter(|l| l["event.action"] == "logs.dropped")
        .map(|l| l["ferry.logs.dropped"].as_u64().expect("a count"))
        .sum();
    assert_eq!(reported, dropped, "every drop is reported");
    let kept = lines.iter().filter(|l| l.get("n").is_some()).count();
    assert_eq!(
        kept as u64 + dropped,
        total as u64,
        "every record written or counted"
    );
}
