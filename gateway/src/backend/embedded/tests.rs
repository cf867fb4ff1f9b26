//! Unit tests of the embedded queue's storage semantics (the behaviour through ferry is
//! covered by the conformance suite in `tests/`).

use std::time::{Duration, SystemTime};

use super::*;
use crate::backend::{Backend, DeadLetterStory, Failure, NewMessage};

async fn open() -> (tempfile::TempDir, EmbeddedBackend) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmbeddedConfig {
        path: dir.path().join("q.db"),
        ..EmbeddedConfig::default()
    };
    let b = EmbeddedBackend::open(&cfg).await.unwrap();
    (dir, b)
}

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn receive_leases_and_counts_attempts() {
    let (_d, b) = open().await;
    b.publish(vec![NewMessage::new("q", "a").attribute("k", "v")])
        .await
        .unwrap();
    let got = b.receive("q", 10, LEASE, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attempt, 1);
    assert_eq!(got[0].attributes["k"], "v");
    // Leased: not visible to a second receive.
    assert!(
        b.receive("q", 10, LEASE, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    // Counted release: attempt 2 next time. Uncounted: stays 2.
    let f = Failure {
        last_error: "boom".into(),
        first_at: SystemTime::now(),
        last_at: SystemTime::now(),
    };
    b.release("q", &got[0].receipt, Duration::ZERO, Some(&f))
        .await
        .unwrap();
    let got = b.receive("q", 10, LEASE, Duration::ZERO).await.unwrap();
    assert_eq!(got[0].attempt, 2);
    assert_eq!(got[0].failures.as_ref().unwrap().last_error, "boom");
    b.release("q", &got[0].receipt, Duration::ZERO, None)
        .await
        .unwrap();
    let got = b.receive("q", 10, LEASE, Duration::ZERO).await.unwrap();
    assert_eq!(got[0].attempt, 2);
    b.ack("q", &got[0].receipt).await.unwrap();
    assert!(
        b.receive("q", 10, LEASE, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn stale_receipts_cannot_settle() {
    let (_d, b) = open().await;
    b.publish(vec![NewMessage::new("q", "a")]).await.unwrap();
    let first = b
        .receive("q", 1, Duration::from_millis(1), Duration::ZERO)
        .await
        .unwrap();
    // The 1 ms lease lapses; a waiting receive then gets the message again.
    let second = b
        .receive("q", 1, LEASE, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        second.len(),
        1,
        "an expired lease makes the message ready again"
    );
    assert!(matches!(
        b.ack("q", &first[0].receipt).await,
        Err(crate::backend::BackendError::LeaseLost(_))
    ));
    b.ack("q", &second[0].receipt).await.unwrap();
}

#[tokio::test]
async fn delayed_messages_wait_for_their_due_time() {
    let (_d, b) = open().await;
    let mut m = NewMessage::new("q", "later");
    m.deliver_at = Some(SystemTime::now() + Duration::from_secs(3600));
    b.publish(vec![m]).await.unwrap();
    assert!(
        b.receive("q", 1, LEASE, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    let s = b.stats().unwrap().stats("q", "q-errors").await.unwrap();
    assert_eq!((s.ready, s.delayed), (0, 1));
}

#[tokio::test]
async fn dedup_ids_drop_second_publish() {
    let (_d, b) = open().await;
    let mut m = NewMessage::new("q", "x");
    m.dedup_id = Some("d1".into());
    let first = b.publish(vec![m.clone()]).await.unwrap();
    let again = b.publish(vec![m]).await.unwrap();
    assert_eq!(first, again);
    let s = b.stats().unwrap().stats("q", "q-errors").await.unwrap();
    assert_eq!(s.ready, 1);
}

#[tokio::test]
async fn dead_letter_and_redrive_round_trip() {
    let (_d, b) = open().await;
    b.publish(vec![NewMessage::new("q", "poison").attribute("k", "v")])
        .await
        .unwrap();
    let got = b.receive("q", 1, LEASE, Duration::ZERO).await.unwrap();
    let now = SystemTime::now();
    let story = DeadLetterStory {
        source_queue: "q".into(),
        subscription: "s".into(),
        message_id: got[0].id.clone(),
        attempts: 1,
        reason: "worker".into(),
        last_error: "bad".into(),
        first_failure_at: now,
        last_failure_at: now,
    };
    b.dead_letter(&got[0], "q-errors", &story).await.unwrap();
    let admin = b.dead_letters().unwrap();
    let dl = admin.list("q-errors", 10).await.unwrap();
    assert_eq!(dl.len(), 1);
    assert_eq!(&dl[0].payload[..], b"poison");
    assert_eq!(dl[0].attributes["k"], "v");
    assert_eq!(dl[0].attributes["ferry.dlq.last_error"], "bad");
    assert_eq!(admin.redrive("q-errors", "q", 10).await.unwrap(), 1);
    let back = b.receive("q", 1, LEASE, Duration::ZERO).await.unwrap();
    assert_eq!(back[0].attempt, 1);
    assert_eq!(back[0].id, got[0].id);
    assert!(
        !back[0]
            .attributes
            .keys()
            .any(|k| k.starts_with("ferry.dlq."))
    );
}

#[tokio::test]
async fn undecodable_attributes_are_reported_not_dropped() {
    let (_d, b) = open().await;
    b.execute_sql("INSERT INTO messages (queue, id, payload, attributes, published_at, visible_at) VALUES ('q', 'raw', x'00', '{oops', 0, 0)".into()).await.unwrap();
    let got = b.receive("q", 1, LEASE, Duration::ZERO).await.unwrap();
    assert!(
        got[0]
            .malformed
            .as_deref()
            .unwrap()
            .contains("not a JSON object")
    );
}

#[tokio::test]
async fn two_handles_on_one_file_never_lease_a_message_twice() {
    let (d, a) = open().await;
    let cfg = EmbeddedConfig {
        path: d.path().join("q.db"),
        ..EmbeddedConfig::default()
    };
    let b = EmbeddedBackend::open(&cfg).await.unwrap();
    let msgs = (0..200)
        .map(|i| NewMessage::new("q", format!("{i}")))
        .collect();
    a.publish(msgs).await.unwrap();
    let (ra, rb) = tokio::join!(drain(&a), drain(&b));
    let mut all: Vec<String> = ra.into_iter().chain(rb).collect();
    assert_eq!(all.len(), 200);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 200, "a message was leased by both handles");
}

async fn drain(b: &EmbeddedBackend) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let got = b.receive("q", 7, LEASE, Duration::ZERO).await.unwrap();
        if got.is_empty() {
            return ids;
        }
        ids.extend(got.into_iter().map(|m| m.id));
    }
}

/// The receive query reads the due index, in order, however many messages wait.
#[test]
fn the_receive_query_uses_the_due_index() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("q.db")).unwrap();
    conn.execute_batch(super::schema::SCHEMA).unwrap();
    let plan: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", super::ops::RECEIVE))
        .unwrap()
        .query_map(rusqlite::params!["q", 0, 10], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let text = plan.join("; ");
    assert!(
        text.contains("USING INDEX messages_due (queue=? AND visible_at<?)"),
        "{text}"
    );
    assert!(
        !text.contains("TEMP B-TREE"),
        "sorted by the index, not afterwards: {text}"
    );
}
