//! [`FirstPolls`]: lets the receive loop wait until the deliveries it has just started have
//! each run once — far enough to write their `message.received` record and hand their call
//! to the worker's connection — before it prepares the next receive.
//!
//! On one runtime thread the two cannot overlap: whichever goes first delays the other.
//! Where preparing a receive is real work on that thread (on SQS the SDK's request
//! building and signing, 0.1–0.4 ms on a busy machine; docs/PERFORMANCE.md), the loop
//! uses this after a receive that came back with fewer messages than it asked for: the
//! queue has no backlog, and the messages in hand are worth more than a head start on
//! the next receive. After a full batch the next receive goes first, which keeps the rate
//! up under a backlog. Where starting a receive is only a hand-off (the embedded queue's
//! own thread, Pub/Sub's stream buffer) the next receive always goes first.

use std::{convert::Infallible, future::Future};

use tokio::sync::mpsc;

#[cfg(test)]
mod tests;

/// The deliveries of one receive, tracked until each has been polled once.
pub(super) struct FirstPolls {
    /// Closed once every token is dropped: the loop's own in [`Self::wait`], each
    /// delivery's after its first poll. Nothing is ever sent.
    done: mpsc::Receiver<Infallible>,
    token: mpsc::Sender<Infallible>,
}

impl FirstPolls {
    pub(super) fn new() -> Self {
        let (token, done) = mpsc::channel(1);
        Self { done, token }
    }

    /// `delivery`, counted until its first poll returns (ready or not).
    pub(super) fn track<F: Future>(&self, delivery: F) -> impl Future<Output = F::Output> + use<F> {
        let mut token = Some(self.token.clone());
        async move {
            let mut delivery = std::pin::pin!(delivery);
            std::future::poll_fn(move |cx| {
                let polled = delivery.as_mut().poll(cx);
                drop(token.take());
                polled
            })
            .await
        }
    }

    /// Resolves once every tracked delivery has been polled once (at once when none was,
    /// or each already has been).
    pub(super) async fn wait(self) {
        let Self { mut done, token } = self;
        drop(token);
        // `None` once every token is gone; nothing can be sent.
        if let Some(never) = done.recv().await {
            match never {}
        }
    }
}
