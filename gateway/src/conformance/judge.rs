//! Judges a worker's answer against a vector's expectations. Pure functions over the
//! request sent, the answer (a `HandleResponse` or a gRPC status) and the time it took;
//! every problem found is named, so one fail line says everything that was wrong.

use std::{collections::BTreeMap, time::Duration};

use ferry_proto::v1::{
    HandleRequest, HandleResponse, LogLevel, LogLine, OutgoingMessage, handle_response,
};
use tonic::{Code, Status};

use super::vectors::{Expect, LevelName, LogSpec, Outcome};

/// The destination of the reference behaviour's echo message.
pub const ECHO_DESTINATION: &str = "conformance.echo";

/// Checks a `Handle` answer. `Err` lists every mismatch, separated by `; `.
pub fn judge_handle(
    expect: &Expect,
    request: &HandleRequest,
    answer: &Result<HandleResponse, Status>,
    elapsed: Duration,
) -> Result<(), String> {
    let mut problems = Vec::new();
    if let Some(min) = expect.min_ms
        && elapsed < Duration::from_millis(min)
    {
        problems.push(format!(
            "answered after {} ms, sooner than the {min} ms it must take",
            elapsed.as_millis()
        ));
    }
    match answer {
        Err(status) => {
            let deadline_codes = [Code::DeadlineExceeded, Code::Cancelled];
            if expect.outcome != Outcome::RetryOrDeadline
                || !deadline_codes.contains(&status.code())
            {
                problems.push(format!(
                    "expected {}, got gRPC status {:?}: {}",
                    outcome_name(expect.outcome),
                    status.code(),
                    status.message()
                ));
            }
        }
        Ok(response) => judge_response(expect, request, response, &mut problems),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "done",
        Outcome::Retry => "retry",
        Outcome::DeadLetter => "dead_letter",
        Outcome::RetryOrDeadline => "retry (or DEADLINE_EXCEEDED / CANCELLED)",
    }
}

fn judge_response(
    expect: &Expect,
    request: &HandleRequest,
    response: &HandleResponse,
    problems: &mut Vec<String>,
) {
    let (got, reason, delay) = match &response.outcome {
        None => ("no outcome", None, None),
        Some(handle_response::Outcome::Done(_)) => ("done", None, None),
        Some(handle_response::Outcome::Retry(r)) => ("retry", Some(&r.reason), Some(r.delay)),
        Some(handle_response::Outcome::DeadLetter(d)) => ("dead_letter", Some(&d.reason), None),
    };
    let wanted = match expect.outcome {
        Outcome::RetryOrDeadline => "retry",
        other => outcome_name(other),
    };
    if got != wanted {
        let why = reason.map(|r| format!(" ({r:?})")).unwrap_or_default();
        problems.push(format!(
            "expected outcome {}, got {got}{why}",
            outcome_name(expect.outcome)
        ));
        return;
    }
    if let (Some(want), Some(reason)) = (&expect.reason, reason)
        && want != reason
    {
        problems.push(format!("expected reason {want:?}, got {reason:?}"));
    }
    if let (Some(want), Some(delay)) = (expect.delay_ms, delay) {
        match delay.map(delay_ms) {
            None => problems.push(format!("expected delay {want} ms, got no delay")),
            Some(Some(ms)) if ms == want => {}
            Some(got) => problems.push(format!(
                "expected delay {want} ms, got {}",
                got.map_or("an invalid duration".to_owned(), |ms| format!("{ms} ms"))
            )),
        }
    }
    if expect.echo {
        judge_echo(request, &response.publish, problems);
    } else if !response.publish.is_empty() {
        problems.push(format!(
            "published {} message(s), expected none",
            response.publish.len()
        ));
    }
    if let Some(log) = &expect.log {
        judge_log(log, &response.logs, problems);
    }
}

/// A protobuf duration in whole milliseconds; `None` when negative or not whole.
fn delay_ms(d: prost_types::Duration) -> Option<u64> {
    let nanos = u64::try_from(d.nanos).ok()?;
    let secs = u64::try_from(d.seconds).ok()?;
    nanos
        .is_multiple_of(1_000_000)
        .then(|| secs * 1000 + nanos / 1_000_000)
}

fn judge_echo(request: &HandleRequest, publish: &[OutgoingMessage], problems: &mut Vec<String>) {
    let [echo] = publish else {
        problems.push(format!(
            "expected exactly one echo message, got {} published",
            publish.len()
        ));
        return;
    };
    if echo.destination != ECHO_DESTINATION {
        problems.push(format!(
            "echo destination is {:?}, expected {ECHO_DESTINATION:?}",
            echo.destination
        ));
    }
    if let Some(diff) = first_difference(&echo.payload, &request.payload) {
        problems.push(format!(
            "echo payload differs: {} bytes, expected {} bytes, first difference at byte {diff}",
            echo.payload.len(),
            request.payload.len()
        ));
    }
    let got: BTreeMap<_, _> = echo.attributes.iter().collect();
    let want: BTreeMap<_, _> = request.attributes.iter().collect();
    if got != want {
        let missing: Vec<_> = want
            .iter()
            .filter(|(k, v)| got.get(*k) != Some(v))
            .collect();
        let extra: Vec<_> = got
            .iter()
            .filter(|(k, v)| want.get(*k) != Some(v))
            .collect();
        problems.push(format!(
            "echo attributes differ: expected but missing or changed {missing:?}, unexpected {extra:?}"
        ));
    }
    if echo.realm != request.realm {
        problems.push(format!(
            "echo realm is {:?}, expected {:?}",
            echo.realm, request.realm
        ));
    }
    if echo.schedule.is_some() || !echo.deduplication_id.is_empty() || !echo.ordering_key.is_empty()
    {
        problems.push(
            "the echo must have no delay, deliver_at, deduplication_id or ordering_key".into(),
        );
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

fn level_matches(want: LevelName, got: i32) -> bool {
    let got = LogLevel::try_from(got).unwrap_or(LogLevel::Unspecified);
    matches!(
        (want, got),
        (LevelName::Debug, LogLevel::Debug)
            | (LevelName::Info, LogLevel::Info | LogLevel::Unspecified)
            | (LevelName::Warn, LogLevel::Warn)
            | (LevelName::Error, LogLevel::Error)
    )
}

fn judge_log(want: &LogSpec, logs: &[LogLine], problems: &mut Vec<String>) {
    let found = logs.iter().any(|line| {
        level_matches(want.level, line.level)
            && line.message == want.message
            && line.fields.iter().collect::<BTreeMap<_, _>>()
                == want.fields.iter().collect::<BTreeMap<_, _>>()
    });
    if !found {
        let got: Vec<String> = logs
            .iter()
            .map(|l| {
                let fields: BTreeMap<_, _> = l.fields.iter().collect();
                format!("{:?} {:?} {fields:?}", l.level(), l.message)
            })
            .collect();
        problems.push(format!(
            "no log line {:?} {:?} with fields {:?}; got [{}]",
            want.level,
            want.message,
            want.fields,
            got.join(", ")
        ));
    }
}
