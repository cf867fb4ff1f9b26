//! Unit tests for the list sender: de-duplication, deterministic fan-out ids, account
//! checks, and malformed input.

use ferry_sdk::{Message, Outcome, Reply};

use super::{ListSender, Rejection, fan_out, plan};
use crate::directory::Directory;
use crate::messages::{BlastRequest, CUSTOMER_QUEUE, CustomerTask};
use crate::template::Template;

const SHIPPED_DIRECTORY: &str = include_str!("../../data/directory.json");
const SHIPPED_BLAST: &str = include_str!("../../data/blast.json");
const LAPSED_BLAST: &str = include_str!("../../data/blast-lapsed-account.json");

fn directory() -> Directory {
    Directory::from_json(SHIPPED_DIRECTORY).unwrap()
}

fn request(account: &str, ids: &[&str]) -> BlastRequest {
    BlastRequest {
        blast_id: "b1".into(),
        account_id: account.into(),
        template: Template {
            subject: "s".into(),
            body: "b".into(),
        },
        customer_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
    }
}

fn dead_letter_reason(reply: &Reply) -> &str {
    match reply.outcome() {
        Outcome::DeadLetter { reason } => reason,
        other => panic!("expected dead-letter, got {other:?}"),
    }
}

#[test]
fn duplicate_ids_are_fanned_out_once_in_first_seen_order() {
    let plan = plan(
        &directory(),
        &request("acct-harbor", &["c3", "c1", "c3", "c2", "c1"]),
    )
    .unwrap();
    let ids: Vec<_> = plan.tasks.iter().map(|t| t.customer_id.as_str()).collect();
    assert_eq!(ids, ["c3", "c1", "c2"]);
    assert_eq!(plan.duplicates, 2);
}

#[test]
fn the_shipped_blast_fans_out_ten_customers() {
    let reply = fan_out(&directory(), &Message::new(SHIPPED_BLAST));
    assert!(reply.is_done());
    assert_eq!(reply.published().len(), 10);
    let log = &reply.logs()[0];
    assert_eq!(log.fields["requested"], "13");
    assert_eq!(log.fields["queued"], "10");
    assert_eq!(log.fields["duplicates"], "3");
}

#[test]
fn each_fan_out_message_carries_realm_dedup_id_and_task() {
    let reply = fan_out(&directory(), &Message::new(SHIPPED_BLAST));
    let first = &reply.published()[0];
    assert_eq!(first.destination, CUSTOMER_QUEUE);
    assert_eq!(first.realm.as_deref(), Some("acct-harbor"));
    assert_eq!(
        first.dedup_id.as_deref(),
        Some("blast/storm-2024-09/customer/cust-001")
    );
    let task: CustomerTask = serde_json::from_slice(&first.payload).unwrap();
    assert_eq!(task.customer_id, "cust-001");
    assert_eq!(task.template.subject, "{{name}}, our storm hotline is open");
}

#[test]
fn the_same_list_message_handled_twice_yields_identical_dedup_ids() {
    let dir = directory();
    let first = Message {
        id: "m1".into(),
        attempt: 1,
        ..Message::new(SHIPPED_BLAST)
    };
    let again = Message {
        attempt: 2,
        ..first.clone()
    };
    let ids = |reply: Reply| -> Vec<Option<String>> {
        reply
            .published()
            .iter()
            .map(|m| m.dedup_id.clone())
            .collect()
    };
    let (a, b) = (ids(fan_out(&dir, &first)), ids(fan_out(&dir, &again)));
    assert_eq!(a, b);
    assert!(a.iter().all(Option::is_some));
}

#[test]
fn an_inactive_account_is_dead_lettered() {
    let reply = fan_out(&directory(), &Message::new(LAPSED_BLAST));
    assert_eq!(
        dead_letter_reason(&reply),
        "account acct-lapsed is not active"
    );
    assert!(reply.published().is_empty());
}

#[test]
fn unknown_accounts_and_missing_credit_are_refused() {
    let dir = directory();
    assert_eq!(
        plan(&dir, &request("acct-nobody", &["c1"])).unwrap_err(),
        Rejection::UnknownAccount("acct-nobody".into())
    );
    // acct-small has 2 credit: three distinct customers are too many, duplicates are free.
    assert!(plan(&dir, &request("acct-small", &["c1", "c2", "c1"])).is_ok());
    assert_eq!(
        plan(&dir, &request("acct-small", &["c1", "c2", "c3"])).unwrap_err(),
        Rejection::NoCredit {
            account: "acct-small".into(),
            credit: 2,
            needed: 3
        }
    );
}

#[test]
fn malformed_json_is_dead_lettered_with_the_reason() {
    let reply = fan_out(&directory(), &Message::new(r#"{"blast_id": "b1"}"#));
    assert!(
        dead_letter_reason(&reply).contains("missing field"),
        "{reply:?}"
    );
    let reply = fan_out(&directory(), &Message::new("not json"));
    assert!(
        dead_letter_reason(&reply).contains("BlastRequest"),
        "{reply:?}"
    );
}

#[test]
fn ambiguous_ids_are_refused_or_left_out() {
    let dir = directory();
    let mut bad_blast = request("acct-harbor", &["c1"]);
    bad_blast.blast_id = "a/b".into();
    assert!(matches!(plan(&dir, &bad_blast), Err(Rejection::Invalid(_))));
    let plan = plan(&dir, &request("acct-harbor", &["c1", "", "x/y"])).unwrap();
    assert_eq!(plan.tasks.len(), 1);
    assert_eq!(plan.invalid_ids, ["", "x/y"]);
}

#[test]
fn an_empty_list_is_done_with_nothing_published() {
    let msg = Message::json(&request("acct-harbor", &[])).unwrap();
    let reply = fan_out(&directory(), &msg);
    assert!(reply.is_done());
    assert!(reply.published().is_empty());
}

#[tokio::test]
async fn an_unreadable_directory_is_retried() {
    let sender = ListSender::new("/nonexistent/directory.json");
    let reply = sender.process(&Message::new(SHIPPED_BLAST)).await;
    assert!(
        matches!(reply.outcome(), Outcome::Retry { .. }),
        "{reply:?}"
    );
}
