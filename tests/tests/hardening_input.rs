//! What a worker or a publisher sends can be refused, never crash ferry or loop a message:
//! out-of-range delays and deliver-at times from a `HandleResponse` and from
//! `GatewayService.Publish`, and a delivery that fails inside ferry (a forced panic, through
//! a fail point of the `failpoints` build) — each ends in a settle that counts the attempt.
#![allow(clippy::unwrap_used, missing_docs)]

use ferry_proto::v1::{
    OutgoingMessage, PublishRequest, gateway_service_client::GatewayServiceClient,
    outgoing_message::Schedule,
};
use ferry_tests::{
    Sub, TestWorker, assert_eventually,
    conformance::{dead_letters, ferry_on, publish, story},
    fixtures::{BackendFixture, Embedded},
};

/// 2^63 - 1 seconds: far beyond any backend's horizon, and more than `SystemTime` can add.
const HUGE_DELAY_S: &str = "9223372036854775807";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_up_with_an_impossible_delay_dead_letters_the_input_at_once() {
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let ferry = ferry_on(&f, &worker.url(), &["in"])
        .await
        .sub(
            Sub::new("s")
                .set("queue", "\"in\"")
                .set("lease", "\"1s\"")
                .set("max_attempts", "3"),
        )
        .spawn()
        .await;
    let id = publish(
        &f,
        "in",
        "fan",
        &[
            ("t.fanout", "1"),
            ("t.fanout_to", "out"),
            ("t.fanout_delay_s", HUGE_DELAY_S),
        ],
    )
    .await;
    assert_eventually!(
        ferry.count_for("message.dead_lettered", &id) == 1,
        "the input is dead-lettered"
    );
    assert_eq!(
        worker.attempts_for("fan"),
        [1],
        "a response that can never succeed is not retried"
    );
    let letters = dead_letters(&f, "in").await;
    assert_eq!(letters.len(), 1);
    let s = story(&letters[0]);
    assert_eq!(s["reason"], "invalid_response");
    assert!(s["last_error"].contains("publish[0].delay"), "{s:?}");
    assert!(s["last_error"].contains("horizon"), "{s:?}");
    assert_eq!(ferry.events_of("message.published").len(), 0);
}

async fn gateway_publish(url: String, schedule: Schedule) -> tonic::Status {
    let mut client = GatewayServiceClient::connect(url).await.unwrap();
    let message = OutgoingMessage {
        destination: "q".into(),
        payload: b"x".to_vec().into(),
        schedule: Some(schedule),
        ..OutgoingMessage::default()
    };
    client
        .publish(PublishRequest {
            messages: vec![message],
        })
        .await
        .expect_err("an out-of-range schedule is refused")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_publish_refuses_schedules_beyond_the_horizon() {
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let ferry = ferry_on(&f, &worker.url(), &["q"])
        .await
        .sub(Sub::new("q"))
        .spawn()
        .await;
    let huge = prost_types::Duration {
        seconds: HUGE_DELAY_S.parse().unwrap(),
        nanos: 0,
    };
    let status = gateway_publish(ferry.gateway_url(), Schedule::Delay(huge)).await;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with("messages[0].delay: "),
        "{status:?}"
    );
    // The year 2500: a valid time, but beyond what any backend keeps a message for.
    let far = prost_types::Timestamp {
        seconds: 16_725_225_600,
        nanos: 0,
    };
    let status = gateway_publish(ferry.gateway_url(), Schedule::DeliverAt(far)).await;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with("messages[0].deliver_at: "),
        "{status:?}"
    );
    // Nothing was enqueued, and ferry still serves.
    assert_eq!(f.ready("q").await, 0);
    let id = publish(&f, "q", "still works", &[]).await;
    assert_eventually!(ferry.count_for("message.done", &id) == 1, "done");
}

/// A panic inside a delivery (forced with the `dispatch::settle` fail point) is settled as a
/// failed attempt; the message is dead-lettered at `max_attempts` instead of coming back
/// for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_inside_a_delivery_counts_the_attempt() {
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let ferry = ferry_on(&f, &worker.url(), &["q-panic"])
        .await
        .env("FAILPOINTS", "dispatch::settle=panic(forced fault)")
        .sub(
            Sub::new("s")
                .set("queue", "\"q-panic\"")
                .set("lease", "\"1s\"")
                .set("max_attempts", "3"),
        )
        .spawn()
        .await;
    let id = publish(&f, "q-panic", "boom", &[]).await;
    assert_eventually!(
        ferry.count_for("message.dead_lettered", &id) == 1,
        "dead-lettered at max_attempts"
    );
    assert_eq!(worker.attempts_for("boom"), [1, 2, 3]);
    assert_eq!(ferry.count_for("message.retried", &id), 2);
    let letters = dead_letters(&f, "q-panic").await;
    let s = story(&letters[0]);
    assert_eq!(s["reason"], "max_attempts");
    assert!(s["last_error"].contains("forced fault"), "{s:?}");
}
