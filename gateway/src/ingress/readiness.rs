//! [`PublishHealth`]: whether the backend takes publishes, as the ingress last saw it. A
//! failed publish makes it *refusing*: requests are answered 503 with Retry-After at once
//! (providers retry) and the admin `/readyz` says not ready, until a probe succeeds. The
//! probe is the backend's queue statistics where it has them (embedded, SQS: a background
//! check every `probe_interval`, so readiness comes back without traffic), else the next
//! request after `probe_interval` goes through as the probe (Pub/Sub). A successful
//! publish makes it ready at once. The state machine is pure; the clock is passed in.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Publish it.
    Go,
    /// Publish it: it is the probe while the backend is refusing.
    Probe,
    /// Answer 503: the backend is refusing publishes.
    Refuse,
}

#[derive(Debug)]
struct Refusing {
    error: String,
    next_probe: Instant,
    probing: bool,
}

/// The backend's publish health, shared by the ingress and `/readyz`.
#[derive(Debug, Clone)]
pub struct PublishHealth {
    refusing: Arc<AtomicBool>,
    state: Arc<Mutex<Option<Refusing>>>,
    probe_interval: Duration,
}

impl PublishHealth {
    /// Ready, probing every `probe_interval` once refusing.
    pub fn new(probe_interval: Duration) -> Self {
        Self {
            refusing: Arc::default(),
            state: Arc::default(),
            probe_interval,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Refusing>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err` with the last publish error while the backend is refusing.
    pub fn ready(&self) -> Result<(), String> {
        if !self.refusing.load(Ordering::Acquire) {
            return Ok(());
        }
        match &*self.lock() {
            Some(r) => Err(r.error.clone()),
            None => Ok(()),
        }
    }

    /// Whether a request may publish at `now`. With `requests_probe`, one request per
    /// probe interval goes through as the probe while refusing.
    pub fn admit(&self, now: Instant, requests_probe: bool) -> Admit {
        if !self.refusing.load(Ordering::Acquire) {
            return Admit::Go;
        }
        let mut state = self.lock();
        match state.as_mut() {
            None => Admit::Go,
            Some(r) if requests_probe && !r.probing && now >= r.next_probe => {
                r.probing = true;
                r.next_probe = now + self.probe_interval;
                Admit::Probe
            }
            Some(_) => Admit::Refuse,
        }
    }

    /// A publish (or a probe) failed at `now`.
    pub fn failed(&self, now: Instant, error: String) {
        let mut state = self.lock();
        match state.as_mut() {
            Some(r) => {
                r.error = error;
                r.probing = false;
            }
            None => {
                *state = Some(Refusing {
                    error,
                    next_probe: now + self.probe_interval,
                    probing: false,
                });
            }
        }
        self.refusing.store(true, Ordering::Release);
    }

    /// A probe request ended without publishing (it was refused for its own reasons): the
    /// next request may probe.
    pub fn abandon_probe(&self) {
        if let Some(r) = self.lock().as_mut()
            && r.probing
        {
            r.probing = false;
            r.next_probe = Instant::now();
        }
    }

    /// A publish (or a probe) succeeded: ready.
    pub fn succeeded(&self) {
        if !self.refusing.load(Ordering::Acquire) {
            return;
        }
        *self.lock() = None;
        self.refusing.store(false, Ordering::Release);
    }

    /// How often to probe while refusing.
    pub fn probe_interval(&self) -> Duration {
        self.probe_interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_refuses_until_a_success() {
        let h = PublishHealth::new(Duration::from_secs(1));
        let t = Instant::now();
        assert_eq!(h.admit(t, false), Admit::Go);
        h.failed(t, "backend unavailable: connection refused".into());
        assert_eq!(
            h.ready(),
            Err("backend unavailable: connection refused".into())
        );
        assert_eq!(h.admit(t + Duration::from_secs(5), false), Admit::Refuse);
        h.succeeded();
        assert_eq!(h.ready(), Ok(()));
        assert_eq!(h.admit(t, false), Admit::Go);
    }

    #[test]
    fn requests_probe_one_at_a_time_per_interval() {
        let h = PublishHealth::new(Duration::from_secs(1));
        let t = Instant::now();
        h.failed(t, "down".into());
        assert_eq!(h.admit(t, true), Admit::Refuse, "not before the interval");
        let later = t + Duration::from_secs(1);
        assert_eq!(h.admit(later, true), Admit::Probe);
        assert_eq!(h.admit(later, true), Admit::Refuse, "one probe at a time");
        h.failed(later, "still down".into());
        assert_eq!(
            h.admit(later, true),
            Admit::Refuse,
            "next one an interval on"
        );
        let again = later + Duration::from_secs(1);
        assert_eq!(h.admit(again, true), Admit::Probe);
        h.abandon_probe();
        assert_eq!(
            h.admit(again, true),
            Admit::Probe,
            "a probe refused for itself"
        );
        h.succeeded();
        assert_eq!(h.admit(later, true), Admit::Go);
    }
}
