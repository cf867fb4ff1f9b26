//! Unit tests for the backoff and the status mapping.

use std::time::Duration;

use tonic::Code;

use super::*;

#[test]
fn backoff_refuses_invalid_bounds() {
    assert_eq!(
        Backoff::new(Duration::ZERO, Duration::from_secs(1)),
        Err(BackoffError::ZeroMin)
    );
    let err = Backoff::new(Duration::from_secs(10), Duration::from_secs(1)).unwrap_err();
    assert_eq!(err.to_string(), "min (10s) must not exceed max (1s)");
}

#[test]
fn backoff_grows_exponentially_and_caps() {
    let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1)).unwrap();
    assert_eq!(b.base(1), Duration::from_millis(100));
    assert_eq!(b.base(2), Duration::from_millis(200));
    assert_eq!(b.base(4), Duration::from_millis(800));
    assert_eq!(b.base(5), Duration::from_secs(1));
    assert_eq!(b.base(u32::MAX), Duration::from_secs(1));
    assert_eq!(b.base(0), Duration::from_millis(100));
}

#[test]
fn backoff_jitter_stays_within_half_to_full_base() {
    let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(60)).unwrap();
    for attempt in 1..10 {
        let base = b.base(attempt);
        for _ in 0..50 {
            let d = b.delay(attempt);
            assert!(
                d >= base / 2 && d <= base,
                "{d:?} outside [{:?}, {base:?}]",
                base / 2
            );
        }
    }
}

#[test]
fn worker_chosen_delay_is_capped() {
    let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30)).unwrap();
    assert_eq!(b.cap(Duration::from_secs(3600)), Duration::from_secs(30));
    assert_eq!(b.cap(Duration::from_secs(5)), Duration::from_secs(5));
}

#[test]
fn backoff_deserializes_through_validation() {
    let ok: Backoff = toml::from_str("min = \"2s\"\nmax = \"1m\"").unwrap();
    assert_eq!(ok.min(), Duration::from_secs(2));
    let bad = toml::from_str::<Backoff>("min = \"2m\"\nmax = \"1s\"").unwrap_err();
    assert!(bad.to_string().contains("must not exceed max"), "{bad}");
}

#[test]
fn status_codes_map_as_documented() {
    for code in [
        Code::InvalidArgument,
        Code::FailedPrecondition,
        Code::OutOfRange,
        Code::Unimplemented,
    ] {
        assert_eq!(decide_status(code), StatusDecision::DeadLetter, "{code:?}");
    }
    for code in [Code::Unavailable, Code::Unknown, Code::Cancelled] {
        assert_eq!(decide_status(code), StatusDecision::CheckHealth, "{code:?}");
    }
    for code in [
        Code::Internal,
        Code::DeadlineExceeded,
        Code::ResourceExhausted,
        Code::Aborted,
        Code::NotFound,
    ] {
        assert_eq!(decide_status(code), StatusDecision::Retry, "{code:?}");
    }
}
