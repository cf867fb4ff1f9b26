//! Unit tests for [`Reply`](super::Reply) builders.

use std::time::Duration;

use super::{Level, Outcome, Reply};
use crate::outgoing::Outgoing;

#[test]
fn after_sets_the_delay_of_a_retry_only() {
    let retry = Reply::retry("busy").after(Duration::from_secs(5));
    assert_eq!(
        retry.outcome(),
        &Outcome::Retry {
            reason: "busy".into(),
            delay: Some(Duration::from_secs(5))
        }
    );
    assert_eq!(
        Reply::done().after(Duration::from_secs(5)).outcome(),
        &Outcome::Done
    );
    assert_eq!(
        Reply::dead_letter("bad")
            .after(Duration::from_secs(5))
            .outcome(),
        &Outcome::DeadLetter {
            reason: "bad".into()
        }
    );
}

#[test]
fn publish_and_log_accumulate_in_order() {
    let reply = Reply::done()
        .publish(Outgoing::new("a", "1"))
        .publish_all([Outgoing::new("b", "2"), Outgoing::new("c", "3")])
        .log(Level::Info, "first")
        .log_with(Level::Warn, "second", [("count", 2)]);
    assert!(reply.is_done());
    let destinations: Vec<_> = reply
        .published()
        .iter()
        .map(|m| m.destination.as_str())
        .collect();
    assert_eq!(destinations, ["a", "b", "c"]);
    assert_eq!(reply.logs().len(), 2);
    assert_eq!(reply.logs()[1].level, Level::Warn);
    assert_eq!(reply.logs()[1].fields["count"], "2");
}
