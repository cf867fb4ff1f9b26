//! The backend conformance suite against the SQS backend on a real SQS server (ElasticMQ
//! at `FERRY_TEST_SQS_ENDPOINT`, started by `scripts/servers/elasticmq.sh`).
#![cfg(feature = "sqs")]
#![allow(clippy::unwrap_used, missing_docs)]

ferry_tests::conformance_suite!(ferry_tests::fixtures::Sqs::new());
