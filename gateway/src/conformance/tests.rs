//! Unit tests of the conformance kit: the embedded vectors parse, bad vector files are
//! refused naming the file and reason, and the judge passes right answers and names what
//! is wrong in wrong ones.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use ferry_proto::v1::{
    DeadLetter, Done, HandleResponse, LogLevel, LogLine, OutgoingMessage, Retry, handle_response,
};
use tonic::Status;

use super::*;

fn handle_vector(name: &str) -> (ferry_proto::v1::HandleRequest, Expect) {
    let vectors = embedded().unwrap();
    let v = vectors.iter().find(|v| v.name == name).unwrap();
    let Check::Handle {
        request,
        payload,
        expect,
    } = &v.check
    else {
        panic!("{name} is not a handle vector");
    };
    let deadline = SystemTime::now() + Duration::from_millis(request.deadline_ms);
    (build_request(request, payload, deadline), expect.clone())
}

fn answer(outcome: handle_response::Outcome) -> HandleResponse {
    HandleResponse {
        outcome: Some(outcome),
        ..HandleResponse::default()
    }
}

/// The answer the reference behaviour gives to a `done` request.
fn reference_done(req: &ferry_proto::v1::HandleRequest) -> HandleResponse {
    HandleResponse {
        outcome: Some(handle_response::Outcome::Done(Done {})),
        publish: vec![OutgoingMessage {
            destination: ECHO_DESTINATION.into(),
            payload: req.payload.clone(),
            attributes: req.attributes.clone(),
            realm: req.realm.clone(),
            ..OutgoingMessage::default()
        }],
        logs: vec![LogLine {
            level: LogLevel::Info.into(),
            message: "conformance done".into(),
            fields: [
                ("message_id", req.message_id.clone()),
                ("attempt", req.attempt.to_string()),
                ("payload_bytes", req.payload.len().to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            time: None,
        }],
    }
}

const QUICK: Duration = Duration::from_millis(5);

#[test]
fn the_embedded_vectors_parse_and_cover_the_required_cases() {
    let vectors = embedded().unwrap();
    let names: Vec<_> = vectors.iter().map(|v| v.name.as_str()).collect();
    for required in [
        "health",
        "unicode-attributes",
        "empty-payload",
        "one-mib-payload",
        "retry-with-delay",
        "dead-letter-with-reason",
        "deadline-expires",
    ] {
        assert!(
            names.contains(&required),
            "{required} missing from {names:?}"
        );
    }
    let (req, _) = handle_vector("one-mib-payload");
    assert_eq!(req.payload.len(), 1024 * 1024);
    let (req, _) = handle_vector("empty-payload");
    assert!(req.payload.is_empty());
}

#[test]
fn the_directory_holds_exactly_the_embedded_vectors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    assert_eq!(load_dir(&dir).unwrap(), {
        let mut embedded = embedded().unwrap();
        for v in &mut embedded {
            v.file = dir.join(&v.file).display().to_string();
        }
        embedded
    });
}

#[test]
fn bad_vector_files_name_the_file_and_reason() {
    let cases = [
        (
            r#"{"name":"x","description":"","kind":"handle","expect":{"outcome":"done"}}"#,
            "needs a request",
        ),
        (
            r#"{"name":"x","description":"","kind":"health","expect":{"status":"SERVING"},"extra":1}"#,
            "unknown field `extra`",
        ),
        (
            r#"{"name":"x","description":"","kind":"handle","request":{"message_id":"m","payload":{"text":"a","hex":"00"}},"expect":{"outcome":"done"}}"#,
            "exactly one of",
        ),
        (
            r#"{"name":"x","description":"","kind":"handle","request":{"message_id":"m","payload":{"hex":"0g"}},"expect":{"outcome":"done"}}"#,
            "`0g` at offset 0",
        ),
        (
            r#"{"name":"x","description":"","kind":"handle","request":{"message_id":"m","payload":{"hex":"é0"}},"expect":{"outcome":"done"}}"#,
            "even number of hex digits",
        ),
        (
            r#"{"name":"x","description":"","kind":"handle","request":{"message_id":"m","payload":{"repeat":"a","bytes":99999999999}},"expect":{"outcome":"done"}}"#,
            "over the limit",
        ),
        (
            r#"{"name":"x","description":"","kind":"handle","request":{"message_id":"m"},"expect":{"outcome":"retry","echo":true}}"#,
            "outcome done only",
        ),
        (
            r#"{"name":"x","description":"","kind":"handle","request":{"message_id":"m"},"expect":{"outcome":"later"}}"#,
            "unknown variant `later`",
        ),
        ("not json", "expected ident"),
    ];
    for (text, reason) in cases {
        let err = parse("bad.json", text).unwrap_err().to_string();
        assert!(err.starts_with("conformance vector bad.json: "), "{err}");
        assert!(err.contains(reason), "expected `{reason}` in: {err}");
    }
}

#[test]
fn a_directory_with_duplicate_names_or_no_vectors_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("no *.json vector files"), "{err}");
    let health = r#"{"name":"h","description":"","kind":"health","expect":{"status":"SERVING"}}"#;
    std::fs::write(dir.path().join("a.json"), health).unwrap();
    std::fs::write(dir.path().join("b.json"), health).unwrap();
    let err = load_dir(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("b.json") && err.contains("already used by"),
        "{err}"
    );
}

#[test]
fn reference_answers_pass() {
    for name in [
        "unicode-attributes",
        "empty-payload",
        "binary-payload",
        "one-mib-payload",
    ] {
        let (req, expect) = handle_vector(name);
        judge_handle(&expect, &req, &Ok(reference_done(&req)), QUICK).unwrap();
    }
    let (req, expect) = handle_vector("retry-with-delay");
    let retry = answer(handle_response::Outcome::Retry(Retry {
        reason: "mail provider returned 503".into(),
        delay: Some(prost_types::Duration {
            seconds: 1,
            nanos: 500_000_000,
        }),
    }));
    judge_handle(&expect, &req, &Ok(retry), QUICK).unwrap();
    let (req, expect) = handle_vector("deadline-expires");
    let slow = Duration::from_millis(600);
    judge_handle(
        &expect,
        &req,
        &Err(Status::cancelled("Timeout expired")),
        slow,
    )
    .unwrap();
    let retry = answer(handle_response::Outcome::Retry(Retry::default()));
    judge_handle(&expect, &req, &Ok(retry), slow).unwrap();
}

#[test]
fn wrong_answers_fail_naming_what_is_wrong() {
    let (req, expect) = handle_vector("unicode-attributes");
    let mut wrong = reference_done(&req);
    wrong.publish[0]
        .attributes
        .insert("greeting".into(), "?".into());
    wrong.publish[0].payload = b"short".to_vec().into();
    wrong.logs[0].fields.insert("attempt".into(), "1".into());
    let err = judge_handle(&expect, &req, &Ok(wrong), QUICK).unwrap_err();
    for part in [
        "echo attributes differ",
        "\"greeting\"",
        "echo payload differs",
        "no log line",
    ] {
        assert!(err.contains(part), "expected `{part}` in: {err}");
    }

    let (req, expect) = handle_vector("retry-with-delay");
    let no_delay = answer(handle_response::Outcome::Retry(Retry {
        reason: "other".into(),
        delay: None,
    }));
    let err = judge_handle(&expect, &req, &Ok(no_delay), QUICK).unwrap_err();
    assert!(
        err.contains("expected reason \"mail provider returned 503\", got \"other\""),
        "{err}"
    );
    assert!(
        err.contains("expected delay 1500 ms, got no delay"),
        "{err}"
    );

    let (req, expect) = handle_vector("dead-letter-with-reason");
    let retried = answer(handle_response::Outcome::Retry(Retry::default()));
    let err = judge_handle(&expect, &req, &Ok(retried), QUICK).unwrap_err();
    assert!(
        err.contains("expected outcome dead_letter, got retry"),
        "{err}"
    );
    let err = judge_handle(&expect, &req, &Err(Status::internal("boom")), QUICK).unwrap_err();
    assert!(err.contains("gRPC status Internal: boom"), "{err}");
    let dead = answer(handle_response::Outcome::DeadLetter(DeadLetter {
        reason: "customer_ids is missing — Kundenliste fehlt".into(),
    }));
    let mut published = dead.clone();
    published.publish.push(OutgoingMessage::default());
    let err = judge_handle(&expect, &req, &Ok(published), QUICK).unwrap_err();
    assert!(
        err.contains("published 1 message(s), expected none"),
        "{err}"
    );
    judge_handle(&expect, &req, &Ok(dead), QUICK).unwrap();

    let (req, expect) = handle_vector("deadline-expires");
    let done = answer(handle_response::Outcome::Done(Done {}));
    let err = judge_handle(&expect, &req, &Ok(done), Duration::from_millis(600)).unwrap_err();
    assert!(err.contains("expected outcome retry"), "{err}");
    let early = answer(handle_response::Outcome::Retry(Retry::default()));
    let err = judge_handle(&expect, &req, &Ok(early), QUICK).unwrap_err();
    assert!(err.contains("sooner than the 450 ms"), "{err}");
}

#[test]
fn verdict_lines_name_the_vector() {
    let pass = Verdict {
        name: "health".into(),
        result: Ok(()),
        elapsed: Duration::from_millis(3),
    };
    assert_eq!(pass.line(), "PASS health (3 ms)");
    let fail = Verdict {
        result: Err("why".into()),
        ..pass
    };
    assert_eq!(fail.line(), "FAIL health (3 ms): why");
}
