//! [`Reference`]: the conformance reference behaviour (see `tests/conformance/README.md`).

use std::time::Duration;

use ferry_sdk::{Handler, Level, Message, Outgoing, Reply};

/// The attribute naming the expected outcome: `done`, `retry`, `dead_letter` or `sleep`.
pub const EXPECT_ATTR: &str = "conformance.expect";
/// The retry or dead-letter reason to answer with.
pub const REASON_ATTR: &str = "conformance.reason";
/// The retry delay to ask for, in milliseconds.
pub const DELAY_ATTR: &str = "conformance.delay_ms";
/// How long `sleep` sleeps, in milliseconds.
pub const SLEEP_ATTR: &str = "conformance.sleep_ms";
/// Where the `done` echo message is published.
pub const ECHO_DESTINATION: &str = "conformance.echo";

/// The reference worker.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reference;

impl Handler for Reference {
    async fn handle(&self, msg: Message) -> Reply {
        reference(&msg).await
    }
}

/// Answers `msg` as the reference behaviour says. (The deadline is the SDK's job: it stops
/// the handler at the message's deadline and answers retry.)
pub async fn reference(msg: &Message) -> Reply {
    let reason = || msg.attribute(REASON_ATTR).unwrap_or_default().to_owned();
    let millis = |attr: &str| {
        msg.attribute(attr)
            .map(|v| v.parse::<u64>().map(Duration::from_millis))
    };
    match msg.attribute(EXPECT_ATTR).unwrap_or_default() {
        "done" => done(msg),
        "retry" => match millis(DELAY_ATTR) {
            None => Reply::retry(reason()),
            Some(Ok(delay)) => Reply::retry(reason()).after(delay),
            Some(Err(e)) => Reply::dead_letter(format!("{DELAY_ATTR}: {e}")),
        },
        "dead_letter" => Reply::dead_letter(reason()),
        "sleep" => match millis(SLEEP_ATTR).unwrap_or(Ok(Duration::ZERO)) {
            Ok(sleep) => {
                tokio::time::sleep(sleep).await;
                done(msg)
            }
            Err(e) => Reply::dead_letter(format!("{SLEEP_ATTR}: {e}")),
        },
        other => Reply::dead_letter(format!("unknown {EXPECT_ATTR}: {other}")),
    }
}

/// Done, echoing the message to [`ECHO_DESTINATION`] with one log line.
fn done(msg: &Message) -> Reply {
    let mut echo = msg.attributes.iter().fold(
        Outgoing::new(ECHO_DESTINATION, msg.payload.clone()),
        |o, (k, v)| o.attribute(k, v),
    );
    if let Some(realm) = &msg.realm {
        echo = echo.realm(realm);
    }
    let fields = [
        ("message_id", msg.id.clone()),
        ("attempt", msg.attempt.to_string()),
        ("payload_bytes", msg.payload.len().to_string()),
    ];
    Reply::done()
        .publish(echo)
        .log_with(Level::Info, "conformance done", fields)
}

#[cfg(test)]
mod tests;
