//! The backend conformance suite against the Pub/Sub backend on Google's Pub/Sub emulator
//! (at `FERRY_TEST_PUBSUB_EMULATOR_HOST`, started by `scripts/servers/pubsub.sh`).
//!
//! Every case of [`ferry_tests::conformance_suite!`] is listed here; one is a known gap of
//! the *emulator* (see `docs/backends/pubsub.md`, "Emulator differences"), kept as an
//! ignored test: the deliveries of a killed connection come back after anything from 10 s
//! to more than a minute.
#![cfg(feature = "pubsub")]
#![allow(clippy::unwrap_used, missing_docs)]

use ferry_tests::fixtures::Pubsub;

ferry_tests::conformance_cases!(Pubsub::new();
    done_acks_and_logs_in_context, retry_then_done, worker_chosen_delay_is_honoured_and_capped,
    max_attempts_dead_letters_with_story, dead_letter_outcome, grpc_status_mapping,
    malformed_and_oversized_are_dead_lettered, slow_handler_is_delivered_once,
    concurrency_limits_hold, busy_realm_does_not_starve_others, rate_limit_holds,
    worker_down_burns_no_attempts, sigterm_drains_in_flight, sigterm_hands_back_after_grace,
    fanout_is_published_before_ack, redrive_resets_attempts);

ferry_tests::conformance_gap!(Pubsub::new();
    kill9_then_restart_loses_nothing => "emulator: a killed connection's deliveries return after 10 s to over 60 s");
