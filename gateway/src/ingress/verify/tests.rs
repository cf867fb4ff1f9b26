//! Each scheme against its provider's published example, where the provider publishes one
//! with its secret (Standard Webhooks, GitHub, Slack); else against the provider's
//! documented scheme with a value computed independently (Python's `hmac`, noted at each).
//! Then what must be refused: a tampered body, a wrong secret, a stale timestamp, a
//! missing header.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue};

use super::*;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn key(s: &str) -> Secret {
    Secret(s.as_bytes().to_vec())
}

fn verifier(scheme: Scheme, secrets: &[&str]) -> Verifier {
    let keys = secrets
        .iter()
        .map(|s| match scheme {
            Scheme::StandardWebhooks => standard::key(&key(s)).unwrap(),
            _ => key(s),
        })
        .collect();
    Verifier::with_keys(scheme, keys, DEFAULT_TOLERANCE)
}

// Standard Webhooks: the test vector of the specification's reference libraries
// (github.com/standard-webhooks/standard-webhooks, libraries/*: secret, id, timestamp,
// payload and expected signature).
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_TS: u64 = 1_614_265_330;
const SW_BODY: &[u8] = br#"{"test": 2432232314}"#;
const SW_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn sw_headers(sig: &str) -> HeaderMap {
    headers(&[
        ("webhook-id", SW_ID),
        ("webhook-timestamp", &SW_TS.to_string()),
        ("webhook-signature", sig),
    ])
}

#[test]
fn standard_webhooks_accepts_the_spec_vector() {
    let v = verifier(Scheme::StandardWebhooks, &[SW_SECRET]);
    assert_eq!(v.verify(&sw_headers(SW_SIG), SW_BODY, at(SW_TS)), Ok(()));
    // Several signatures (a sender mid-rotation): one match is enough.
    let many = format!("v1,bm90IGl0 {SW_SIG} v1a,ignored");
    assert_eq!(
        v.verify(&sw_headers(&many), SW_BODY, at(SW_TS + 10)),
        Ok(())
    );
}

#[test]
fn standard_webhooks_refuses_tampering_wrong_secret_and_replays() {
    let v = verifier(Scheme::StandardWebhooks, &[SW_SECRET]);
    let tampered = br#"{"test": 2432232315}"#;
    assert_eq!(
        v.verify(&sw_headers(SW_SIG), tampered, at(SW_TS)),
        Err(Refusal::Mismatch)
    );
    let other = verifier(Scheme::StandardWebhooks, &["whsec_dGhlIHdyb25nIGtleQ=="]);
    assert_eq!(
        other.verify(&sw_headers(SW_SIG), SW_BODY, at(SW_TS)),
        Err(Refusal::Mismatch)
    );
    assert_eq!(
        v.verify(&sw_headers(SW_SIG), SW_BODY, at(SW_TS + 301)),
        Err(Refusal::Stale)
    );
    assert_eq!(
        v.verify(&sw_headers(SW_SIG), SW_BODY, at(SW_TS - 301)),
        Err(Refusal::Stale)
    );
    let mut h = sw_headers(SW_SIG);
    h.remove("webhook-id");
    assert_eq!(
        v.verify(&h, SW_BODY, at(SW_TS)),
        Err(Refusal::Missing("webhook-id"))
    );
}

#[test]
fn a_rotated_secret_list_accepts_either() {
    let v = verifier(
        Scheme::StandardWebhooks,
        &["whsec_dGhlIG5ldyBrZXk=", SW_SECRET],
    );
    assert_eq!(v.verify(&sw_headers(SW_SIG), SW_BODY, at(SW_TS)), Ok(()));
}

// GitHub: "Testing the webhook payload validation" in GitHub's "Validating webhook
// deliveries" (docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries):
// secret "It's a Secret to Everybody", payload "Hello, World!".
const GH_SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

#[test]
fn github_accepts_its_documented_example() {
    let v = verifier(Scheme::Github, &["It's a Secret to Everybody"]);
    let h = headers(&[("x-hub-signature-256", GH_SIG)]);
    assert_eq!(v.verify(&h, b"Hello, World!", SystemTime::now()), Ok(()));
    assert_eq!(
        v.verify(&h, b"Hello, World?", SystemTime::now()),
        Err(Refusal::Mismatch)
    );
    let wrong = verifier(Scheme::Github, &["It's a Secret to Nobody"]);
    assert_eq!(
        wrong.verify(&h, b"Hello, World!", SystemTime::now()),
        Err(Refusal::Mismatch)
    );
    let unprefixed = headers(&[("x-hub-signature-256", &GH_SIG[7..])]);
    assert_eq!(
        v.verify(&unprefixed, b"Hello, World!", SystemTime::now()),
        Err(Refusal::Malformed("x-hub-signature-256"))
    );
}

// Slack: the worked example of "Verifying requests from Slack"
// (api.slack.com/authentication/verifying-requests-from-slack): signing secret, timestamp,
// slash-command body and the expected `v0=` signature.
const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const SLACK_TS: u64 = 1_531_420_618;
const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SLACK_SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

#[test]
fn slack_accepts_its_documented_example() {
    let v = verifier(Scheme::Slack, &[SLACK_SECRET]);
    let h = headers(&[
        ("x-slack-request-timestamp", &SLACK_TS.to_string()),
        ("x-slack-signature", SLACK_SIG),
    ]);
    assert_eq!(v.verify(&h, SLACK_BODY.as_bytes(), at(SLACK_TS)), Ok(()));
    let tampered = SLACK_BODY.replace("roadrunner", "coyote");
    assert_eq!(
        v.verify(&h, tampered.as_bytes(), at(SLACK_TS)),
        Err(Refusal::Mismatch)
    );
    assert_eq!(
        v.verify(&h, SLACK_BODY.as_bytes(), at(SLACK_TS + 3600)),
        Err(Refusal::Stale)
    );
}

// Stripe: the documented scheme (docs.stripe.com/webhooks/signature: `t=<timestamp>,v1=<hex
// HMAC-SHA256 of "<t>.<payload>">`), with the docs' example timestamp 1492774577. Stripe
// publishes no secret for its example header, so the signature is computed with Python's
// hmac: hmac.new(b"whsec_test_secret", b'1492774577.{"id":"evt_test_webhook","object":"event"}',
// sha256).hexdigest().
const STRIPE_BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event"}"#;
const STRIPE_V1: &str = "88a022085c6bdb887b02cb26ff76dd681234d9675c0f22844059f55552a8883a";

#[test]
fn stripe_accepts_its_scheme_and_refuses_the_rest() {
    let v = verifier(Scheme::Stripe, &["whsec_test_secret"]);
    let header = format!(
        "t=1492774577,v1={STRIPE_V1},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    );
    let h = headers(&[("stripe-signature", &header)]);
    assert_eq!(v.verify(&h, STRIPE_BODY, at(1_492_774_577)), Ok(()));
    assert_eq!(
        v.verify(&h, b"{}", at(1_492_774_577)),
        Err(Refusal::Mismatch)
    );
    assert_eq!(
        v.verify(&h, STRIPE_BODY, at(1_492_774_577 + 600)),
        Err(Refusal::Stale)
    );
    // Only the v0 (legacy test-mode) signature: not accepted.
    let h = headers(&[("stripe-signature", "t=1492774577,v0=abcd")]);
    assert_eq!(
        v.verify(&h, STRIPE_BODY, at(1_492_774_577)),
        Err(Refusal::Malformed("stripe-signature"))
    );
}

// Shopify: the documented scheme (shopify.dev, "Verify webhooks": base64 HMAC-SHA256 of the
// raw body with the app's client secret in X-Shopify-Hmac-Sha256), with the secret "hush"
// of Shopify's own Python example; computed with Python's hmac + base64.
#[test]
fn shopify_accepts_its_scheme() {
    let v = verifier(Scheme::Shopify, &["hush"]);
    let body = br#"{"id":820982911946154508,"email":"jon@example.com"}"#;
    let h = headers(&[(
        "x-shopify-hmac-sha256",
        "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8=",
    )]);
    assert_eq!(v.verify(&h, body, SystemTime::now()), Ok(()));
    assert_eq!(
        v.verify(&h, br#"{"id":820982911946154509}"#, SystemTime::now()),
        Err(Refusal::Mismatch)
    );
}

// Mailgun: the documented scheme and example signature object
// (documentation.mailgun.com, "Securing Webhooks": hex HMAC-SHA256 of timestamp + token with
// the webhook signing key); the example's own signature is a placeholder, so it is
// computed with Python's hmac for the signing key "key-test-signing".
const MG_TOKEN: &str = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123";
const MG_TS: u64 = 1_770_920_772;
const MG_SIG: &str = "49cd614df9f142c07a6706b685bb8ed64cbeb470166bd475692764a8c3456afb";

#[test]
fn mailgun_accepts_json_and_form_bodies() {
    let v = verifier(Scheme::Mailgun, &["key-test-signing"]);
    let json = format!(
        r#"{{"signature":{{"token":"{MG_TOKEN}","timestamp":"{MG_TS}","signature":"{MG_SIG}"}},"event-data":{{"event":"delivered"}}}}"#
    );
    let h = headers(&[("content-type", "application/json")]);
    assert_eq!(v.verify(&h, json.as_bytes(), at(MG_TS)), Ok(()));
    let form = format!("timestamp={MG_TS}&token={MG_TOKEN}&signature={MG_SIG}&event=delivered");
    let h = headers(&[("content-type", "application/x-www-form-urlencoded")]);
    assert_eq!(v.verify(&h, form.as_bytes(), at(MG_TS)), Ok(()));
    let forged = json.replace(
        MG_TOKEN,
        "e0b5477167110d68991efc6b9f89f0a11066af27834600e124",
    );
    let h = headers(&[("content-type", "application/json")]);
    assert_eq!(
        v.verify(&h, forged.as_bytes(), at(MG_TS)),
        Err(Refusal::Mismatch)
    );
    assert_eq!(
        v.verify(&h, json.as_bytes(), at(MG_TS + 3600)),
        Err(Refusal::Stale)
    );
    assert_eq!(
        v.verify(&h, br#"{"event-data":{}}"#, at(MG_TS)),
        Err(Refusal::Missing("signature"))
    );
}

// Generic HMAC: SHA-1, base64, over "<X-Timestamp>.<body>" behind a `sha1=` prefix; computed
// with Python: base64(hmac.new(b"generic-secret", b'1700000000.{"a":1}', sha1).digest()).
#[test]
fn generic_hmac_follows_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, "generic-secret\n").unwrap();
    let config = VerifyConfig {
        scheme: Scheme::Hmac,
        secrets: vec![SecretRef(format!("file:{}", path.display()))],
        tolerance: None,
        header: Some("X-Signature".into()),
        algorithm: Some(Algorithm::Sha1),
        encoding: Some(Encoding::Base64),
        prefix: Some("sha1=".into()),
        signed: Some("{header:X-Timestamp}.{body}".into()),
        timestamp_header: Some("X-Timestamp".into()),
    };
    assert!(config.problems().is_empty(), "{:?}", config.problems());
    let v = Verifier::build(&config).unwrap();
    let h = headers(&[
        ("x-signature", "sha1=ILsHe840qfR8G4omkt/5cWFmQ20="),
        ("x-timestamp", "1700000000"),
    ]);
    assert_eq!(v.verify(&h, br#"{"a":1}"#, at(1_700_000_000)), Ok(()));
    assert_eq!(
        v.verify(&h, br#"{"a":2}"#, at(1_700_000_000)),
        Err(Refusal::Mismatch)
    );
    assert_eq!(
        v.verify(&h, br#"{"a":1}"#, at(1_700_000_000 + 301)),
        Err(Refusal::Stale)
    );
}

#[test]
fn config_problems_name_the_field() {
    let mut c = VerifyConfig {
        scheme: Scheme::Github,
        secrets: vec![SecretRef("hunter2".into())],
        tolerance: Some(crate::bounded::Span::secs(60)),
        header: Some("X-Sig".into()),
        algorithm: None,
        encoding: None,
        prefix: None,
        signed: None,
        timestamp_header: None,
    };
    let fields: Vec<String> = c.problems().into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["secrets[0]", "tolerance", "header"]);
    c.scheme = Scheme::Hmac;
    c.secrets = vec![SecretRef("env:X".into())];
    c.tolerance = None;
    c.signed = Some("{body}{nope}".into());
    let fields: Vec<String> = c.problems().into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["signed"]);
}

#[test]
fn a_missing_secret_names_itself_not_a_value() {
    let c = VerifyConfig {
        scheme: Scheme::Github,
        secrets: vec![SecretRef("env:FERRY_TEST_NO_SUCH_SECRET_VARIABLE".into())],
        tolerance: None,
        header: None,
        algorithm: None,
        encoding: None,
        prefix: None,
        signed: None,
        timestamp_header: None,
    };
    let (field, reason) = Verifier::build(&c).unwrap_err();
    assert_eq!(field, "secrets[0]");
    assert!(
        reason.contains("FERRY_TEST_NO_SUCH_SECRET_VARIABLE is not set"),
        "{reason}"
    );
    assert_eq!(format!("{:?}", key("hunter2")), "<redacted>");
}
