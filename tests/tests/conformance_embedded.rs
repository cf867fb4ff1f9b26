//! The backend conformance suite against the embedded SQLite backend.
#![allow(clippy::unwrap_used, missing_docs)]

ferry_tests::conformance_suite!(ferry_tests::fixtures::Embedded::new());
