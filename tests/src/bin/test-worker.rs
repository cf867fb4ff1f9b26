//! A minimal `ferry-sdk` worker binary for the supervision tests: it serves on
//! `FERRY_WORKER_ADDR` (set by `ferry run -- test-worker`) and answers done to everything,
//! logging its pid so tests can tell restarts apart.
#![allow(missing_docs)]

use ferry_sdk::{Level, Message, Reply};

#[tokio::main]
async fn main() {
    let pid = std::process::id().to_string();
    let handler = move |_msg: Message| {
        let pid = pid.clone();
        async move { Reply::done().log_with(Level::Info, "handled", [("pid", pid)]) }
    };
    if let Err(e) = ferry_sdk::serve_from_env(handler).await {
        eprintln!("test-worker: {e}");
        std::process::exit(1);
    }
}
