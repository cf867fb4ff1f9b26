//! [`Controls`]: the console's controls of this sidecar, one `watch` channel per
//! subscription. The heartbeat answer replaces them ([`Controls::apply`]); dispatch holds
//! the receiving end through [`Applied`](super::Applied). Until the first answer, and while
//! the console is away, the last controls stay (none at start: as configured).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use tokio::sync::watch;

use super::{Applied, wire::SubscriptionControls};

/// The controls of every subscription of this sidecar.
#[derive(Debug, Clone)]
pub struct Controls {
    subs: Arc<BTreeMap<String, watch::Sender<Arc<SubscriptionControls>>>>,
    paused_realm_delay: Duration,
}

impl Controls {
    /// No controls yet for the subscriptions `names`.
    pub fn new<'a>(
        names: impl IntoIterator<Item = &'a String>,
        paused_realm_delay: Duration,
    ) -> Self {
        let subs = names
            .into_iter()
            .map(|n| (n.clone(), watch::channel(Arc::default()).0))
            .collect();
        Self {
            subs: Arc::new(subs),
            paused_realm_delay,
        }
    }

    /// What dispatch of subscription `name` consults ([`Applied::none`] for a name this
    /// sidecar does not have).
    pub fn applied(&self, name: &str) -> Applied {
        self.subs.get(name).map_or_else(Applied::none, |tx| {
            Applied::following(tx.subscribe(), self.paused_realm_delay)
        })
    }

    /// Replaces the controls with `set` (a subscription it does not name gets none);
    /// returns whether anything changed.
    pub fn apply(&self, set: &BTreeMap<String, SubscriptionControls>) -> bool {
        let mut changed = false;
        for (name, tx) in self.subs.iter() {
            let new = set.get(name).cloned().unwrap_or_default();
            changed |= tx.send_if_modified(|current| {
                if **current == new {
                    false
                } else {
                    *current = Arc::new(new);
                    true
                }
            });
        }
        changed
    }

    /// The controls of subscription `name` now.
    pub fn current(&self, name: &str) -> Arc<SubscriptionControls> {
        self.subs
            .get(name)
            .map(|tx| tx.borrow().clone())
            .unwrap_or_default()
    }
}
