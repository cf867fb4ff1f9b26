//! Unit tests for the outbox transport's idempotency.

use super::{Delivery, Mail, MailTransport, OutboxTransport};

fn mail(key: &str) -> Mail {
    Mail {
        idempotency_key: key.into(),
        account_id: "acct".into(),
        to: "ann@example.com".into(),
        subject: "s".into(),
        body: "b".into(),
    }
}

#[tokio::test]
async fn the_same_key_is_sent_once() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = OutboxTransport::new(dir.path().join("outbox.jsonl"));
    assert_eq!(
        outbox.send(&mail("blast/b/customer/c")).await.unwrap(),
        Delivery::Sent
    );
    assert_eq!(
        outbox.send(&mail("blast/b/customer/c")).await.unwrap(),
        Delivery::AlreadySent
    );
    assert_eq!(
        outbox.send(&mail("blast/b/customer/d")).await.unwrap(),
        Delivery::Sent
    );
    let lines = outbox.outbox().records().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["key"], "blast/b/customer/c");
    assert_eq!(lines[0]["to"], "ann@example.com");
    assert!(lines[0]["sent_at_ms"].as_u64().is_some());
}

#[tokio::test]
async fn an_unwritable_outbox_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: opening it for appending fails.
    let outbox = OutboxTransport::new(dir.path());
    let err = outbox.send(&mail("k")).await.unwrap_err();
    assert!(
        matches!(err, super::TransportError::Unavailable(_)),
        "{err}"
    );
}
