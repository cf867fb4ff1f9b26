//! Unit tests of the bounded config value types.

use std::time::Duration;

use serde::Deserialize;

use super::*;

#[derive(Debug, Deserialize)]
struct Doc {
    span: Option<Span<1000, 60_000>>,
    count: Option<Count<1, 16>>,
    rate: Option<Rate>,
}

fn read(text: &str) -> Result<Doc, String> {
    toml::from_str(text).map_err(|e| e.message().to_owned())
}

#[test]
fn spans_in_range_are_read() {
    let d = read("span = \"1m\"").unwrap();
    assert_eq!(d.span.unwrap().get(), Duration::from_secs(60));
    assert_eq!(d.span.unwrap().to_string(), "1m");
}

#[test]
fn spans_out_of_range_say_what_was_written_and_the_range() {
    assert_eq!(
        read("span = \"18446744073709551615s\"").unwrap_err(),
        "`18446744073709551615s` is out of range: must be from 1s to 1m"
    );
    assert_eq!(
        read("span = \"10ms\"").unwrap_err(),
        "`10ms` is out of range: must be from 1s to 1m"
    );
    assert!(
        read("span = \"forever\"")
            .unwrap_err()
            .starts_with("`forever` is not a duration")
    );
    assert!(
        read("span = 30")
            .unwrap_err()
            .contains("a number needs a unit"),
        "{:?}",
        read("span = 30")
    );
}

#[test]
fn counts_are_whole_numbers_in_range() {
    assert_eq!(read("count = 16").unwrap().count.unwrap().get(), 16);
    assert_eq!(
        read("count = 0").unwrap_err(),
        "0 is out of range: must be an integer from 1 to 16"
    );
    assert_eq!(
        read("count = 4294967296").unwrap_err(),
        "4294967296 is out of range: must be an integer from 1 to 16"
    );
    assert_eq!(
        read("count = -1").unwrap_err(),
        "expected an integer from 1 to 16, found -1"
    );
    assert_eq!(
        read("count = \"many\"").unwrap_err(),
        "expected an integer from 1 to 16, found the string \"many\""
    );
    assert_eq!(
        read("count = 2.5").unwrap_err(),
        "expected an integer from 1 to 16, found 2.5"
    );
}

#[test]
fn rates_are_bounded_numbers() {
    assert_eq!(
        read("rate = 12.5").unwrap().rate.unwrap().per_second(),
        12.5
    );
    assert_eq!(read("rate = 3").unwrap().rate.unwrap().per_second(), 3.0);
    for bad in ["1e-20", "1e300", "0", "-1.0", "nan", "inf"] {
        let e = read(&format!("rate = {bad}")).unwrap_err();
        assert!(
            e.contains("out of range") || e.contains("expected"),
            "{bad}: {e}"
        );
    }
    let r = Rate::new(0.001).unwrap();
    assert_eq!(r.period(), Duration::from_secs(1000));
}

#[test]
fn constants_are_checked_when_built() {
    const S: Span<0, 1000> = Span::millis(1000);
    const C: Count<1, 16> = Count::of(16);
    assert_eq!((S.get(), C.get()), (Duration::from_secs(1), 16));
}
