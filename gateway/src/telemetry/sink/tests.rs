//! Unit tests for the stdout sink's writer thread: lines in order, `flush` waits for them,
//! and a writer that fails does not leave `flush` waiting forever.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{Value, json};

use super::{LogSink, StdoutSink};

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
    let sink = StdoutSink::to_writer(out.clone());
    for i in 0..1000 {
        sink.write(json!({"n": i, "message": "a \"quoted\"\nline"}));
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
    let sink = StdoutSink::to_writer(out.clone());
    sink.flush().await;
    assert!(out.0.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_failing_writer_does_not_leave_flush_waiting() {
    let sink = StdoutSink::to_writer(Broken);
    sink.write(json!({"n": 1}));
    // A deadline only so that a regression fails instead of hanging the test run.
    tokio::time::timeout(Duration::from_secs(30), sink.flush())
        .await
        .expect("flush returned although the writer failed");
    sink.write(json!({"n": 2}));
    tokio::time::timeout(Duration::from_secs(30), sink.flush())
        .await
        .expect("flush returned after the writer thread ended");
}
