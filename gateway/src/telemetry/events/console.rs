//! The events of the sidecar's link to the console (`[console] url`): logged when the
//! console becomes reachable or unreachable and when its controls change, never per beat.

use crate::telemetry::{Event, Record};

/// A heartbeat was answered after none had been (start, or the console came back), or the
/// answer changed the controls.
#[derive(Debug)]
pub struct ConsoleReachable {
    /// Subscriptions the answer has controls for.
    pub controls: usize,
    /// Whether the controls changed.
    pub changed: bool,
}

impl Event for ConsoleReachable {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("console.reachable").outcome("success");
        r.set("ferry.console.controls", self.controls)
            .set("ferry.console.changed", self.changed)
            .message(if self.changed {
                format!(
                    "console answered; controls changed ({} subscription(s) controlled)",
                    self.controls
                )
            } else {
                "console answered".to_owned()
            });
    }
}

/// A heartbeat failed after one had succeeded (or the first one failed): the sidecar runs
/// on with the last controls it was given.
#[derive(Debug)]
pub struct ConsoleUnreachable {
    /// Why.
    pub error: String,
}

impl Event for ConsoleUnreachable {
    fn fill<'a>(&'a self, r: &mut Record<'a>) {
        r.action("console.unreachable")
            .outcome("failure")
            .level("warn")
            .error(self.error.clone());
        r.message(format!(
            "console unreachable, keeping the last controls: {}",
            self.error
        ));
    }
}
