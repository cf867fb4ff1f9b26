//! The log sink's own events. They go through the spool like every other event, so they
//! reach Elasticsearch once it is back; each is also printed to stderr when it happens.
//!
//! | `event.action` | when |
//! |---|---|
//! | `logs.unavailable` | a request to Elasticsearch failed after working (events wait in the spool) |
//! | `logs.recovered` | Elasticsearch answers again; the spool is replayed |
//! | `logs.spool_dropped` | the spool was over its budget: the oldest events were dropped (`ferry.logs.dropped`) |
//! | `logs.rejected` | Elasticsearch refused documents (`ferry.logs.rejected`), written to the reject file |

use std::time::Duration;

use crate::telemetry::{Event, Record};

/// Elasticsearch stopped answering.
#[derive(Debug)]
pub struct Unavailable<'a> {
    /// The Elasticsearch URL.
    pub url: &'a str,
    /// The first error.
    pub error: &'a str,
    /// Events waiting in the spool.
    pub pending: u64,
}

impl Event for Unavailable<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("logs.unavailable")
            .outcome("failure")
            .level("warn")
            .error(self.error);
        r.set("ferry.logs.pending", self.pending).message(format!(
            "Elasticsearch at {} is unavailable ({}); log events are kept in the spool and retried",
            self.url, self.error
        ));
    }
}

/// Elasticsearch answers again.
#[derive(Debug)]
pub struct Recovered<'a> {
    /// The Elasticsearch URL.
    pub url: &'a str,
    /// How long it was unavailable.
    pub after: Duration,
    /// Events waiting in the spool, replayed now.
    pub pending: u64,
}

impl Event for Recovered<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("logs.recovered").outcome("success");
        r.set("ferry.logs.pending", self.pending).message(format!(
            "Elasticsearch at {} is available again after {}; replaying {} spooled log events",
            self.url,
            humantime::format_duration(Duration::from_millis(
                u64::try_from(self.after.as_millis()).unwrap_or(u64::MAX)
            )),
            self.pending
        ));
    }
}

/// The spool went over its budget and dropped its oldest events.
#[derive(Debug)]
pub struct SpoolDropped {
    /// Events dropped since the last report.
    pub dropped: u64,
    /// The budget (`spool_max_bytes`).
    pub budget: u64,
}

impl Event for SpoolDropped {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("logs.spool_dropped")
            .outcome("failure")
            .level("error");
        r.set("ferry.logs.dropped", self.dropped)
            .set("ferry.logs.spool_bytes", self.budget)
            .message(format!(
                "the log spool is over its budget of {} bytes: dropped the {} oldest log events",
                self.budget, self.dropped
            ));
    }
}

/// Elasticsearch refused documents for good.
#[derive(Debug)]
pub struct Rejected<'a> {
    /// How many in this batch.
    pub count: u64,
    /// The first reason.
    pub reason: &'a str,
    /// Where they were written.
    pub reject_file: &'a str,
}

impl Event for Rejected<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("logs.rejected")
            .outcome("failure")
            .level("error")
            .error(self.reason);
        r.set("ferry.logs.rejected", self.count)
            .set("ferry.logs.reject_file", self.reject_file)
            .message(format!(
                "Elasticsearch rejected {} log events, written to {}: {}",
                self.count, self.reject_file, self.reason
            ));
    }
}
