//! The reference behaviour of the worker conformance kit, as a ferry-sdk worker.
//!
//! `ferry conformance --worker ADDR` sends the vectors of `tests/conformance/` to a worker
//! and judges the answers. A worker passes when it answers as [`Reference`] does; the
//! behaviour is driven by the request's `conformance.*` attributes and defined in
//! `tests/conformance/README.md`. The Go worker (`examples/go/conformance`) and the C#
//! worker implement the same behaviour.

mod reference;

pub use reference::{
    DELAY_ATTR, ECHO_DESTINATION, EXPECT_ATTR, REASON_ATTR, Reference, SLEEP_ATTR, reference,
};
