//! [`StallWatch`]: notices when ferry's runtime stops running its tasks. `ferry run`
//! drives all of its async work on one thread by default (`runtime.threads = 1`, the
//! cheapest on a shared machine), so anything that blocks that thread — a slow file read,
//! a bug — stalls deliveries, the admin port and the gateway together, and nothing on the
//! runtime could say so. A task on the runtime marks the time every [`BEAT`]; a thread of
//! its own looks at the mark, and once it is [`STALLED`] old writes one `runtime.stalled`
//! event (counted in `ferry_runtime_stalls_total`), and one `runtime.resumed` with the
//! stall's length when the runtime runs again. The looking is [`Watch`], pure.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::telemetry::{Telemetry, events};

/// How often the runtime marks the time.
pub(super) const BEAT: Duration = Duration::from_millis(100);
/// How old the mark may get before the runtime counts as stalled: far above a busy
/// runtime's lag (its timers run late by milliseconds under load), far below what an
/// operator would notice.
pub(super) const STALLED: Duration = Duration::from_secs(1);

/// What one look at the mark found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// Nothing to report.
    Nothing,
    /// The runtime has not run for this long (reported once per stall).
    Stalled(Duration),
    /// The runtime ran again after a stall of this length.
    Resumed(Duration),
}

/// The watch's state between looks: when the stall it reported began.
#[derive(Debug, Default)]
pub(super) struct Watch {
    stalled_since: Option<Instant>,
}

impl Watch {
    /// Looks at the mark `beat` at `now`: a stall once it is `limit` old, its end when a
    /// newer mark shows the runtime ran again.
    pub(super) fn look(&mut self, beat: Instant, now: Instant, limit: Duration) -> Seen {
        let age = now.saturating_duration_since(beat);
        match self.stalled_since {
            None if age >= limit => {
                self.stalled_since = Some(beat);
                Seen::Stalled(age)
            }
            Some(since) if beat > since => {
                self.stalled_since = None;
                Seen::Resumed(beat.saturating_duration_since(since))
            }
            _ => Seen::Nothing,
        }
    }
}

/// The running watch; dropping it stops both its task and its thread.
pub(super) struct StallWatch {
    beat: tokio::task::JoinHandle<()>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StallWatch {
    /// Starts watching the current runtime with [`BEAT`] and [`STALLED`].
    pub(super) fn start(telemetry: Telemetry) -> Self {
        Self::start_with(telemetry, BEAT, STALLED)
    }

    /// Starts watching the current runtime: a mark every `beat`, a stall at `limit`.
    /// Without a thread to look from, nothing is watched (and ferry runs on).
    pub(super) fn start_with(telemetry: Telemetry, beat: Duration, limit: Duration) -> Self {
        let base = Instant::now();
        let mark = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let marker = mark.clone();
        let beat_task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(beat);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                marker.store(nanos_since(base), Ordering::Relaxed);
            }
        });
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ferry-stall-watch".into())
            .spawn(move || {
                let mut watch = Watch::default();
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::park_timeout(beat);
                    let at = base + Duration::from_nanos(mark.load(Ordering::Relaxed));
                    match watch.look(at, Instant::now(), limit) {
                        Seen::Nothing => {}
                        Seen::Stalled(for_) => telemetry.emit(events::RuntimeStalled { for_ }),
                        Seen::Resumed(after) => telemetry.emit(events::RuntimeResumed { after }),
                    }
                }
            })
            .ok();
        Self {
            beat: beat_task,
            stop,
            thread,
        }
    }
}

/// Nanoseconds from `base` to now (saturating; a u64 holds 584 years).
fn nanos_since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

impl Drop for StallWatch {
    fn drop(&mut self) {
        self.beat.abort();
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests;
