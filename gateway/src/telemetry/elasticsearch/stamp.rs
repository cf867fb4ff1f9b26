//! [`Stamper`]: gives each log record its document id (`event.id`, `<process id>-<n>`) and
//! sequence number (`event.sequence`), in one order for the spool and the stdout copy.

use std::{
    fmt::Write as _,
    sync::{Arc, Mutex},
};

use super::spool::Entry;
use crate::telemetry::{Line, LogSink, sink::StdoutSink};

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

    /// Stamps `line` and passes its spool line to `deliver`, under one lock so that lines
    /// arrive in sequence order. The stamp goes at the end of the record's JSON object,
    /// which is not parsed again.
    pub(super) fn stamp(&self, line: &Line, deliver: impl FnOnce(Vec<u8>)) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let seq = *next;
        *next += 1;
        let id = format!("{}-{seq}", self.process);
        let json = line.json();
        let open = json.strip_suffix('}').unwrap_or("{");
        let mut doc = String::with_capacity(json.len() + 64);
        doc.push_str(open);
        if open.len() > 1 {
            doc.push(',');
        }
        // The id is hex digits and a dash: nothing to escape.
        let _ = write!(doc, "\"event.id\":\"{id}\",\"event.sequence\":{seq}}}");
        let entry = Entry::encode(&id, doc.as_bytes());
        if let Some(out) = &self.stdout {
            out.write(Arc::new(Line::unindexed(doc, line.ts_ms())));
        }
        deliver(entry);
    }
}
