//! Unit tests for the sampling rule and the `[tracing]` table.

use super::{Protocol, TracingConfig, sampled};

#[test]
fn ratio_one_keeps_all_zero_keeps_none_and_the_rule_is_the_trace_ids() {
    let low = "0af7651916cd43dd0000000000000002";
    let high = "0af7651916cd43ddfffffffffffffffe";
    for t in [low, high] {
        assert!(sampled(t, 1.0));
        assert!(!sampled(t, 0.0));
    }
    assert!(sampled(low, 0.5), "low bits below half");
    assert!(!sampled(high, 0.5), "low bits above half");
    assert!(!sampled("not hex", 0.5), "never a panic");
}

#[test]
fn the_table_is_off_by_default_and_refuses_bad_values() {
    let off: TracingConfig = toml::from_str("").unwrap_or_default();
    assert_eq!(off.otlp_endpoint, None);
    assert_eq!(off.protocol, Protocol::Grpc);
    let on: Result<TracingConfig, _> = toml::from_str(
        "otlp_endpoint = \"http://127.0.0.1:4318/v1/traces\"\nprotocol = \"http\"\nsample_ratio = 0.25",
    );
    let on = on.unwrap_or_default();
    assert_eq!(on.protocol, Protocol::Http);
    assert!((on.sample_ratio.get() - 0.25).abs() < f64::EPSILON);
    for bad in [
        "sample_ratio = 1.5",
        "protocol = \"udp\"",
        "endpoint = \"x\"",
    ] {
        assert!(toml::from_str::<TracingConfig>(bad).is_err(), "{bad}");
    }
}
