//! The backend conformance suite against the Pub/Sub backend on Google's Pub/Sub emulator
//! (at `FERRY_TEST_PUBSUB_EMULATOR_HOST`, started by `scripts/servers/pubsub.sh`).
//!
//! Every case runs. The emulator's differences from Google's service are in
//! `docs/backends/pubsub.md` ("Emulator differences"); the one that shows here is the time
//! a killed ferry's messages take to come back ([`Pubsub`]'s
//! `crash_redelivery_window`).
#![cfg(feature = "pubsub")]
#![allow(clippy::unwrap_used, missing_docs)]

ferry_tests::conformance_suite!(ferry_tests::fixtures::Pubsub::new());
