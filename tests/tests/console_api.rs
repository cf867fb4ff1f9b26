//! The console's controls through its API, against real sidecars (`ferry run` on the
//! embedded queue) calling a real worker: pausing a subscription on every sidecar, a
//! sidecar keeping its last controls while the console is down, a fleet-wide
//! `max_in_flight` held across sidecars (worker-observed concurrency), a fleet-wide rate
//! divided again as sidecars come and go, dead letters (list, delete, redrive, purge),
//! the audit log, a ferry's own console on its admin port, and the security rules.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use ferry::backend::NewMessage;
use ferry_tests::{
    FerryBuilder, FerryProcess, Sub, TestWorker, assert_eventually,
    console::{ConsoleProcess, TOKEN, sidecar_toml},
    fixtures::{BackendFixture, Embedded},
};
use serde_json::{Value, json};

fn console_toml(dir: &tempfile::TempDir, f: &Embedded, extra: &str) -> String {
    let backend = f
        .backend_toml()
        .replace("[backend.embedded]", "[backends.local.embedded]");
    format!(
        "token = \"{TOKEN}\"\nstate = {:?}\nqueue_refresh = \"200ms\"\n{extra}\n{backend}",
        dir.path().join("console.db").display().to_string()
    )
}

async fn sidecar(
    f: &Embedded,
    worker: &TestWorker,
    console: &ConsoleProcess,
    sub: Sub,
) -> FerryProcess {
    FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml(&sidecar_toml(console))
        .sub(sub)
        .spawn()
        .await
}

/// The live sidecars of `local/<name>` as the console shows them (each reports what it
/// applied).
async fn live(console: &ConsoleProcess, name: &str) -> Vec<Value> {
    let (code, d) = console
        .get(&format!("/api/v1/subscriptions/local/{name}"))
        .await;
    if code != 200 {
        return Vec::new();
    }
    d["sidecars"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["live"] == true)
        .map(|s| s["subscriptions"][0].clone())
        .collect()
}

/// Waits until `n` sidecars each sent `beats` more heartbeats.
async fn beats(console: &ConsoleProcess, n: usize, beats: i64) {
    let seen = |d: &Value| -> Vec<i64> {
        d["sidecars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["last_seen_ms"].as_i64().unwrap())
            .collect()
    };
    let (_, first) = console.get("/api/v1/sidecars").await;
    let start = seen(&first);
    assert_eventually!(
        {
            let (_, now) = console.get("/api/v1/sidecars").await;
            let later = seen(&now);
            later.len() == n && later.iter().zip(&start).all(|(l, s)| *l >= s + 200 * beats)
        },
        "{n} sidecars beat {beats} more times"
    );
}

async fn publish(f: &Embedded, queue: &str, payloads: &[String], attrs: &[(&str, &str)]) {
    let backend = f.backend().await;
    let messages = payloads
        .iter()
        .map(|p| {
            attrs
                .iter()
                .fold(NewMessage::new(queue, p.clone()), |m, (k, v)| {
                    m.attribute(*k, *v)
                })
        })
        .collect();
    backend.publish(messages).await.unwrap();
}

fn payloads(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_a_subscription_stops_every_sidecar_until_it_is_resumed() {
    let f = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let console = ConsoleProcess::start(dir.path(), &console_toml(&dir, &f, ""), 0).await;
    let worker = TestWorker::start().await;
    let sub = Sub::new("orders");
    let _a = sidecar(&f, &worker, &console, sub.clone()).await;
    let _b = sidecar(&f, &worker, &console, sub).await;
    assert_eventually!(
        live(&console, "orders").await.len() == 2,
        "two live sidecars"
    );

    let (code, body) = console
        .send(
            "POST",
            "/api/v1/subscriptions/local/orders/pause",
            &json!({}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eventually!(
        {
            let l = live(&console, "orders").await;
            l.len() == 2 && l.iter().all(|s| s["paused"] == true)
        },
        "both sidecars applied the pause"
    );
    // Through the console's own publish.
    for p in payloads("held", 4) {
        let (code, body) = console
            .send(
                "POST",
                "/api/v1/publish",
                &json!({"backend": "local", "queue": "orders", "payload": p, "realm": "acme"}),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }
    // Several beats of both sidecars (each one a full receive cycle) later, nothing came.
    beats(&console, 2, 3).await;
    assert!(
        worker
            .calls()
            .iter()
            .all(|c| !c.payload.starts_with("held")),
        "a paused subscription receives nothing"
    );
    assert_eventually!(
        console.get("/api/v1/subscriptions/local/orders").await.1["queue_state"]["counts"]["ready"]
            == 4,
        "the console reads the 4 waiting messages from the queue"
    );

    let (code, _) = console
        .send(
            "POST",
            "/api/v1/subscriptions/local/orders/resume",
            &json!({}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eventually!(
        worker
            .calls()
            .iter()
            .filter(|c| c.payload.starts_with("held"))
            .count()
            == 4,
        "resumed: every waiting message is delivered"
    );
    let (_, audit) = console.get("/api/v1/audit").await;
    let actions: Vec<(&str, &str, &str)> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
                e["target"].as_str().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("pause", "api-test", "local/orders"),
        ("resume", "api-test", "local/orders"),
        ("publish", "api-test", "local/orders"),
    ] {
        assert!(
            actions.contains(&expected),
            "{expected:?} audited: {actions:?}"
        );
    }
    let (_, controls) = console.get("/api/v1/controls").await;
    assert_eq!(controls["controls"], json!([]), "resumed: no control left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_keeps_its_last_controls_while_the_console_is_down() {
    let f = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let config = console_toml(&dir, &f, "");
    let mut console = ConsoleProcess::start(dir.path(), &config, 0).await;
    let worker = TestWorker::start().await;
    let ferry = sidecar(&f, &worker, &console, Sub::new("orders")).await;
    assert_eventually!(
        live(&console, "orders").await.len() == 1,
        "the sidecar reports"
    );
    console
        .send(
            "POST",
            "/api/v1/subscriptions/local/orders/pause",
            &json!({}),
        )
        .await;
    assert_eventually!(
        live(&console, "orders")
            .await
            .iter()
            .all(|s| s["paused"] == true),
        "paused"
    );
    let port = console.port;
    console.kill().await;
    assert_eventually!(
        !ferry.events_of("console.unreachable").is_empty(),
        "the sidecar notices the console is gone"
    );
    publish(&f, "orders", &payloads("while-down", 3), &[]).await;
    // The console stays down for a while (about five heartbeats): that is the scenario, not
    // a synchronisation.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        worker
            .calls()
            .iter()
            .all(|c| !c.payload.starts_with("while-down")),
        "the sidecar kept the pause while the console was down"
    );
    drop(console);
    let console = ConsoleProcess::start(dir.path(), &config, port).await;
    assert_eventually!(
        ferry.events_of("console.reachable").len() >= 2,
        "the sidecar reaches the restarted console"
    );
    assert!(
        worker
            .calls()
            .iter()
            .all(|c| !c.payload.starts_with("while-down")),
        "nothing was delivered until the sidecar reached the console again"
    );
    let (_, controls) = console.get("/api/v1/controls").await;
    assert!(
        controls["controls"][0]["controls"]["paused"]["by"] == "api-test",
        "the console kept its controls: {controls}"
    );
    console
        .send(
            "POST",
            "/api/v1/subscriptions/local/orders/resume",
            &json!({}),
        )
        .await;
    assert_eventually!(
        worker
            .calls()
            .iter()
            .filter(|c| c.payload.starts_with("while-down"))
            .count()
            == 3,
        "resumed after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_wide_max_in_flight_holds_across_sidecars() {
    let f = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let console = ConsoleProcess::start(dir.path(), &console_toml(&dir, &f, ""), 0).await;
    let worker = TestWorker::start().await;
    let sub = Sub::new("orders").set("max_in_flight", "6");
    let _a = sidecar(&f, &worker, &console, sub.clone()).await;
    let _b = sidecar(&f, &worker, &console, sub).await;
    assert_eventually!(
        live(&console, "orders").await.len() == 2,
        "two live sidecars"
    );
    let most = |prefix: &str| {
        worker
            .calls()
            .iter()
            .filter(|c| c.payload.starts_with(prefix))
            .map(|c| c.concurrent)
            .max()
            .unwrap_or(0)
    };
    publish(
        &f,
        "orders",
        &payloads("base", 12),
        &[("t.sleep_ms", "300")],
    )
    .await;
    assert_eventually!(worker.finished() == 12, "baseline done");
    assert!(
        most("base") > 2,
        "as configured more than 2 run at once ({})",
        most("base")
    );

    let (code, body) = console
        .send(
            "PUT",
            "/api/v1/subscriptions/local/orders/limits",
            &json!({"max_in_flight": 2}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eventually!(
        live(&console, "orders")
            .await
            .iter()
            .all(|s| s["effective"]["max_in_flight"] == 1),
        "2 over 2 sidecars: 1 each"
    );
    publish(&f, "orders", &payloads("lim", 12), &[("t.sleep_ms", "300")]).await;
    assert_eventually!(worker.finished() == 24, "limited burst done");
    assert!(
        most("lim") <= 2,
        "the worker saw {} calls at once, over the fleet-wide 2",
        most("lim")
    );

    let (_, d) = console.get("/api/v1/subscriptions/local/orders").await;
    assert_eq!(d["controls"]["max_in_flight"]["value"], 2);
    assert_eq!(d["controls"]["max_in_flight"]["by"], "api-test");
    // Removing the override gives the configured limit back.
    console
        .send(
            "PUT",
            "/api/v1/subscriptions/local/orders/limits",
            &json!({"max_in_flight": null}),
        )
        .await;
    assert_eventually!(
        live(&console, "orders")
            .await
            .iter()
            .all(|s| s["effective"]["max_in_flight"] == 6),
        "back to ferry.toml"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_wide_rate_is_divided_again_as_sidecars_come_and_go() {
    let f = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let console = ConsoleProcess::start(dir.path(), &console_toml(&dir, &f, ""), 0).await;
    let worker = TestWorker::start().await;
    let sub = Sub::new("orders");
    let _a = sidecar(&f, &worker, &console, sub.clone()).await;
    let _b = sidecar(&f, &worker, &console, sub.clone()).await;
    assert_eventually!(
        live(&console, "orders").await.len() == 2,
        "two live sidecars"
    );
    let (code, body) = console
        .send(
            "PUT",
            "/api/v1/subscriptions/local/orders/limits",
            &json!({"rate_limit": 12.0, "max_in_flight_per_realm": 5}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let shares = || async {
        let mut s: Vec<(f64, u64)> = live(&console, "orders")
            .await
            .iter()
            .map(|s| {
                (
                    s["effective"]["rate_limit"].as_f64().unwrap_or(0.0),
                    s["effective"]["max_in_flight_per_realm"]
                        .as_u64()
                        .unwrap_or(0),
                )
            })
            .collect();
        s.sort_by_key(|x| std::cmp::Reverse(x.1));
        s
    };
    assert_eventually!(
        shares().await == [(6.0, 3), (6.0, 2)],
        "12/s and 5 per realm over 2: {:?}",
        shares().await
    );
    let mut c = sidecar(&f, &worker, &console, sub).await;
    assert_eventually!(
        shares().await == [(4.0, 2), (4.0, 2), (4.0, 1)],
        "over 3 when one joins: {:?}",
        shares().await
    );
    c.signal(nix::sys::signal::Signal::SIGTERM);
    c.wait().await;
    assert_eventually!(
        shares().await == [(6.0, 3), (6.0, 2)],
        "over 2 again when it leaves: {:?}",
        shares().await
    );
    // The configured limits stay what ferry.toml says; the overview sums what is applied.
    let (_, list) = console.get("/api/v1/subscriptions?name=ord").await;
    let row = &list["subscriptions"][0];
    assert_eq!(row["effective"]["max_in_flight_per_realm"], 5);
    assert!(row["configured"]["rate_limit"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_deleted_redriven_and_purged() {
    let f = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let console = ConsoleProcess::start(dir.path(), &console_toml(&dir, &f, ""), 0).await;
    let worker = TestWorker::start().await;
    let _ferry = sidecar(&f, &worker, &console, Sub::new("orders")).await;
    let backend = f.backend().await;
    backend
        .publish(vec![
            NewMessage::new("orders", r#"{"order": 1}"#).attribute("t.outcome", "dead_letter"),
            NewMessage::new("orders", "plain text").attribute("t.outcome", "dead_letter"),
            NewMessage::new("orders", vec![0xffu8, 0x00, 0x01])
                .attribute("t.outcome", "dead_letter"),
            NewMessage::new("orders", "fourth").attribute("t.outcome", "dead_letter"),
        ])
        .await
        .unwrap();
    let list = || async {
        console
            .get("/api/v1/subscriptions/local/orders/dead-letters")
            .await
            .1
    };
    assert_eventually!(
        list().await["dead_letters"]
            .as_array()
            .is_some_and(|l| l.len() == 4),
        "4 dead letters"
    );
    let letters = list().await["dead_letters"].as_array().unwrap().clone();
    // Dead-lettered concurrently, so in any order: found by their preview.
    let by = |text: &str| {
        letters
            .iter()
            .find(|l| {
                l["payload"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains(text))
            })
            .unwrap_or_else(|| panic!("no letter shows {text}: {letters:?}"))
            .clone()
    };
    assert_eq!(by("\"order\": 1")["payload"]["kind"], "json");
    assert_eq!(by("plain text")["payload"]["kind"], "text");
    assert_eq!(by("ff 00 01")["payload"]["kind"], "hex");
    assert_eq!(by("plain text")["story"]["reason"], "worker");
    assert_eq!(by("plain text")["story"]["last_error"], "poison message");
    let id = |text: &str| by(text)["id"].as_str().unwrap().to_owned();

    let (code, body) = console
        .send(
            "POST",
            "/api/v1/subscriptions/local/orders/dead-letters/delete",
            &json!({"ids": [id("plain text")]}),
        )
        .await;
    assert_eq!((code, &body["deleted"]), (200, &json!(1)), "{body}");
    let before = worker.calls_for(r#"{"order": 1}"#).len();
    let (code, body) = console
        .send(
            "POST",
            "/api/v1/subscriptions/local/orders/dead-letters/redrive",
            &json!({"ids": [id("\"order\": 1")]}),
        )
        .await;
    assert_eq!((code, &body["redriven"]), (200, &json!(1)), "{body}");
    assert_eventually!(
        worker.calls_for(r#"{"order": 1}"#).len() == before + 1,
        "the redriven letter is delivered again"
    );
    assert_eq!(
        worker.calls_for(r#"{"order": 1}"#).last().unwrap().attempt,
        1,
        "with its attempts reset"
    );
    assert_eventually!(
        list().await["dead_letters"]
            .as_array()
            .is_some_and(|l| l.len() == 3),
        "dead-lettered again by the worker: 3"
    );

    let (code, body) = console
        .send(
            "POST",
            "/api/v1/subscriptions/local/orders/dead-letters/purge",
            &json!({"confirm": "orders"}),
        )
        .await;
    assert_eq!(
        code, 400,
        "the confirmation must name the error queue: {body}"
    );
    let (code, body) = console
        .send(
            "POST",
            "/api/v1/subscriptions/local/orders/dead-letters/purge",
            &json!({"confirm": "orders-errors"}),
        )
        .await;
    assert_eq!((code, &body["purged"]), (200, &json!(3)), "{body}");
    assert_eq!(list().await["dead_letters"], json!([]));
    let (_, audit) = console.get("/api/v1/audit").await;
    let outcomes: Vec<(String, String)> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for action in ["delete", "redrive", "purge"] {
        assert!(
            outcomes.iter().any(|(a, o)| a == action && o == "ok"),
            "{action} audited: {outcomes:?}"
        );
    }
    assert!(
        outcomes
            .iter()
            .any(|(a, o)| a == "purge" && o.contains("confirm must be")),
        "a refused purge is audited too: {outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_csrf_and_read_only_mode_guard_the_api() {
    let f = Embedded::new().await;
    let dir = tempfile::tempdir().unwrap();
    let config = console_toml(&dir, &f, "sidecar_token = \"sidecar-token-0123456789abc\"");
    let console = ConsoleProcess::start(dir.path(), &config, 0).await;
    let pause = "/api/v1/subscriptions/local/orders/pause";
    let auth = format!("Bearer {TOKEN}");
    assert_eq!(
        console.raw("GET", "/api/v1/subscriptions", &[], "").await.0,
        401,
        "no token"
    );
    assert_eq!(
        console
            .raw(
                "GET",
                "/api/v1/subscriptions",
                &[("authorization", "Bearer console-api-test-token-0123456780")],
                ""
            )
            .await
            .0,
        401,
        "a wrong token"
    );
    assert_eq!(console.get("/api/v1/subscriptions").await.0, 200);
    let (code, body) = console
        .raw("POST", pause, &[("authorization", &auth)], "{}")
        .await;
    assert_eq!(code, 403, "a change without the CSRF header: {body}");
    let (code, _) = console
        .raw(
            "POST",
            pause,
            &[
                ("authorization", &auth),
                ("x-ferry-csrf", "1"),
                ("origin", "http://evil.example"),
            ],
            "{}",
        )
        .await;
    assert_eq!(code, 403, "a change from another origin");
    let (code, _) = console
        .raw(
            "POST",
            pause,
            &[
                ("authorization", &auth),
                ("x-ferry-csrf", "1"),
                ("sec-fetch-site", "cross-site"),
            ],
            "{}",
        )
        .await;
    assert_eq!(code, 403, "a cross-site change");
    let origin = format!("http://127.0.0.1:{}", console.port);
    let (code, _) = console
        .raw(
            "POST",
            pause,
            &[
                ("authorization", &auth),
                ("x-ferry-csrf", "1"),
                ("origin", &origin),
            ],
            "{}",
        )
        .await;
    assert_eq!(code, 200, "the page's own origin");

    let beat = json!({"sidecar": "s1", "service": "svc", "backend": {"kind": "embedded", "locator": "/x"}, "interval_ms": 1000});
    assert_eq!(
        console
            .raw(
                "POST",
                "/api/v1/heartbeat",
                &[("authorization", &auth)],
                &beat.to_string()
            )
            .await
            .0,
        401,
        "the operators' token is not the sidecars'"
    );
    let sidecar_auth = "Bearer sidecar-token-0123456789abc";
    assert_eq!(
        console
            .raw(
                "POST",
                "/api/v1/heartbeat",
                &[("authorization", sidecar_auth)],
                &beat.to_string()
            )
            .await
            .0,
        200
    );
    assert_eq!(
        console
            .raw(
                "POST",
                "/api/v1/heartbeat",
                &[("authorization", sidecar_auth)],
                "{\"sidecar\": 7}"
            )
            .await
            .0,
        400,
        "not a heartbeat"
    );
    let huge = format!("{{\"sidecar\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));
    assert_eq!(
        console
            .raw(
                "POST",
                "/api/v1/heartbeat",
                &[("authorization", sidecar_auth)],
                &huge
            )
            .await
            .0,
        413,
        "over max_heartbeat_bytes"
    );
    let (_, session) = console.get("/api/v1/session").await;
    assert!(
        !session.to_string().contains(TOKEN),
        "the token is never shown: {session}"
    );
    let (_, backends) = console.get("/api/v1/backends").await;
    assert_eq!(backends["backends"][0]["kind"], "embedded");
    drop(console);

    let ro =
        ConsoleProcess::start(dir.path(), &console_toml(&dir, &f, "read_only = true"), 0).await;
    assert_eq!(ro.get("/api/v1/subscriptions").await.0, 200, "reads work");
    let (code, body) = ro.send("POST", pause, &json!({})).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (403, Some("the console is read-only"))
    );
    assert_eq!(
        ro.send(
            "POST",
            "/api/v1/publish",
            &json!({"backend": "local", "queue": "q"})
        )
        .await
        .0,
        403
    );
    drop(ro);

    // Not on loopback without a token: refused at start, naming the key.
    let path = dir.path().join("open.toml");
    std::fs::write(&path, "listen = \"0.0.0.0:0\"\n").unwrap();
    let out = ferry_tests::ferry::run_cli(&path, &["console"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("open.toml: listen: 0.0.0.0:0 is not a loopback address"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ferry_on_the_embedded_queue_serves_its_own_console() {
    let f = Embedded::new().await;
    let worker = TestWorker::start().await;
    let ferry = FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml("[console]\nheartbeat_interval = \"200ms\"\n")
        .sub(Sub::new("orders"))
        .spawn()
        .await;
    let (code, page) = ferry.admin_get("/").await;
    assert_eq!(code, 200);
    assert!(page.contains("<title>Ferry console</title>"), "{page}");
    let (code, js) = ferry.admin_get("/ui/app.js").await;
    assert!(code == 200 && js.contains("Ferry console page"));
    assert_eventually!(
        ferry
            .admin_get("/api/v1/subscriptions")
            .await
            .1
            .contains("\"name\":\"orders\""),
        "the console lists this ferry's subscription"
    );
    publish(&f, "orders", &payloads("own", 3), &[("realm", "acme")]).await;
    assert_eventually!(worker.finished() == 3, "delivered");
    assert_eventually!(
        ferry
            .admin_get("/api/v1/realms")
            .await
            .1
            .contains("\"realm\":\"acme\""),
        "its counts reach the console's rollups"
    );
    // Without Elasticsearch the message page reads a story from the local log store.
    let id = ferry
        .events()
        .into_iter()
        .find(|e| e["event.action"] == "message.done")
        .and_then(|e| e["ferry.message_id"].as_str().map(str::to_owned))
        .unwrap();
    let story = || async {
        let (code, body) = ferry.admin_get(&format!("/api/v1/messages/{id}")).await;
        (
            code,
            serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default(),
        )
    };
    assert_eventually!(
        {
            let (code, body) = story().await;
            let actions: Vec<_> = body["events"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["event.action"].clone())
                .collect();
            code == 200
                && body["source"] == "local"
                && actions.first().is_some_and(|a| a == "message.received")
                && actions.last().is_some_and(|a| a == "message.done")
        },
        "the story comes from the local store: {:?}",
        story().await
    );

    let plain = FerryBuilder::new(f.backend_toml(), &worker.url())
        .toml("[console]\nlocal = false\n")
        .sub(Sub::new("other"))
        .spawn()
        .await;
    assert_eq!(
        plain.admin_get("/api/v1/subscriptions").await.0,
        404,
        "local = false serves no console"
    );
}
