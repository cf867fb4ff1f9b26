//! [`Stamper`]: gives each log record its document id (`event.id`, `<process id>-<n>`) and
//! sequence number (`event.sequence`), in one order for the spool and the stdout copy.

use std::sync::Mutex;

use serde_json::Value;

use super::spool::Entry;
use crate::telemetry::{LogSink, sink::StdoutSink};

/// Gives records their id and sequence number, in one order for the spool and stdout.
#[derive(Debug)]
pub(super) struct Stamper {
    process: String,
    next: Mutex<u64>,
    /// The copy of every record for stdout, if configured.
    pub(super) stdout: Option<StdoutSink>,
}

impl Stamper {
    pub(super) fn new(stdout: Option<StdoutSink>) -> Self {
        Self {
            process: format!("{:016x}", rand::random::<u64>()),
            next: Mutex::new(0),
            stdout,
        }
    }

    /// Stamps `record` and passes its spool line to `deliver`, under one lock so that lines
    /// arrive in sequence order.
    pub(super) fn stamp(&self, mut record: Value, deliver: impl FnOnce(Vec<u8>)) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let seq = *next;
        *next += 1;
        let id = format!("{}-{seq}", self.process);
        if let Value::Object(map) = &mut record {
            map.insert("event.id".into(), id.as_str().into());
            map.insert("event.sequence".into(), seq.into());
        }
        let doc = serde_json::to_vec(&record).unwrap_or_default();
        if let Some(out) = &self.stdout {
            out.write(record);
        }
        deliver(Entry::encode(&id, &doc));
    }
}
