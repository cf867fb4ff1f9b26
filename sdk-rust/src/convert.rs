//! Conversions between the SDK's types and the generated protocol messages
//! (`HandleRequest` → [`Message`], [`Reply`] → `HandleResponse`, [`Outgoing`] →
//! `OutgoingMessage`, [`LogEntry`] → `LogLine`).

use std::time::{Duration, SystemTime};

use ferry_proto::v1 as pb;

use crate::message::{Message, TraceContext};
use crate::outgoing::{Outgoing, Schedule};
use crate::reply::{Level, LogEntry, Outcome, Reply};

impl From<pb::HandleRequest> for Message {
    fn from(req: pb::HandleRequest) -> Self {
        let trace = req.trace.unwrap_or_default();
        Message {
            payload: req.payload,
            attributes: req.attributes,
            id: req.message_id,
            attempt: req.attempt,
            max_attempts: req.max_attempts,
            realm: Some(req.realm).filter(|r| !r.is_empty()),
            subscription: req.subscription,
            queue: req.queue,
            trace: TraceContext {
                traceparent: trace.traceparent,
                tracestate: trace.tracestate,
            },
            deadline: req.deadline.and_then(system_time),
            published_at: req.published_at.and_then(system_time),
        }
    }
}

impl From<Reply> for pb::HandleResponse {
    fn from(reply: Reply) -> Self {
        let (outcome, publish, logs) = reply.into_parts();
        let outcome = match outcome {
            Outcome::Done => pb::handle_response::Outcome::Done(pb::Done {}),
            Outcome::Retry { reason, delay } => pb::handle_response::Outcome::Retry(pb::Retry {
                reason,
                delay: delay.map(proto_duration),
            }),
            Outcome::DeadLetter { reason } => {
                pb::handle_response::Outcome::DeadLetter(pb::DeadLetter { reason })
            }
        };
        pb::HandleResponse {
            outcome: Some(outcome),
            publish: publish.into_iter().map(Into::into).collect(),
            logs: logs.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Outgoing> for pb::OutgoingMessage {
    fn from(msg: Outgoing) -> Self {
        let schedule = msg.schedule.map(|s| match s {
            Schedule::Delay(d) => pb::outgoing_message::Schedule::Delay(proto_duration(d)),
            Schedule::At(t) => pb::outgoing_message::Schedule::DeliverAt(t.into()),
        });
        pb::OutgoingMessage {
            destination: msg.destination,
            payload: msg.payload,
            attributes: msg.attributes,
            realm: msg.realm.unwrap_or_default(),
            schedule,
            deduplication_id: msg.dedup_id.unwrap_or_default(),
            ordering_key: msg.ordering_key.unwrap_or_default(),
        }
    }
}

impl From<LogEntry> for pb::LogLine {
    fn from(entry: LogEntry) -> Self {
        pb::LogLine {
            level: pb::LogLevel::from(entry.level).into(),
            message: entry.message,
            fields: entry.fields,
            time: Some(entry.time.into()),
        }
    }
}

impl From<Level> for pb::LogLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Debug => pb::LogLevel::Debug,
            Level::Info => pb::LogLevel::Info,
            Level::Warn => pb::LogLevel::Warn,
            Level::Error => pb::LogLevel::Error,
        }
    }
}

/// A protobuf duration; durations beyond its range (about 292 billion years) saturate.
pub(crate) fn proto_duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration::try_from(d).unwrap_or(prost_types::Duration {
        seconds: i64::MAX,
        nanos: 999_999_999,
    })
}

/// A wall-clock time from a protobuf timestamp; `None` when it is out of range.
pub(crate) fn system_time(ts: prost_types::Timestamp) -> Option<SystemTime> {
    SystemTime::try_from(ts).ok()
}

#[cfg(test)]
mod tests;
