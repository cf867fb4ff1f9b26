//! Conformance cases: fan-out publishing and redrive.

use super::{dead_letters, ferry_on, publish};
use crate::{Sub, TestWorker, assert_eventually, fixtures::BackendFixture};

pub async fn fanout_is_published_before_ack(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-fan", "q-fan-out"])
        .await
        .sub(Sub::new("s").set("queue", "\"q-fan\""))
        .spawn()
        .await;
    let id = publish(
        f,
        "q-fan",
        "parent",
        &[("t.fanout", "3"), ("t.fanout_to", "q-fan-out")],
    )
    .await;
    assert_eventually!(ferry.count_for("message.done", &id) == 1, "parent done");
    assert_eq!(f.ready("q-fan-out").await, 3, "three children published");
    let events = ferry.events();
    let position =
        |pred: &dyn Fn(&serde_json::Value) -> bool| events.iter().position(pred).unwrap();
    let done_at =
        position(&|e| e["event.action"] == "message.done" && e["ferry.message_id"] == id.as_str());
    let published: Vec<_> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e["event.action"] == "message.published" && e["ferry.message_id"] == id.as_str()
        })
        .collect();
    assert_eq!(published.len(), 3);
    assert!(
        published.iter().all(|(i, _)| *i < done_at),
        "children are published before the parent is acked"
    );
    let dedup: Vec<String> = published
        .iter()
        .map(|(_, e)| e["ferry.dedup_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        dedup,
        [format!("{id}/0"), format!("{id}/1"), format!("{id}/2")],
        "deterministic de-duplication ids"
    );
}

pub async fn redrive_resets_attempts(f: &dyn BackendFixture) {
    let worker = TestWorker::start().await;
    let ferry = ferry_on(f, &worker.url(), &["q-redrive"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"q-redrive\"")
                .set("max_attempts", "2"),
        )
        .spawn()
        .await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(publish(f, "q-redrive", &format!("rd{i}"), &[("t.outcome", "retry")]).await);
    }
    assert_eventually!(
        dead_letters(f, "q-redrive").await.len() == 3,
        "three dead letters"
    );
    let list = ferry.cli(&["dlq", "list"]).await;
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    for id in &ids {
        assert!(text.contains(id.as_str()), "dlq list shows {id}:\n{text}");
    }
    assert!(
        text.contains("after 2 attempt(s) [max_attempts]: always failing"),
        "{text}"
    );
    let before = worker.calls().len();
    let redrive = ferry.cli(&["dlq", "redrive", "--limit", "2"]).await;
    assert!(
        String::from_utf8_lossy(&redrive.stdout).contains("redrove 2 message(s)"),
        "{redrive:?}"
    );
    assert_eventually!(
        worker.calls().len() >= before + 2,
        "redriven messages delivered again"
    );
    let redriven = &worker.calls()[before..];
    assert!(
        redriven.iter().take(2).all(|c| c.attempt == 1),
        "attempts reset on redrive: {redriven:?}"
    );
    assert_eventually!(
        dead_letters(f, "q-redrive").await.len() == 3,
        "they fail again and return to the error queue"
    );
}
