//! The events of ferry's own start and stop.

use crate::telemetry::{Event, Record};

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
