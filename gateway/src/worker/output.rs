//! The child worker's stdout and stderr, turned into `worker.output` events: each line is
//! one event (`message` = the line, `ferry.worker.stream` = `stdout` or `stderr`), so
//! ferry's stdout stays one JSON object per line whatever the worker prints.
//!
//! Bounded: a line longer than [`MAX_LINE`] bytes is cut into pieces of that size; a
//! partial line (no newline yet) is written once the worker has been quiet for
//! [`PARTIAL_AFTER`], so a prompt or a progress bar still shows.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::telemetry::{Telemetry, events};

/// The longest line written as one event.
pub const MAX_LINE: usize = 16 * 1024;
/// How long a partial line waits for the rest before it is written.
const PARTIAL_AFTER: Duration = Duration::from_millis(200);

/// Reads `from` until it ends, emitting one event per line of stream `stream`.
pub(super) async fn forward(
    mut from: impl AsyncRead + Unpin,
    stream: &'static str,
    telemetry: Telemetry,
) {
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut chunk = [0u8; 4096];
    loop {
        let read = if line.is_empty() {
            from.read(&mut chunk).await.ok()
        } else {
            match tokio::time::timeout(PARTIAL_AFTER, from.read(&mut chunk)).await {
                Ok(r) => r.ok(),
                Err(_) => {
                    emit(&telemetry, stream, &mut line);
                    continue;
                }
            }
        };
        let n = match read {
            Some(0) | None => break,
            Some(n) => n,
        };
        for &b in &chunk[..n] {
            if b == b'\n' {
                emit(&telemetry, stream, &mut line);
            } else {
                line.push(b);
                if line.len() >= MAX_LINE {
                    emit(&telemetry, stream, &mut line);
                }
            }
        }
    }
    if !line.is_empty() {
        emit(&telemetry, stream, &mut line);
    }
}

fn emit(telemetry: &Telemetry, stream: &'static str, line: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(line);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    telemetry.emit(events::WorkerOutput { stream, line: text });
    line.clear();
}
