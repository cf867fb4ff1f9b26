//! A `ferry-sdk` worker for the console's browser tests: several ferry sidecars call this
//! one process, and it writes one JSON line per call to `RECORD_FILE` when the call starts
//! (`{"event":"start","id","realm","payload","subscription","concurrent","concurrent_in_realm","ms"}`)
//! and when it ends (`"event":"end"` with the outcome), so a test reads what the worker saw
//! — across sidecars — and its concurrency overall and per realm.
//!
//! It listens on `RECORD_ADDR` (default `127.0.0.1:0`) and prints `listening on ADDR`.
//! Attributes: `t.sleep_ms` (sleep before answering), `t.dead_once` (dead-letter the first
//! call of this message id, answer done after: a redriven letter then succeeds).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{HashMap, HashSet},
    io::Write as _,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use ferry_sdk::{Message, Reply};
use serde_json::json;

#[derive(Default)]
struct State {
    running: usize,
    by_realm: HashMap<String, usize>,
    dead_once: HashSet<String>,
    file: Option<std::fs::File>,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

impl State {
    fn write(&mut self, line: &serde_json::Value) {
        if let Some(f) = self.file.as_mut() {
            writeln!(f, "{line}").unwrap();
            f.flush().unwrap();
        }
    }
}

#[tokio::main]
async fn main() {
    let path = std::env::var("RECORD_FILE").expect("RECORD_FILE");
    let addr = std::env::var("RECORD_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
    let state = Arc::new(Mutex::new(State {
        file: Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap(),
        ),
        ..State::default()
    }));
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    println!("listening on {}", listener.local_addr().unwrap());
    let handler = move |msg: Message| {
        let state = state.clone();
        async move {
            let realm = msg.realm.clone().unwrap_or_default();
            let payload = msg.payload_str().unwrap_or_default().to_owned();
            let dead = {
                let mut s = state.lock().unwrap();
                s.running += 1;
                let in_realm = {
                    let n = s.by_realm.entry(realm.clone()).or_default();
                    *n += 1;
                    *n
                };
                let line = json!({"event": "start", "id": msg.id, "realm": realm, "payload": payload,
                    "subscription": msg.subscription, "attempt": msg.attempt,
                    "concurrent": s.running, "concurrent_in_realm": in_realm, "ms": now_ms()});
                s.write(&line);
                msg.attribute("t.dead_once").is_some() && s.dead_once.insert(msg.id.clone())
            };
            if let Some(ms) = msg.attribute("t.sleep_ms").and_then(|v| v.parse().ok()) {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let mut s = state.lock().unwrap();
            s.running -= 1;
            if let Some(n) = s.by_realm.get_mut(&realm) {
                *n -= 1;
            }
            let outcome = if dead { "dead_letter" } else { "done" };
            let line = json!({"event": "end", "id": msg.id, "realm": realm, "payload": payload,
                "outcome": outcome, "ms": now_ms()});
            s.write(&line);
            if dead {
                Reply::dead_letter("dead once (recording worker)")
            } else {
                Reply::done()
            }
        }
    };
    ferry_sdk::serve_on(listener, handler, std::future::pending())
        .await
        .unwrap();
}
