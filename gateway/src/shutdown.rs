//! [`Shutdown`]: the signals of a draining stop. `stopping` fires on SIGTERM / SIGINT
//! (stop receiving); `force` fires when the grace period is over (hand back what is still
//! running). Deliveries run on the tracker so the drain can wait for them.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Shared shutdown state.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Stop receiving.
    pub stopping: CancellationToken,
    /// The grace period is over: hand back in-flight messages now.
    pub force: CancellationToken,
    /// Running deliveries.
    pub tracker: TaskTracker,
    handed_back: Arc<AtomicU64>,
}

impl Shutdown {
    /// Counts a delivery handed back because of shutdown.
    pub fn count_handed_back(&self) {
        self.handed_back.fetch_add(1, Ordering::Relaxed);
    }

    /// Deliveries handed back because of shutdown.
    pub fn handed_back(&self) -> u64 {
        self.handed_back.load(Ordering::Relaxed)
    }
}

/// Resolves on the first SIGTERM or SIGINT.
pub async fn signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers ferry can only be stopped by SIGKILL; wait forever.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
