//! [`Reply`]: what a handler answers (done, retry, dead-letter), with the messages to
//! publish and the log lines to write.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::outgoing::Outgoing;

/// A handler's answer. Ferry settles the message from it.
///
/// ```
/// use std::time::Duration;
/// use ferry_sdk::{Level, Outgoing, Reply};
///
/// let ok = Reply::done()
///     .publish(Outgoing::new("Next", "payload"))
///     .log(Level::Info, "handed on");
/// let later = Reply::retry("mail provider returned 503").after(Duration::from_secs(60));
/// let poison = Reply::dead_letter("customer_ids is missing");
/// # let _ = (ok, later, poison);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    outcome: Outcome,
    publish: Vec<Outgoing>,
    logs: Vec<LogEntry>,
}

/// What happened to the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Processed: publish the reply's messages, then ack the input.
    Done,
    /// Failed, may succeed later: the input goes back to the queue.
    Retry {
        /// Why; recorded as the message's last error.
        reason: String,
        /// Wait this long before the next attempt; `None` uses the subscription's backoff.
        delay: Option<Duration>,
    },
    /// Can never succeed: the input moves to the error queue now.
    DeadLetter {
        /// Why; stored with the dead letter.
        reason: String,
    },
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Detailed diagnostics.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that was handled.
    Warn,
    /// A failure.
    Error,
}

/// A structured log line; ferry writes it in the standard log shape, tagged with the
/// message's context (message id, subscription, realm, attempt, trace id).
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Severity.
    pub level: Level,
    /// The human-readable text.
    pub message: String,
    /// Extra fields, written under `labels.*` (keys: letters, digits, `_`, `.`, `-`).
    pub fields: HashMap<String, String>,
    /// When the line was written.
    pub time: SystemTime,
}

impl LogEntry {
    /// A line written now, without fields.
    pub fn new(level: Level, message: impl Into<String>) -> Self {
        LogEntry {
            level,
            message: message.into(),
            fields: HashMap::new(),
            time: SystemTime::now(),
        }
    }

    /// Adds a field.
    pub fn field(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.fields.insert(key.into(), value.to_string());
        self
    }
}

impl Reply {
    fn with(outcome: Outcome) -> Self {
        Reply {
            outcome,
            publish: Vec::new(),
            logs: Vec::new(),
        }
    }

    /// The message was processed.
    pub fn done() -> Self {
        Reply::with(Outcome::Done)
    }

    /// The message should be tried again, after the subscription's backoff unless
    /// [`after`](Self::after) says otherwise.
    pub fn retry(reason: impl Into<String>) -> Self {
        Reply::with(Outcome::Retry {
            reason: reason.into(),
            delay: None,
        })
    }

    /// The message can never be processed (poison, invalid): dead-letter it now.
    pub fn dead_letter(reason: impl Into<String>) -> Self {
        Reply::with(Outcome::DeadLetter {
            reason: reason.into(),
        })
    }

    /// For a retry: wait `delay` before the next attempt (capped by the subscription's
    /// `backoff.max`). Has no effect on done or dead-letter.
    pub fn after(mut self, delay: Duration) -> Self {
        if let Outcome::Retry { delay: d, .. } = &mut self.outcome {
            *d = Some(delay);
        }
        self
    }

    /// Publishes `msg` when the reply is done (before the input is acked). Ferry publishes
    /// nothing for retry or dead-letter.
    pub fn publish(mut self, msg: Outgoing) -> Self {
        self.publish.push(msg);
        self
    }

    /// Publishes every message of `msgs` (see [`publish`](Self::publish)).
    pub fn publish_all(mut self, msgs: impl IntoIterator<Item = Outgoing>) -> Self {
        self.publish.extend(msgs);
        self
    }

    /// Adds a log line.
    pub fn log(self, level: Level, message: impl Into<String>) -> Self {
        self.log_entry(LogEntry::new(level, message))
    }

    /// Adds a log line with extra fields.
    ///
    /// ```
    /// use ferry_sdk::{Level, Reply};
    /// let reply = Reply::done().log_with(Level::Info, "fanned out", [("customers", "8")]);
    /// assert_eq!(reply.logs()[0].fields["customers"], "8");
    /// ```
    pub fn log_with<K, V>(
        self,
        level: Level,
        message: impl Into<String>,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: Into<String>,
        V: ToString,
    {
        let entry = fields
            .into_iter()
            .fold(LogEntry::new(level, message), |entry, (k, v)| {
                entry.field(k, v)
            });
        self.log_entry(entry)
    }

    /// Adds a prepared log line.
    pub fn log_entry(mut self, entry: LogEntry) -> Self {
        self.logs.push(entry);
        self
    }

    /// The outcome.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// True for [`Outcome::Done`].
    pub fn is_done(&self) -> bool {
        self.outcome == Outcome::Done
    }

    /// The messages to publish.
    pub fn published(&self) -> &[Outgoing] {
        &self.publish
    }

    /// The log lines.
    pub fn logs(&self) -> &[LogEntry] {
        &self.logs
    }

    pub(crate) fn into_parts(self) -> (Outcome, Vec<Outgoing>, Vec<LogEntry>) {
        (self.outcome, self.publish, self.logs)
    }
}

#[cfg(test)]
mod tests;
