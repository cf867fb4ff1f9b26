//! The smallest ferry worker in Rust (README.md): one handler, served with the
//! standard health service on the address ferry passes in `FERRY_WORKER_ADDR`.
use ferry_sdk::{Level, Message, Reply};

#[derive(serde::Deserialize)]
struct Order {
    id: String,
}

// One thread: the handler mostly waits, and ferry holds the concurrency (`max_in_flight`).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ferry_sdk::ServeError> {
    ferry_sdk::serve_from_env(|msg: Message| async move {
        match msg.payload_json::<Order>() {
            // Done: ferry acks the message (after publishing any `.publish(...)` messages).
            Ok(order) => Reply::done().log(Level::Info, format!("order {} received", order.id)),
            // Never processable: ferry moves it to the error queue with this reason.
            Err(err) => Reply::dead_letter(err.to_string()),
        }
    })
    .await
}
