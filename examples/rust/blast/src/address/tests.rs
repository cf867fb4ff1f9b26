//! Unit tests for the e-mail address check.

use super::is_valid_address;

#[test]
fn plausible_addresses_pass() {
    for ok in [
        "ann@example.com",
        "a.b+c@mail.example.co.uk",
        "x_y-z@ex-ample.io",
    ] {
        assert!(is_valid_address(ok), "{ok}");
    }
}

#[test]
fn broken_addresses_fail() {
    for bad in [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "ann@@example.com",
        "ann lee@example.com",
        "farid.khan(at)example",
        "ann@-example.com",
        "ann@example..com",
        ".ann@example.com",
        "ann..lee@example.com",
        "ann@example.c0m",
        "ann@exa mple.com",
    ] {
        assert!(!is_valid_address(bad), "{bad}");
    }
}
