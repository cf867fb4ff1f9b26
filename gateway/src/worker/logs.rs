//! Turns the worker's `LogLine`s (from a `HandleResponse` or `GatewayService.Log`) into
//! `worker.log` events in the standard shape.

use std::{collections::BTreeMap, time::SystemTime};

use ferry_proto::v1::{LogLevel, LogLine};

use crate::telemetry::{MessageContext, Telemetry, events};

fn level_name(level: i32) -> &'static str {
    match LogLevel::try_from(level).unwrap_or(LogLevel::Unspecified) {
        LogLevel::Debug => "debug",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
        LogLevel::Info | LogLevel::Unspecified => "info",
    }
}

fn valid_field(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Emits each line tagged with `ctx`. Field keys that are not `[A-Za-z0-9_.-]{1,64}` are
/// dropped from the line (the line itself is kept).
pub fn emit_log_lines(telemetry: &Telemetry, ctx: Option<&MessageContext>, lines: Vec<LogLine>) {
    for line in lines {
        let fields: BTreeMap<String, String> = line
            .fields
            .into_iter()
            .filter(|(k, _)| valid_field(k))
            .collect();
        let time = line.time.and_then(|t| SystemTime::try_from(t).ok());
        telemetry.emit(events::WorkerLog {
            ctx,
            level: level_name(line.level),
            message: &line.message,
            fields: &fields,
            time,
        });
    }
}
