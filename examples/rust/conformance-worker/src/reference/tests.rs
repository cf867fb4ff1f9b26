//! Unit tests of the reference behaviour (the wire-level check is `ferry conformance`, run
//! against this worker by `tests/tests/worker_conformance.rs`).

use std::collections::HashMap;
use std::time::Duration;

use ferry_sdk::{Message, Outcome};

use super::*;

fn msg(attrs: &[(&str, &str)]) -> Message {
    Message {
        attributes: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
        id: "m1".into(),
        realm: Some("r".into()),
        ..Message::new("héllo")
    }
}

#[tokio::test]
async fn done_echoes_the_message_and_logs_it() {
    let m = msg(&[(EXPECT_ATTR, "done"), ("ключ", "значение")]);
    let reply = reference(&m).await;
    assert!(reply.is_done());
    let [echo] = reply.published() else {
        panic!("one echo expected: {reply:?}")
    };
    assert_eq!(echo.destination, ECHO_DESTINATION);
    assert_eq!(echo.payload, m.payload);
    assert_eq!(echo.attributes, m.attributes);
    assert_eq!(echo.realm.as_deref(), Some("r"));
    let fields = &reply.logs()[0].fields;
    assert_eq!(fields["payload_bytes"], "6");
    assert_eq!(fields["message_id"], "m1");
    assert_eq!(fields["attempt"], "1");
}

#[tokio::test]
async fn retry_dead_letter_and_unknown_answer_as_told() {
    let retry = reference(&msg(&[
        (EXPECT_ATTR, "retry"),
        (REASON_ATTR, "busy"),
        (DELAY_ATTR, "1500"),
    ]))
    .await;
    assert_eq!(
        retry.outcome(),
        &Outcome::Retry {
            reason: "busy".into(),
            delay: Some(Duration::from_millis(1500))
        }
    );
    let dead = reference(&msg(&[(EXPECT_ATTR, "dead_letter"), (REASON_ATTR, "bad")])).await;
    assert_eq!(
        dead.outcome(),
        &Outcome::DeadLetter {
            reason: "bad".into()
        }
    );
    let unknown = reference(&msg(&[(EXPECT_ATTR, "teleport")])).await;
    assert_eq!(
        unknown.outcome(),
        &Outcome::DeadLetter {
            reason: "unknown conformance.expect: teleport".into()
        }
    );
    let bad_delay = reference(&msg(&[(EXPECT_ATTR, "retry"), (DELAY_ATTR, "soon")])).await;
    assert!(
        matches!(bad_delay.outcome(), Outcome::DeadLetter { reason } if reason.contains(DELAY_ATTR))
    );
    assert!(reply_publishes_nothing(&[retry, dead, unknown]));
}

fn reply_publishes_nothing(replies: &[ferry_sdk::Reply]) -> bool {
    replies.iter().all(|r| r.published().is_empty())
}
