//! The black-box test harness for ferry: it starts the real `ferry` binary on port 0 with a
//! generated config, real workers built with `ferry-sdk` (or raw tonic) over real gRPC, and
//! a real backend behind a [`fixtures::BackendFixture`]. The behaviour every backend must
//! show is written once in [`conformance`] and instantiated per backend with
//! [`conformance_suite!`].
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod conformance;
pub mod console;
pub mod ferry;
pub mod fixtures;
pub mod ingress;
pub mod jaeger;
#[cfg(feature = "pubsub")]
pub mod monitoring;
pub mod ordering;
pub mod worker;

pub use ferry::{FerryBuilder, FerryProcess, Sub};
pub use worker::{Call, StatusWorker, TestWorker};

/// The deadline used by [`assert_eventually!`] unless one is given.
pub const EVENTUALLY: std::time::Duration = std::time::Duration::from_secs(30);

/// Polls `cond` (an expression, may use `.await`) every 25 ms until it is true; panics with
/// the message after the deadline (default [`EVENTUALLY`]).
#[macro_export]
macro_rules! assert_eventually {
    (@within $timeout:expr, $cond:expr, $($msg:tt)+) => {{
        let deadline = std::time::Instant::now() + $timeout;
        loop {
            if $cond {
                break;
            }
            if std::time::Instant::now() > deadline {
                panic!("not true within {:?}: {}", $timeout, format!($($msg)+));
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }};
    ($cond:expr, $($msg:tt)+) => {
        $crate::assert_eventually!(@within $crate::EVENTUALLY, $cond, $($msg)+)
    };
}
