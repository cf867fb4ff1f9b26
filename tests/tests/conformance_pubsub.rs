//! The backend conformance suite against the Pub/Sub backend on Google's Pub/Sub emulator
//! (at `FERRY_TEST_PUBSUB_EMULATOR_HOST`, started by `scripts/servers/pubsub.sh`).
#![cfg(feature = "pubsub")]
#![allow(clippy::unwrap_used, missing_docs)]

ferry_tests::conformance_suite!(ferry_tests::fixtures::Pubsub::new());
