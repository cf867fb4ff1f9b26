//! The events of ferry's own start and stop.

use crate::telemetry::{Event, Metrics, Record};

/// Ferry is up; the addresses are the bound ones (port 0 resolved).
#[derive(Debug)]
pub struct Started<'a> {
    /// Backend kind.
    pub backend: &'a str,
    /// The gateway API address, if served.
    pub gateway: Option<String>,
    /// The admin address, if served.
    pub admin: Option<String>,
    /// The webhook ingress's address, if served.
    pub ingress: Option<String>,
    /// Subscription names.
    pub subscriptions: Vec<String>,
}

impl Event for Started<'_> {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("ferry.started")
            .message(format!("ferry started on the {} backend", self.backend));
        r.set("ferry.backend", self.backend);
        r.set(
            "ferry.gateway.address",
            self.gateway.clone().unwrap_or_default(),
        );
        r.set(
            "ferry.admin.address",
            self.admin.clone().unwrap_or_default(),
        );
        if let Some(ingress) = &self.ingress {
            r.set("ferry.ingress.address", ingress.as_str());
        }
        r.set(
            "ferry.subscriptions",
            serde_json::Value::from(self.subscriptions.clone()),
        );
    }
}

/// Ferry drained and is exiting.
#[derive(Debug)]
pub struct Stopped {
    /// Deliveries handed back because the grace period ran out.
    pub handed_back: u64,
    /// What stopped ferry, when it was not the signal (a server or the child worker).
    pub error: Option<String>,
}

impl Event for Stopped {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("ferry.stopped").message(format!(
            "ferry stopped; {} in-flight messages handed back",
            self.handed_back
        ));
        if let Some(e) = &self.error {
            r.level("error").error(e.as_str());
        }
    }
}

/// ferry's runtime has run none of its tasks for `for_` (see `app::stall`): something
/// blocks its thread, and deliveries, the admin port and the gateway wait meanwhile.
#[derive(Debug)]
pub struct RuntimeStalled {
    /// How long the runtime had not run when this was noticed.
    pub for_: std::time::Duration,
}

impl Event for RuntimeStalled {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("runtime.stalled")
            .level("warn")
            .duration(self.for_)
            .message(format!(
                "ferry's runtime has run no task for {:.1?}: something blocks its thread; deliveries, the admin port and the gateway wait until it runs again",
                self.for_
            ));
    }

    fn count(&self, metrics: &Metrics) {
        metrics.runtime_stalls.inc();
    }
}

/// ferry's runtime runs its tasks again after a stall of `after`.
#[derive(Debug)]
pub struct RuntimeResumed {
    /// How long the stall lasted.
    pub after: std::time::Duration,
}

impl Event for RuntimeResumed {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("runtime.resumed")
            .duration(self.after)
            .message(format!(
                "ferry's runtime runs again after a stall of {:.1?}",
                self.after
            ));
    }
}
