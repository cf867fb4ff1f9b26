//! The events about the worker: its log lines, its health, and the child process ferry
//! supervises (started, exited, its output).

use std::{collections::BTreeMap, time::Duration};

use crate::telemetry::{Event, MessageContext, Metrics, Record};

/// A log line from the worker.
#[derive(Debug)]
pub struct WorkerLog<'a> {
    /// The message it is about, if any.
    pub ctx: Option<&'a MessageContext>,
    /// `debug`, `info`, `warn` or `error`.
    pub level: &'a str,
    /// The text.
    pub message: &'a str,
    /// Extra fields, written as `labels.<key>`.
    pub fields: &'a BTreeMap<String, String>,
    /// The worker's own timestamp, if given.
    pub time: Option<std::time::SystemTime>,
}

impl Event for WorkerLog<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("worker.log")
            .level(self.level)
            .message(self.message);
        if let Some(ctx) = self.ctx {
            r.context(ctx);
        }
        if let Some(t) = self.time {
            r.time(t);
        }
        for (k, v) in self.fields {
            r.set(format!("labels.{k}"), v.as_str());
        }
    }
}

/// The worker's health changed.
#[derive(Debug)]
pub struct WorkerHealth<'a> {
    /// Whether it is serving now.
    pub serving: bool,
    /// The status or error seen.
    pub detail: &'a str,
}

impl Event for WorkerHealth<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        let (level, text) = if self.serving {
            ("info", "worker is serving")
        } else {
            ("warn", "worker is not serving")
        };
        r.action("worker.health")
            .level(level)
            .message(format!("{text}: {}", self.detail));
        r.set("ferry.worker.serving", self.serving);
    }
    fn count(&self, m: &Metrics) {
        m.worker_serving.set(i64::from(self.serving));
    }
}

/// The child worker process started.
#[derive(Debug)]
pub struct WorkerStarted {
    /// Its pid.
    pub pid: u32,
}

impl Event for WorkerStarted {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("worker.started")
            .message(format!("worker process {} started", self.pid))
            .set("process.pid", self.pid);
    }
}

/// The child worker process exited.
#[derive(Debug)]
pub struct WorkerExited {
    /// How it exited.
    pub status: String,
    /// When it is restarted (None during shutdown).
    pub restart_in: Option<Duration>,
}

impl Event for WorkerExited {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        let text = match self.restart_in {
            Some(d) => format!(
                "worker exited ({}); restarting in {}",
                self.status,
                humantime::format_duration(d)
            ),
            None => format!("worker exited ({})", self.status),
        };
        r.action("worker.exited")
            .level(if self.restart_in.is_some() {
                "error"
            } else {
                "info"
            })
            .message(text);
    }
}

/// A line the child worker wrote to its stdout or stderr.
#[derive(Debug)]
pub struct WorkerOutput<'a> {
    /// `stdout` or `stderr`.
    pub stream: &'static str,
    /// The line, without its newline.
    pub line: &'a str,
}

impl Event for WorkerOutput<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("worker.output")
            .level(if self.stream == "stderr" {
                "warn"
            } else {
                "info"
            })
            .message(self.line);
        r.set("ferry.worker.stream", self.stream);
    }
}
