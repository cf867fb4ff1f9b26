//! Unit tests for the customer sender: one mail per customer and blast even when handled
//! twice, skips, and the error paths.

use std::path::PathBuf;
use std::sync::Mutex;

use ferry_sdk::{Message, Outcome, Reply};
use tempfile::TempDir;

use super::{CustomerSender, Skip};
use crate::directory::Directory;
use crate::ledger::Ledger;
use crate::messages::CustomerTask;
use crate::template::Template;
use crate::transport::{Delivery, Mail, MailTransport, OutboxTransport, TransportError};

const SHIPPED_DIRECTORY: &str = include_str!("../../data/directory.json");

struct Setup {
    _dir: TempDir,
    sender: CustomerSender,
    activities: Ledger,
}

fn directory_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/directory.json")
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let activities = Ledger::new(dir.path().join("activities.jsonl"));
    let outbox = OutboxTransport::new(dir.path().join("outbox.jsonl"));
    let sender = CustomerSender::new(directory_path(), outbox, activities.clone());
    Setup {
        _dir: dir,
        sender,
        activities,
    }
}

fn task_message(customer: &str) -> Message {
    Message::json(&CustomerTask {
        blast_id: "storm".into(),
        account_id: "acct-harbor".into(),
        customer_id: customer.into(),
        template: Template {
            subject: "Hi {{name}}".into(),
            body: "To {{email}}".into(),
        },
    })
    .unwrap()
}

fn log_text(reply: &Reply) -> &str {
    &reply.logs()[0].message
}

#[tokio::test]
async fn a_customer_handled_twice_is_mailed_once() {
    let s = setup();
    let first = s.sender.process(&task_message("cust-001")).await;
    let again = s.sender.process(&task_message("cust-001")).await;
    assert!(first.is_done() && again.is_done());
    assert_eq!(log_text(&first), "mailed customer cust-001");
    assert!(log_text(&again).contains("already mailed"), "{again:?}");
    let outbox = s.sender.transport().outbox().records().unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0]["key"], "blast/storm/customer/cust-001");
    assert_eq!(outbox[0]["subject"], "Hi Ann Lee");
    assert_eq!(outbox[0]["body"], "To ann.lee@example.com");
    assert_eq!(s.activities.records().unwrap().len(), 1);
}

#[tokio::test]
async fn inactive_opted_out_invalid_and_unknown_customers_are_skipped() {
    let s = setup();
    for (customer, reason) in [
        ("cust-004", "customer is not active"),
        ("cust-005", "customer opted out"),
        ("cust-006", "invalid e-mail address"),
        ("cust-999", "unknown customer"),
    ] {
        let reply = s.sender.process(&task_message(customer)).await;
        assert!(reply.is_done(), "{customer}: {reply:?}");
        assert_eq!(reply.logs()[0].fields["skip_reason"], reason);
    }
    assert!(s.sender.transport().outbox().records().unwrap().is_empty());
    assert!(s.activities.records().unwrap().is_empty());
}

#[test]
fn skip_checks_in_order() {
    let dir = Directory::from_json(SHIPPED_DIRECTORY).unwrap();
    assert_eq!(
        Skip::check(dir.customer("cust-004")).unwrap_err(),
        Skip::Inactive
    );
    assert!(Skip::check(dir.customer("cust-001")).is_ok());
}

#[tokio::test]
async fn a_crash_after_sending_records_the_activity_on_redelivery() {
    let s = setup();
    // The mail went out, then the worker died before recording the activity.
    let outbox = s.sender.transport().outbox();
    outbox
        .append_once_blocking("blast/storm/customer/cust-002", &serde_json::json!({}))
        .unwrap();
    let reply = s.sender.process(&task_message("cust-002")).await;
    assert!(reply.is_done());
    assert!(log_text(&reply).contains("already mailed"));
    assert_eq!(outbox.records().unwrap().len(), 1);
    assert_eq!(
        s.activities.records().unwrap()[0]["customer_id"],
        "cust-002"
    );
}

#[tokio::test]
async fn malformed_tasks_are_dead_lettered() {
    let s = setup();
    for payload in ["{", r#"{"blast_id":"b"}"#] {
        let reply = s.sender.process(&Message::new(payload)).await;
        assert!(
            matches!(reply.outcome(), Outcome::DeadLetter { .. }),
            "{reply:?}"
        );
    }
    let mut bad = task_message("cust-001");
    bad.payload = bad.payload_str().unwrap().replace("storm", "st/orm").into();
    let reply = s.sender.process(&bad).await;
    assert!(
        matches!(reply.outcome(), Outcome::DeadLetter { .. }),
        "{reply:?}"
    );
}

/// A transport that fails as told and remembers what it was asked to send.
struct Failing {
    error: fn(String) -> TransportError,
    asked: Mutex<Vec<String>>,
}

impl MailTransport for Failing {
    async fn send(&self, mail: &Mail) -> Result<Delivery, TransportError> {
        self.asked.lock().unwrap().push(mail.to.clone());
        Err((self.error)("provider says no".into()))
    }
}

#[tokio::test]
async fn transport_failures_retry_or_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let activities = Ledger::new(dir.path().join("activities.jsonl"));
    for (error, retry) in [
        (
            TransportError::Unavailable as fn(String) -> TransportError,
            true,
        ),
        (TransportError::Rejected, false),
    ] {
        let transport = Failing {
            error,
            asked: Mutex::new(Vec::new()),
        };
        let sender = CustomerSender::new(directory_path(), transport, activities.clone());
        let reply = sender.process(&task_message("cust-003")).await;
        let is_retry = matches!(reply.outcome(), Outcome::Retry { .. });
        assert_eq!(is_retry, retry, "{reply:?}");
        assert_eq!(
            sender.transport().asked.lock().unwrap().as_slice(),
            ["carla+alerts@mail.example.net"]
        );
    }
    assert!(activities.records().unwrap().is_empty());
}

#[tokio::test]
async fn an_unreadable_directory_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let sender = CustomerSender::new(
        "/nonexistent/directory.json",
        OutboxTransport::new(dir.path().join("outbox.jsonl")),
        Ledger::new(dir.path().join("activities.jsonl")),
    );
    let reply = sender.process(&task_message("cust-001")).await;
    assert!(
        matches!(reply.outcome(), Outcome::Retry { .. }),
        "{reply:?}"
    );
}
